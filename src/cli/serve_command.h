// `pomona serve` (pomona/serve.h).
#pragma once

#include <CLI/CLI.hpp>

namespace pomona {

// Adds the `serve` subcommand to app; it runs from its callback inside app.parse() until
// SIGTERM/SIGINT and throws JobError like the other commands.
void add_serve_command(CLI::App& app);

}  // namespace pomona
