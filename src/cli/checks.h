// Options and checks shared by the subcommands, with messages that say what to give.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "pomona/error.h"
#include "pomona/model.h"

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

// A rule of the core (e.g. check_threads, pomona/pipeline.h) as a validator: CLI11 prints
// "--threads: must be 0 (all cores) to 1024, not -1", the words pomona.featurize_batch uses.
inline CLI::Validator core_rule(Result<int> (*rule)(int64_t), std::string range) {
  return CLI::Validator(
      [rule](std::string& value) -> std::string {
        size_t used = 0;
        try {
          const int64_t number = std::stoll(value, &used);
          if (used == value.size()) {
            const Result<int> checked = rule(number);
            return checked.ok() ? "" : checked.error();
          }
        } catch (const std::exception&) {
        }
        return "give a whole number, not " + value;
      },
      std::move(range));
}

// --alpha and --size: the MobileNetV2 of featurize, weights fetch and index.
inline void add_model_options(CLI::App& command, MobileNetV2Spec& spec) {
  command.add_option("--alpha", spec.alpha, "MobileNetV2 width multiplier")
      ->check(CLI::IsMember({0.35f, 0.5f, 0.75f, 1.0f, 1.3f, 1.4f}))
      ->capture_default_str();
  command.add_option("--size", spec.size, "input size the images are resized to")
      ->check(CLI::Range(96, 224))
      ->capture_default_str();
}

// An option that was renamed or removed: hidden from --help, and when given, usage fails with one
// line (exit 2) saying what to write instead ("--center: is now --pca-center"). Renamed options
// break loudly, never silently.
inline void add_retired_option(CLI::App& command, const std::string& name, bool takes_value,
                               const std::string& instead) {
  const auto refuse = [name, instead] { throw CLI::ValidationError(name, instead); };
  if (takes_value) {
    command.add_option_function<std::string>(name, [refuse](const std::string&) { refuse(); })
        ->group("");
  } else {
    command.add_flag_function(name, [refuse](int64_t) { refuse(); })->group("");
  }
}

}  // namespace pomona
