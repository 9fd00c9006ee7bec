// Errors, the two kinds Pomona distinguishes (see DESIGN.md, "Errors"):
//  - what one image does wrong is a value carried in its row: Result<T> holds a T or a message;
//  - what stops the whole job (bad weights, unreadable input root, unwritable output) is a
//    JobError thrown up to main(), printed as one line and mapped to an exit code.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace pomona {

// Process exit codes of the `pomona` command.
enum class ExitCode : int {
  kOk = 0,
  kRowErrors = 1,      // done, but some rows have errors and --fail-on-error was given
  kConfiguration = 2,  // bad usage, options or weights
  kInputOutput = 3,    // input root unreadable, output unwritable
  kInterrupted = 130,  // SIGINT
  kTerminated = 143,   // SIGTERM
};

// A failure that stops the job. what() is one line that names the file and says what to do.
class JobError : public std::runtime_error {
 public:
  JobError(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// A value or a one-line error message about one input (never thrown).
template <typename T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit on purpose
  static Result failure(std::string message) { return Result(Failure{std::move(message)}); }

  bool ok() const { return std::holds_alternative<T>(state_); }
  T& value() { return std::get<T>(state_); }
  const T& value() const { return std::get<T>(state_); }
  // Requires !ok().
  const std::string& error() const { return std::get<Failure>(state_).message; }

 private:
  struct Failure {
    std::string message;
  };
  explicit Result(Failure f) : state_(std::move(f)) {}
  std::variant<T, Failure> state_;
};

}  // namespace pomona
