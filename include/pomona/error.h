// Errors, the two kinds Pomona distinguishes (see DESIGN.md, "Errors"):
//  - what may fail without stopping the job (one image, a check whose caller decides) is a value:
//    Status is ok or a one-line message, Result<T> a T or that message. This is the one way a
//    module says "maybe an error": never an empty string, an optional string, a bool with an
//    out-string or an enum of its own;
//  - what stops the whole job (bad weights, unreadable input root, unwritable output) is a
//    JobError thrown up to main(), printed as one line and mapped to an exit code.
// Messages of lower modules name the value that is wrong and the kind of fix ("give a k between
// 1 and 1280"), never a face's flag or keyword: each face (the CLI, Python) puts them in its own
// words.
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

// The setting a JobError asks the user to change, when one would fix it. The message names the
// value and the kind of fix; a face adds how the setting is given in it (the CLI its flag,
// Python its keyword argument), so no lower module names a face's flag.
enum class Setting {
  kNone,
  kWeights,        // the weights file
  kPcaK,           // the number of PCA components
  kOverwrite,      // replacing an output instead of resuming or refusing it
  kS3Credentials,  // which S3 credentials: a profile, or anonymous access
  kS3Location,     // where the S3 store is: its endpoint and region
};

// A failure that stops the job. what() is one line that names the file or value and says what
// to do; setting() is what to change, when the user can fix it by changing one.
class JobError : public std::runtime_error {
 public:
  JobError(ExitCode code, const std::string& message, Setting setting = Setting::kNone)
      : std::runtime_error(message), code_(code), setting_(setting) {}
  ExitCode code() const { return code_; }
  Setting setting() const { return setting_; }

 private:
  ExitCode code_;
  Setting setting_;
};

// Ok, or a one-line message naming what is wrong and what to do (never thrown).
class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  static Status failure(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !message_.has_value(); }
  // Requires !ok().
  const std::string& message() const { return *message_; }

 private:
  explicit Status(std::string message) : message_(std::move(message)) {}
  std::optional<std::string> message_;
};

// A value or a one-line error message about one input (never thrown).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit on purpose
  static Result failure(std::string message) { return Result(Failure{std::move(message)}); }
  // Requires !status.ok().
  Result(const Status& status) : state_(Failure{status.message()}) {}  // NOLINT: implicit

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
