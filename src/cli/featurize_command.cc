// `pomona featurize` (featurize_command.h).
#include "featurize_command.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>

#include "checks.h"
#include "pca_command.h"
#include "pomona/error.h"
#include "pomona/io.h"
#include "pomona/pipeline.h"
#include "pomona/table.h"
#include "progress.h"

namespace pomona {
namespace {

constexpr const char* kFeaturizeExamples = R"(
Examples:
  pomona featurize photos/ features.parquet
  pomona featurize Test/ results/ --rows-per-file 50000 --threads 2
  pomona featurize Test/ out.parquet --weights mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5
  pomona featurize Test/ out.parquet --alpha 0.35 --size 96 --glob '*.jpg'
  pomona featurize s3://bucket/images/ s3://bucket/features/ --s3-region eu-west-1
  pomona featurize s3://bucket/images/ out/ --s3-endpoint http://127.0.0.1:9000 --io-threads 16
)";

// The command line beyond FeaturizeOptions.
struct FeaturizeCommandOptions {
  FeaturizeOptions run;
  std::string glob = "*.jpg,*.jpeg,*.png";
  std::string label_from = "parent";
  std::string precision = precision_name(Precision::kFp32);
  bool fail_on_error = false;
  bool quiet = false;
};

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

void run_featurize(FeaturizeCommandOptions& command) {
  FeaturizeOptions& options = command.run;
  options.list.globs = parse_globs(command.glob);
  options.label_from = command.label_from == "none" ? LabelFrom::kNone : LabelFrom::kParent;
  options.precision = parse_precision(command.precision);
  ProgressPrinter progress(isatty(STDERR_FILENO));
  options.stop = &stop_requested;
  install_stop_handlers();
  const Summary summary = featurize(options, command.quiet ? nullptr : &progress);
  if (!command.quiet) progress.finish();
  warn_skipped(summary.listing);
  print_summary(summary, options);
  std::fflush(stdout);
  if (summary.stopped) {
    const bool terminated = stop_signal == SIGTERM;
    throw JobError(terminated ? ExitCode::kTerminated : ExitCode::kInterrupted,
                   std::string("stopped by ") + (terminated ? "SIGTERM" : "SIGINT") +
                       " before the last input (see above)");
  }
  if (command.fail_on_error && summary.errors > 0) {
    throw JobError(ExitCode::kRowErrors,
                   std::to_string(summary.errors) + " images failed (rows with an error, above)");
  }
}

}  // namespace

void add_featurize_command(CLI::App& app) {
  auto command = std::make_shared<FeaturizeCommandOptions>();
  FeaturizeOptions& options = command->run;
  CLI::App* featurize = app.add_subcommand(
      "featurize", "Featurize every image under INPUT into OUTPUT (.parquet file or folder).");
  featurize->footer(kFeaturizeExamples);
  featurize->add_option("INPUT", options.input, "folder of images (recursive) or one image")
      ->required();
  featurize->add_option("OUTPUT", options.output, "a .parquet file, or a folder of part files")
      ->required();
  featurize
      ->add_option("--glob", command->glob, "comma-separated file name patterns, case-insensitive")
      ->capture_default_str();
  featurize->add_option("--label-from", command->label_from, "label = parent folder name, or none")
      ->check(CLI::IsMember({"parent", "none"}))
      ->capture_default_str();
  featurize->add_option("--weights", options.weights,
                        "Keras weights .h5 (default: Keras' cache, ~/.keras/models)");
  add_model_options(*featurize, options.spec);
  featurize->add_option("--batch", options.batch, "images per network call")
      ->check(core_rule(check_batch, "INT in [1 - " + std::to_string(kMaxBatch) + "]"))
      ->capture_default_str();
  featurize
      ->add_option("--precision", command->precision,
                   "fp32 (features equal to Keras') or bf16 (about 1.4x faster on CPUs with "
                   "AVX512-BF16 or AMX; features within cosine 0.999 of fp32)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  featurize->add_option("--threads", options.threads, "thread budget (0 = all cores)")
      ->check(core_rule(check_threads, "INT in [0 - " + std::to_string(kMaxThreads) + "]"))
      ->capture_default_str();
  featurize
      ->add_option("--rows-per-file", options.rows_per_file, "rows per part file (folder output)")
      ->check(whole_number_at_least_one())
      ->capture_default_str();
  featurize
      ->add_option("--max-file-bytes", options.max_file_bytes,
                   "an input larger than this becomes an error row, unread (memory stays under "
                   "threads x this)")
      ->check(whole_number_at_least_one())
      ->capture_default_str();
  featurize->add_flag("--jpeg-draft", options.jpeg_draft,
                      "faster: decode JPEGs at reduced scale like Pillow's Image.draft (features "
                      "then equal Pillow's draft path, not the default)");
  featurize->add_flag("--exif-transpose", options.exif_transpose,
                      "turn photos upright by their EXIF orientation first, like Pillow's "
                      "ImageOps.exif_transpose (the notebook does not: off by default)");
  featurize->add_flag("--overwrite", options.overwrite,
                      "folder OUTPUT: start afresh instead of resuming (skipping inputs done "
                      "with the same size and modification time)");
  featurize->add_flag("--retry-errors", options.retry_errors,
                      "folder OUTPUT: redo the inputs whose rows have an error");
  featurize->add_flag("--prune-deleted", options.prune_deleted,
                      "folder OUTPUT: drop the rows of inputs no longer found (kept by default)");
  featurize->add_flag("--fail-on-error", command->fail_on_error, "exit 1 when any image failed");
  featurize->add_flag("-q,--quiet", command->quiet, "no progress output");
  featurize
      ->add_option("--io-threads", options.io_threads,
                   "most reads in flight ahead of the workers, sized by latency and throttling "
                   "(-1: 64 for s3:// inputs, none for local ones)")
      ->check(CLI::Range(-1, 256))
      ->capture_default_str();
  add_featurize_pca_options(*featurize, options);
  featurize->callback([command] { run_featurize(*command); });
}

}  // namespace pomona
