// `pomona report`: the HTML report of a features file (pomona/report.h).
#pragma once

#include <CLI/CLI.hpp>

namespace pomona {

// Adds the `report` subcommand to app; it runs as soon as it is parsed and throws JobError like
// the other commands.
void add_report_command(CLI::App& app);

}  // namespace pomona
