// Option checks shared by the subcommands, with messages that say what to give.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace pomona {

// A whole number >= 1 (CLI::PositiveNumber reports its range as two 300-digit doubles).
inline CLI::Validator whole_number_at_least_one() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        size_t used = 0;
        try {
          if (std::stoll(value, &used) >= 1 && used == value.size()) return "";
        } catch (const std::exception&) {
        }
        return "give a whole number of at least 1, not " + value;
      },
      "INT>=1");
}

}  // namespace pomona
