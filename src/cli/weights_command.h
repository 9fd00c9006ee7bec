// `pomona weights fetch` (pomona/model.h).
#pragma once

#include <CLI/CLI.hpp>

namespace pomona {

// Adds the `weights` subcommand (with `fetch`) to app; fetch runs from its callback inside
// app.parse() and throws JobError like the other commands.
void add_weights_command(CLI::App& app);

}  // namespace pomona
