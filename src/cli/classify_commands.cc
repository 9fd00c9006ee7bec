// `pomona index` and `pomona classify` (classify_commands.h).
#include "classify_commands.h"

#include <cstdio>
#include <memory>

#include "checks.h"
#include "pomona/classify.h"
#include "pomona/error.h"
#include "pomona/io.h"
#include "pomona/pipeline.h"

namespace pomona {
namespace {

constexpr const char* kIndexExamples = R"(
Examples:
  pomona featurize Training/ train.parquet && pomona index train.parquet fruits.index.parquet
  pomona index train.parquet fruits.index.parquet --info fruits.csv --pca pca.parquet
  pomona index new-fruits.parquet fruits2.index.parquet --merge-with fruits.index.parquet
)";

constexpr const char* kClassifyExamples = R"(
Examples:
  pomona classify fruits.index.parquet photo.jpg
  pomona classify fruits.index.parquet Test/ --top-k 5 --method knn --json
)";

struct IndexCommandOptions {
  std::string features;
  std::string index;
  std::string weights;
  MobileNetV2Spec spec;
  IndexOptions build;
};

struct ClassifyCommandOptions {
  std::string index;
  std::vector<std::string> inputs;
  std::string weights;
  int top_k = 3;
  std::string method = "ncm";
  bool json = false;
  bool fail_on_error = false;
};

void run_index(IndexCommandOptions& options) {
  FeaturizeOptions featurize;
  featurize.weights = options.weights;
  featurize.spec = options.spec;
  const std::string weights = resolve_weights(featurize);
  options.build.network = {options.spec.alpha, options.spec.size, weights_sha256(weights)};
  const auto index = ClassIndex::build(options.features, options.build);
  index->save(options.index);
  const IndexStats& s = index->stats();
  std::printf(
      "pomona: index of %lld images (%lld added, %lld error rows skipped), %lld labels -> %s "
      "(version %s)\n",
      static_cast<long long>(s.references), static_cast<long long>(s.added_references),
      static_cast<long long>(s.skipped_error_rows), static_cast<long long>(s.classes),
      options.index.c_str(), index->version().c_str());
  std::printf(
      "  leave-one-out top-1: ncm %.1f%%, knn %.1f%%; unknown below ncm %.4f, knn %.4f "
      "(%.0f%% of known images)\n",
      100 * s.loo_top1_ncm, 100 * s.loo_top1_knn, s.threshold_ncm, s.threshold_knn,
      100 * options.build.reject_quantile);
  if (s.approximate) {
    std::printf("  knn: HNSW above %lld images, recall@10 %.3f\n",
                static_cast<long long>(options.build.exact_limit), s.hnsw_recall);
  }
}

void print_text(const ImageAnswer& image) {
  if (image.error) {
    std::printf("%s: error: %s\n", image.path.c_str(), image.error->c_str());
    return;
  }
  std::printf("%s: %s\n", image.path.c_str(),
              image.answer.unknown ? "unknown" : image.answer.predictions.front().label.c_str());
  for (const Prediction& p : image.answer.predictions) {
    std::printf("  %-32s %.4f  %s\n", p.label.c_str(), p.score, p.info_json.c_str());
  }
}

void print_json(const ImageAnswer& image, const ClassIndex& index) {
  std::string line = "{\"path\": " + json_quote(image.path) + ", ";
  if (image.error) {
    line += "\"error\": " + json_quote(*image.error);
  } else {
    line += answer_json_members(image.answer);
  }
  line += ", \"index_version\": " + json_quote(index.version()) + "}";
  std::printf("%s\n", line.c_str());
}

int64_t run_classify(const ClassifyCommandOptions& options) {
  const auto index = ClassIndex::load(options.index);
  const IndexNetwork network = open_index_network(*index, options.weights);
  const auto featurizer = network.new_featurizer();
  const ClassifyMethod method = options.method == "knn" ? ClassifyMethod::kNearestNeighbours
                                                        : ClassifyMethod::kNearestClassMean;
  int64_t errors = 0;
  for (const std::string& root : options.inputs) {
    for (const ObjectInfo& input : list_inputs(root, ListOptions{})) {
      const BatchInput batch_input{input.uri, "", std::nullopt};
      for (const ImageAnswer& image :
           classify_images(*featurizer, *index, {&batch_input, 1}, method, options.top_k)) {
        errors += image.error.has_value();
        options.json ? print_json(image, *index) : print_text(image);
      }
    }
  }
  std::fflush(stdout);
  return errors;
}

}  // namespace

void add_classify_commands(CLI::App& app) {
  auto index = std::make_shared<IndexCommandOptions>();
  CLI::App* index_cmd = app.add_subcommand(
      "index",
      "Build a classifier (class means, neighbours, unknown threshold) from labelled "
      "FEATURES into INDEX.");
  index_cmd->footer(kIndexExamples);
  index_cmd->add_option("FEATURES", index->features, "a .parquet file or folder of part files")
      ->required();
  index_cmd->add_option("INDEX", index->index, "the index file to write (Parquet)")->required();
  index_cmd->add_option("--info", index->build.info,
                        "per-label information: .csv or .parquet with a column `label`");
  index_cmd->add_option("--pca", index->build.pca_model,
                        "a PCA model (pomona pca fit): search in its space");
  index_cmd->add_option("--merge-with", index->build.merge_with,
                        "an existing index: add FEATURES' images and labels to it");
  index_cmd->add_option("--weights", index->weights,
                        "the weights FEATURES were made with (default: Keras' cache)");
  add_model_options(*index_cmd, index->spec);
  index_cmd
      ->add_option("--reject-quantile", index->build.reject_quantile,
                   "share of known images (leave-one-out) the unknown threshold rejects")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  index_cmd
      ->add_option("--exact-limit", index->build.exact_limit,
                   "exact kNN up to this many images, HNSW above")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  index_cmd->callback([index] { run_index(*index); });

  auto classify = std::make_shared<ClassifyCommandOptions>();
  CLI::App* classify_cmd = app.add_subcommand(
      "classify", "Answer `which fruit is this?` for images with an INDEX (pomona index).");
  classify_cmd->footer(kClassifyExamples);
  classify_cmd->add_option("INDEX", classify->index, "an index file")->required();
  classify_cmd->add_option("IMAGES", classify->inputs, "images or folders (recursive)")->required();
  classify_cmd->add_option("--top-k", classify->top_k, "answers per image")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  classify_cmd->add_option("--method", classify->method, "nearest class mean or neighbours")
      ->check(CLI::IsMember({"ncm", "knn"}))
      ->capture_default_str();
  classify_cmd->add_flag("--json", classify->json, "one JSON object per image");
  classify_cmd->add_option("--weights", classify->weights,
                           "the index's weights (default: Keras' cache); others are refused");
  classify_cmd->add_flag("--fail-on-error", classify->fail_on_error,
                         "exit 1 when an image could not be classified");
  classify_cmd->callback([classify] {
    if (run_classify(*classify) > 0 && classify->fail_on_error) {
      throw JobError(ExitCode::kRowErrors, "some images could not be classified (see above)");
    }
  });
}

}  // namespace pomona
