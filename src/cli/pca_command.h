// `pomona pca fit|transform` and featurize's --pca-* options.
#pragma once

#include <CLI/CLI.hpp>

#include "pomona/pipeline.h"

namespace pomona {

// Adds the `pca` subcommand (with `fit` and `transform`) to app. The chosen one runs from its
// CLI11 callback inside app.parse(), prints one summary line, and throws JobError when it fails.
void add_pca_command(CLI::App& app);

// Adds --pca-k, --pca-variance, --pca-center and --pca-model to the featurize subcommand; any of
// them sets options.pca (and options.pca_model).
void add_featurize_pca_options(CLI::App& featurize, FeaturizeOptions& options);

}  // namespace pomona
