// `pomona index` and `pomona classify` (pomona/classify.h).
#pragma once

#include <CLI/CLI.hpp>

namespace pomona {

// Adds the `index` and `classify` subcommands to app; each runs from its callback inside
// app.parse() and throws JobError like the other commands.
void add_classify_commands(CLI::App& app);

}  // namespace pomona
