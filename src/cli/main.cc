// The `pomona` command: parses options, runs the pipeline, prints a summary. Every failure that
// stops a job is one line on stderr and an exit code (pomona/error.h).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "checks.h"
#include "classify_commands.h"
#include "pca_command.h"
#include "pomona/error.h"
#include "pomona/io.h"
#include "pomona/pipeline.h"
#include "pomona/table.h"
#include "progress.h"
#include "report_command.h"
#include "serve_command.h"

namespace pomona {
namespace {

constexpr const char* kVersion = POMONA_VERSION;

constexpr const char* kFeaturizeExamples = R"(
Examples:
  pomona featurize photos/ features.parquet
  pomona featurize Test/ results/ --rows-per-file 50000 --threads 2
  pomona featurize Test/ out.parquet --weights mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5
  pomona featurize Test/ out.parquet --alpha 0.35 --size 96 --glob '*.jpg'
  pomona featurize s3://bucket/images/ s3://bucket/features/ --s3-region eu-west-1
  pomona featurize s3://bucket/images/ out/ --s3-endpoint http://127.0.0.1:9000 --io-threads 16
)";

// Set by the first SIGINT or SIGTERM: featurize stops taking inputs and commits what is done.
// The handler resets to the default action, so a second signal ends the process at once.
std::atomic<bool> stop_requested{false};
volatile std::sig_atomic_t stop_signal = 0;

void request_stop(int signal) {
  stop_signal = signal;
  stop_requested.store(true);
}

void install_stop_handlers() {
  struct sigaction action = {};
  action.sa_handler = request_stop;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void add_model_options(CLI::App& command, MobileNetV2Spec& spec) {
  command.add_option("--alpha", spec.alpha, "MobileNetV2 width multiplier")
      ->check(CLI::IsMember({0.35f, 0.5f, 0.75f, 1.0f, 1.3f, 1.4f}))
      ->capture_default_str();
  command.add_option("--size", spec.size, "input size the images are resized to")
      ->check(CLI::Range(96, 224))
      ->capture_default_str();
}

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

// What the listing skipped, on stderr: nothing is left out without a word.
void warn_skipped(const ListReport& listing) {
  const auto warn = [](const std::vector<std::string>& paths, const char* what) {
    if (paths.empty()) return;
    std::fprintf(stderr, "pomona: warning: skipped %zu %s, e.g. %s\n", paths.size(), what,
                 stored_text(paths.front()).c_str());
  };
  warn(listing.hidden, "files or folders whose names start with \".\" or \"_\"");
  warn(listing.unreadable, "unreadable folders (check their permissions)");
}

void print_summary(const Summary& summary, const FeaturizeOptions& options) {
  const std::string& output = options.output;
  std::printf("pomona: %lld images, %lld errors, %lld skipped as done, ",
              static_cast<long long>(summary.images), static_cast<long long>(summary.errors),
              static_cast<long long>(summary.skipped));
  if (summary.s3_retries > 0 || is_s3_uri(options.input) || is_s3_uri(output)) {
    std::printf("%lld S3 retries, ", static_cast<long long>(summary.s3_retries));
  }
  std::printf("%.2f s, %.1f img/s -> %s\n", summary.seconds,
              summary.seconds > 0 ? summary.images / summary.seconds : 0.0, output.c_str());
  if (summary.stopped) {
    std::printf(summary.files.empty()
                    ? "  stopped by a signal: nothing published (a .parquet file is written "
                      "only by a complete run)\n"
                    : "  stopped by a signal: the rows above are committed; run again to resume\n");
  }
  if (summary.pca_k > 0) {
    std::printf("  pca: k = %d components explain %.2f %% of the variance; model -> %s\n",
                summary.pca_k, 100 * summary.pca_variance, summary.pca_model.c_str());
  }
  if (summary.vanished > 0) {
    std::printf(
        options.prune_deleted
            ? "  pruned the rows of %lld inputs no longer found\n"
            : "  kept the rows of %lld inputs no longer found (--prune-deleted drops them)\n",
        static_cast<long long>(summary.vanished));
  }
  for (const std::string& error : summary.first_errors) std::printf("  error: %s\n", error.c_str());
  if (summary.errors > static_cast<int64_t>(summary.first_errors.size())) {
    std::printf("  ... and %lld more error rows (column `error` of the output)\n",
                static_cast<long long>(summary.errors - summary.first_errors.size()));
  }
}

int run(int argc, char** argv) {
  CLI::App app{"Pomona: MobileNetV2 transfer-learning features from image folders to Parquet."};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);

  FeaturizeOptions options;
  std::string glob = "*.jpg,*.jpeg,*.png";
  std::string label_from = "parent";
  std::string precision = precision_name(options.precision);
  bool fail_on_error = false;
  bool quiet = false;
  CLI::App* featurize_cmd = app.add_subcommand(
      "featurize", "Featurize every image under INPUT into OUTPUT (.parquet file or folder).");
  featurize_cmd->footer(kFeaturizeExamples);
  featurize_cmd->add_option("INPUT", options.input, "folder of images (recursive) or one image")
      ->required();
  featurize_cmd->add_option("OUTPUT", options.output, "a .parquet file, or a folder of part files")
      ->required();
  featurize_cmd->add_option("--glob", glob, "comma-separated file name patterns, case-insensitive")
      ->capture_default_str();
  featurize_cmd->add_option("--label-from", label_from, "label = parent folder name, or none")
      ->check(CLI::IsMember({"parent", "none"}))
      ->capture_default_str();
  featurize_cmd->add_option("--weights", options.weights,
                            "Keras weights .h5 (default: Keras' cache, ~/.keras/models)");
  add_model_options(*featurize_cmd, options.spec);
  featurize_cmd->add_option("--batch", options.batch, "images per network call")
      ->check(CLI::Range(1, kMaxBatch))
      ->capture_default_str();
  featurize_cmd
      ->add_option("--precision", precision,
                   "fp32 (features equal to Keras') or bf16 (about 2x faster on CPUs with "
                   "AVX512-BF16 or AMX; features within cosine 0.999 of fp32)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  featurize_cmd->add_option("--threads", options.threads, "thread budget (0 = all cores)")
      ->check(CLI::Range(0, kMaxThreads))
      ->capture_default_str();
  featurize_cmd
      ->add_option("--rows-per-file", options.rows_per_file, "rows per part file (folder output)")
      ->check(whole_number_at_least_one())
      ->capture_default_str();
  featurize_cmd
      ->add_option("--max-file-bytes", options.max_file_bytes,
                   "an input larger than this becomes an error row, unread (memory stays under "
                   "threads x this)")
      ->check(whole_number_at_least_one())
      ->capture_default_str();
  featurize_cmd->add_flag(
      "--jpeg-draft", options.jpeg_draft,
      "faster: decode JPEGs at reduced scale like Pillow's Image.draft (features "
      "then equal Pillow's draft path, not the default)");
  featurize_cmd->add_flag("--exif-transpose", options.exif_transpose,
                          "turn photos upright by their EXIF orientation first, like Pillow's "
                          "ImageOps.exif_transpose (the notebook does not: off by default)");
  featurize_cmd->add_flag("--overwrite", options.overwrite,
                          "folder OUTPUT: start afresh instead of resuming (skipping inputs done "
                          "with the same size and modification time)");
  featurize_cmd->add_flag("--retry-errors", options.retry_errors,
                          "folder OUTPUT: redo the inputs whose rows have an error");
  featurize_cmd->add_flag("--prune-deleted", options.prune_deleted,
                          "folder OUTPUT: drop the rows of inputs no longer found (kept by "
                          "default)");
  featurize_cmd->add_flag("--fail-on-error", fail_on_error, "exit 1 when any image failed");
  featurize_cmd->add_flag("-q,--quiet", quiet, "no progress output");
  featurize_cmd
      ->add_option("--io-threads", options.io_threads,
                   "most reads in flight ahead of the workers, sized by latency and throttling "
                   "(-1: 64 for s3:// inputs, none for local ones)")
      ->check(CLI::Range(-1, 256))
      ->capture_default_str();
  add_featurize_pca_options(*featurize_cmd, options);

  CLI::App* weights_cmd = app.add_subcommand("weights", "Manage Keras MobileNetV2 weights files.");
  weights_cmd->require_subcommand(1);
  MobileNetV2Spec fetch_spec;
  bool no_top = false;
  CLI::App* fetch_cmd = weights_cmd->add_subcommand(
      "fetch", "Download Keras' published ImageNet weights into Keras' cache and check them.");
  add_model_options(*fetch_cmd, fetch_spec);
  fetch_cmd->add_flag("--no-top", no_top, "the _no_top file (without the classifier)");

  add_report_command(app);

  add_pca_command(app);

  add_classify_commands(app);
  add_serve_command(app);

  S3Options s3;
  CLI::App* pca_cmd = app.get_subcommand("pca");
  for (CLI::App* command :
       {featurize_cmd, app.get_subcommand("report"), pca_cmd->get_subcommand("fit"),
        pca_cmd->get_subcommand("transform"), app.get_subcommand("index"),
        app.get_subcommand("classify"), app.get_subcommand("serve")}) {
    add_s3_options(*command, s3);
  }
  // Before any subcommand's callback runs (pca and report run theirs during parse()).
  app.parse_complete_callback([&s3] { configure_s3(s3); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return static_cast<int>(ExitCode::kConfiguration);
  }

  if (featurize_cmd->parsed()) {
    options.list.globs = parse_globs(glob);
    options.label_from = label_from == "none" ? LabelFrom::kNone : LabelFrom::kParent;
    options.precision = parse_precision(precision);
    ProgressPrinter progress(isatty(STDERR_FILENO));
    options.stop = &stop_requested;
    install_stop_handlers();
    const Summary summary = featurize(options, quiet ? nullptr : &progress);
    if (!quiet) progress.finish();
    warn_skipped(summary.listing);
    print_summary(summary, options);
    if (summary.stopped) {
      return static_cast<int>(stop_signal == SIGTERM ? ExitCode::kTerminated
                                                     : ExitCode::kInterrupted);
    }
    return fail_on_error && summary.errors > 0 ? static_cast<int>(ExitCode::kRowErrors) : 0;
  }
  if (fetch_cmd->parsed()) {
    std::printf("pomona: weights ready at %s\n", fetch_keras_weights(fetch_spec, !no_top).c_str());
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
