// `pomona featurize` (pomona/pipeline.h).
#pragma once

#include <CLI/CLI.hpp>

namespace pomona {

// Adds the `featurize` subcommand to app; it runs from its callback inside app.parse(), prints a
// summary, and throws JobError like the other commands: when stopped by SIGINT/SIGTERM (after
// committing what was done) and, under --fail-on-error, when an image failed.
void add_featurize_command(CLI::App& app);

}  // namespace pomona
