// The `pomona` command: adds the subcommands (*_command.h) and runs the one given. Every failure
// that stops a job is one line on stderr and an exit code (pomona/error.h).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "classify_commands.h"
#include "featurize_command.h"
#include "pca_command.h"
#include "pomona/error.h"
#include "pomona/io.h"
#include "report_command.h"
#include "serve_command.h"
#include "weights_command.h"

namespace pomona {
namespace {

constexpr const char* kVersion = POMONA_VERSION;

// Paths of every subcommand may be s3:// URIs; how S3 is reached is one setting per process.
void add_s3_options(CLI::App& command, S3Options& s3) {
  command.add_option("--s3-endpoint", s3.endpoint,
                     "S3-compatible endpoint, e.g. http://127.0.0.1:9000 (MinIO, Ceph); default: "
                     "$AWS_ENDPOINT_URL, else AWS");
  command.add_option("--s3-region", s3.region, "S3 region (default: $AWS_REGION or the profile's)");
  command.add_option("--s3-profile", s3.profile,
                     "profile of ~/.aws/credentials and ~/.aws/config (default: $AWS_PROFILE)");
  command.add_flag("--s3-anonymous", s3.anonymous, "no credentials: public buckets");
  command
      .add_option("--s3-retries", s3.retries,
                  "retries of a throttled, failed (5xx) or dropped S3 request, with "
                  "exponential backoff and jitter")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  command.add_option("--s3-connect-timeout", s3.connect_timeout_s, "seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--s3-request-timeout", s3.request_timeout_s, "seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

// Every subcommand is added one way: add_*_command(app) gives it its options and a callback that
// runs it, which CLI11 calls at the end of app.parse(). A callback returns when the job is done
// (exit 0) and throws JobError when it is not (its exit code, its one line on stderr).
int run(int argc, char** argv) {
  CLI::App app{"Pomona: MobileNetV2 transfer-learning features from image folders to Parquet."};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);

  add_featurize_command(app);
  add_weights_command(app);
  add_report_command(app);
  add_pca_command(app);
  add_classify_commands(app);
  add_serve_command(app);

  S3Options s3;
  CLI::App* pca = app.get_subcommand("pca");
  for (CLI::App* command :
       {app.get_subcommand("featurize"), app.get_subcommand("report"), pca->get_subcommand("fit"),
        pca->get_subcommand("transform"), app.get_subcommand("index"),
        app.get_subcommand("classify"), app.get_subcommand("serve")}) {
    add_s3_options(*command, s3);
  }
  // Before any subcommand's callback runs.
  app.parse_complete_callback([&s3] { configure_s3(s3); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return static_cast<int>(ExitCode::kConfiguration);
  }
  return 0;
}

}  // namespace
}  // namespace pomona

namespace pomona {
namespace {

// A JobError in the CLI's words: the message names the value and the fix, the CLI adds the flag
// that makes it (Python adds its keyword argument: python/src/pomona_ext.cc).
std::string in_cli_words(const JobError& error) {
  const char* flags = "";
  switch (error.setting()) {
    case Setting::kNone:
      return error.what();
    case Setting::kWeights:
      flags = "--weights FILE";
      break;
    case Setting::kPcaK:
      flags = "--pca-k";
      break;
    case Setting::kOverwrite:
      flags = "--overwrite";
      break;
    case Setting::kS3Credentials:
      flags = "--s3-profile, --s3-anonymous";
      break;
    case Setting::kS3Location:
      flags = "--s3-endpoint, --s3-region";
      break;
  }
  return std::string(error.what()) + " (" + flags + ")";
}

int run_and_report(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const JobError& e) {
    std::fprintf(stderr, "pomona: error: %s\n", in_cli_words(e).c_str());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pomona: internal error: %s\n", e.what());
    return static_cast<int>(ExitCode::kInputOutput);
  }
}

}  // namespace
}  // namespace pomona

int main(int argc, char** argv) {
  const int code = pomona::run_and_report(argc, argv);
  // After every S3 file is closed (they live inside run), before static destructors.
  pomona::finalize_s3();
  return code;
}
