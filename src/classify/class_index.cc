// ClassIndex: build, merge, calibration and queries (include/pomona/classify.h).
#include <hnswlib/hnswlib.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>

#include "index_state.h"
#include "label_info.h"
#include "pomona/error.h"
#include "pomona/pca.h"
#include "pomona/table.h"

namespace pomona {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstRowMap = Eigen::Map<const RowMatrix>;
using ConstVectorMap = Eigen::Map<const Eigen::VectorXf>;

// HNSW parameters: hnswlib's defaults for the graph, a wider search than the neighbours asked.
constexpr size_t kHnswM = 16;
constexpr size_t kHnswEfConstruction = 200;
constexpr size_t kHnswSeed = 100;
constexpr size_t kHnswEf = 128;
// Neighbours a kNN query retrieves from HNSW, at least (exact search scores every reference).
constexpr size_t kKnnNeighbours = 64;
constexpr int kRecallAt = 10;
constexpr int64_t kRecallQueries = 200;

[[noreturn]] void bad_input(const std::string& message) {
  throw JobError(ExitCode::kInputOutput, message);
}

// The rows of FEATURES that have features: their values checked and packed by the one reader of
// feature rows (FeatureBlock), their labels and paths.
struct LabelledRows {
  explicit LabelledRows(const std::string& features) : block(features) {}
  FeatureBlock block;
  std::vector<std::string> labels;
  std::vector<std::string> paths;
  int64_t error_rows = 0;
};

LabelledRows read_labelled_rows(const std::string& features) {
  LabelledRows rows(features);
  int64_t index = 0;
  read_row_batches(features, 4096, [&](std::vector<FeatureRow>& batch) {
    for (FeatureRow& row : batch) {
      const int64_t at = index++;
      if (row.error) {
        ++rows.error_rows;
        continue;
      }
      const std::string name = std::to_string(at) + " (" + row.path + ")";
      if (row.label.empty()) {
        bad_input(features + " row " + name +
                  " has no label: an index needs labelled rows (the label is the image's "
                  "parent folder name)");
      }
      rows.block.add(name, row.features);
      rows.labels.push_back(std::move(row.label));
      rows.paths.push_back(std::move(row.path));
    }
  });
  if (rows.labels.empty()) {
    bad_input(features + " has no rows with features" +
              (rows.error_rows > 0 ? " (" + std::to_string(rows.error_rows) + " error rows)" : ""));
  }
  return rows;
}

// `given` completed with what the features record, after checking that the two agree.
NetworkIdentity features_identity(const std::string& features, const NetworkIdentity& given) {
  const Result<NetworkIdentity> recorded =
      identity_from_settings(recorded_settings(features), &given);
  if (!recorded.ok()) bad_input(features + ": " + recorded.error());
  const NetworkIdentity& made = recorded.value();
  check_bf16_layout(made, features);
  if (made.weights_sha256 != given.weights_sha256 || std::abs(made.alpha - given.alpha) > 1e-6f ||
      made.size != given.size) {
    char alpha[16];
    std::snprintf(alpha, sizeof alpha, "%g", made.alpha);
    throw JobError(ExitCode::kConfiguration, features + " was made with other weights (sha256 " +
                                                 made.weights_sha256.substr(0, 12) + ", alpha " +
                                                 alpha + ", size " + std::to_string(made.size) +
                                                 ") than the ones given (sha256 " +
                                                 given.weights_sha256.substr(0, 12) +
                                                 "): give the weights that made the features");
  }
  return made;
}

void normalise(float* z, int dim) {
  double norm = 0;
  for (int i = 0; i < dim; ++i) norm += double(z[i]) * z[i];
  if (norm <= 0) return;
  const float scale = static_cast<float>(1 / std::sqrt(norm));
  for (int i = 0; i < dim; ++i) z[i] *= scale;
}

// The q quantile (nearest rank, from below) of values; values is reordered.
double quantile(std::vector<double>& values, double q) {
  if (values.empty()) return -1;
  const size_t rank = std::min(values.size() - 1, static_cast<size_t>(q * values.size()));
  std::nth_element(values.begin(), values.begin() + rank, values.end());
  return values[rank];
}

// Best score and its class over per-class scores; -inf entries are classes without a score.
std::pair<double, int> best_of(std::span<const float> scores) {
  const auto it = std::max_element(scores.begin(), scores.end());
  return {*it, static_cast<int>(it - scores.begin())};
}

}  // namespace

struct HnswGraph {
  explicit HnswGraph(int dim, size_t elements)
      : space(dim), graph(&space, elements, kHnswM, kHnswEfConstruction, kHnswSeed) {}
  hnswlib::InnerProductSpace space;
  hnswlib::HierarchicalNSW<float> graph;
};

ClassIndex::State::State() = default;
ClassIndex::State::~State() = default;

std::vector<float> ClassIndex::State::to_space(const float* x) const {
  std::vector<float> z(space_dim);
  if (axes.empty()) {
    std::copy(x, x + space_dim, z.begin());
  } else {
    Eigen::Map<Eigen::VectorXf>(z.data(), space_dim) =
        ConstRowMap(axes.data(), space_dim, feature_dim) * ConstVectorMap(x, feature_dim);
  }
  for (int i = 0; i < space_dim; ++i) z[i] -= centre[i];
  normalise(z.data(), space_dim);
  return z;
}

void ClassIndex::State::finish() {
  const size_t classes = labels.size();
  class_means.assign(classes * space_dim, 0.0f);
  for (size_t c = 0; c < classes; ++c) {
    for (int i = 0; i < space_dim; ++i)
      class_means[c * space_dim + i] = class_sums[c * space_dim + i];
    normalise(class_means.data() + c * space_dim, space_dim);
  }
  hnsw.reset();
  stats.references = reference_count();
  stats.classes = static_cast<int64_t>(classes);
  stats.approximate = reference_count() > exact_limit;
  if (stats.approximate) {
    hnsw = std::make_unique<HnswGraph>(space_dim, reference_count());
    for (int64_t i = 0; i < reference_count(); ++i) {
      hnsw->graph.addPoint(references.data() + i * space_dim, static_cast<hnswlib::labeltype>(i));
    }
    hnsw->graph.setEf(kHnswEf);
  }
}

namespace {

// Per-class kNN scores of query z (the largest cosine to each class's references among those
// searched; -inf for classes without one), leaving out reference `skip` (-1: none).
std::vector<float> knn_scores(const ClassIndex::State& s, const float* z, int64_t skip) {
  std::vector<float> scores(s.labels.size(), -std::numeric_limits<float>::infinity());
  if (s.hnsw) {
    const size_t k = std::min<size_t>(kKnnNeighbours + 1, s.reference_count());
    auto found = s.hnsw->graph.searchKnn(z, k);
    for (; !found.empty(); found.pop()) {
      const auto [distance, id] = found.top();
      if (static_cast<int64_t>(id) == skip) continue;
      float& score = scores[s.reference_class[id]];
      score = std::max(score, 1.0f - distance);  // hnswlib's inner-product distance is 1 - z.z_i
    }
    return scores;
  }
  const Eigen::VectorXf sims = ConstRowMap(s.references.data(), s.reference_count(), s.space_dim) *
                               ConstVectorMap(z, s.space_dim);
  for (int64_t i = 0; i < s.reference_count(); ++i) {
    if (i == skip) continue;
    float& score = scores[s.reference_class[i]];
    score = std::max(score, sims[i]);
  }
  return scores;
}

}  // namespace

void ClassIndex::State::calibrate() {
  const int64_t n = reference_count();
  const int64_t classes = static_cast<int64_t>(labels.size());
  // Nearest class mean, every reference: its own class's mean without it.
  const RowMatrix mean_scores = ConstRowMap(references.data(), n, space_dim) *
                                ConstRowMap(class_means.data(), classes, space_dim).transpose();
  std::vector<double> sum_norms(classes);
  for (int64_t c = 0; c < classes; ++c) {
    double squared = 0;
    for (int i = 0; i < space_dim; ++i)
      squared += class_sums[c * space_dim + i] * class_sums[c * space_dim + i];
    sum_norms[c] = std::sqrt(squared);
  }
  std::vector<double> best_ncm;
  int64_t correct_ncm = 0;
  for (int64_t r = 0; r < n; ++r) {
    const int c = reference_class[r];
    if (class_counts[c] < 2) continue;  // nothing of its class is left without it
    std::vector<float> scores(mean_scores.row(r).data(), mean_scores.row(r).data() + classes);
    // |S - z|^2 = |S|^2 - 2 z.S + 1 for unit z; z.S = z.mean * |S|.
    const double z_dot_sum = scores[c] * sum_norms[c];
    const double rest_norm =
        std::sqrt(std::max(0.0, sum_norms[c] * sum_norms[c] - 2 * z_dot_sum + 1));
    scores[c] = rest_norm > 0 ? static_cast<float>((z_dot_sum - 1) / rest_norm) : -1.0f;
    const auto [best, label] = best_of(scores);
    best_ncm.push_back(best);
    correct_ncm += label == c;
  }
  // Nearest neighbours, on an evenly spread sample of the references.
  const int64_t step = std::max<int64_t>(1, (n + calibration_sample - 1) / calibration_sample);
  std::vector<double> best_knn;
  int64_t correct_knn = 0;
  for (int64_t r = 0; r < n; r += step) {
    const int c = reference_class[r];
    if (class_counts[c] < 2) continue;
    const auto [best, label] = best_of(knn_scores(*this, references.data() + r * space_dim, r));
    best_knn.push_back(best);
    correct_knn += label == c;
  }
  if (best_ncm.empty()) {
    bad_input(
        "no label has two images: the unknown threshold is calibrated by leaving each "
        "image out, which needs at least two images of some label");
  }
  stats.loo_top1_ncm = double(correct_ncm) / best_ncm.size();
  stats.loo_top1_knn = best_knn.empty() ? 0 : double(correct_knn) / best_knn.size();
  stats.threshold_ncm = quantile(best_ncm, reject_quantile);
  stats.threshold_knn = quantile(best_knn, reject_quantile);

  stats.hnsw_recall = 1;
  if (hnsw) {
    // recall@10 of the graph against exact search, queried with references.
    const int64_t queries = std::min(n, kRecallQueries);
    int64_t found_total = 0;
    for (int64_t q = 0; q < queries; ++q) {
      const int64_t r = q * (n / queries);
      const float* z = references.data() + r * space_dim;
      const Eigen::VectorXf sims =
          ConstRowMap(references.data(), n, space_dim) * ConstVectorMap(z, space_dim);
      std::vector<int64_t> order(n);
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + kRecallAt, order.end(),
                        [&](int64_t a, int64_t b) { return sims[a] > sims[b]; });
      auto found = hnsw->graph.searchKnn(z, kRecallAt);
      for (; !found.empty(); found.pop()) {
        const int64_t id = static_cast<int64_t>(found.top().second);
        found_total +=
            std::find(order.begin(), order.begin() + kRecallAt, id) != order.begin() + kRecallAt;
      }
    }
    stats.hnsw_recall = double(found_total) / (queries * kRecallAt);
  }
}

ClassIndex::ClassIndex(std::unique_ptr<State> state) : state_(std::move(state)) {}
ClassIndex::~ClassIndex() = default;

std::unique_ptr<ClassIndex> ClassIndex::build(const std::string& features,
                                              const IndexOptions& options) {
  if (!(options.reject_quantile >= 0 && options.reject_quantile < 1)) {
    throw JobError(ExitCode::kConfiguration, "the reject quantile must be in [0, 1), not " +
                                                 std::to_string(options.reject_quantile));
  }
  const NetworkIdentity network = features_identity(features, options.network);
  std::unique_ptr<State> s;
  if (!options.merge_with.empty()) {
    if (!options.pca_model.empty()) {
      throw JobError(ExitCode::kConfiguration, "a merged index keeps the PCA space of " +
                                                   options.merge_with +
                                                   ": build a new index to use another PCA model");
    }
    s = std::move(load(options.merge_with)->state_);
    if (!(s->network == network)) {
      throw JobError(ExitCode::kConfiguration,
                     options.merge_with + " was built from features of other weights (sha256 " +
                         s->network.weights_sha256.substr(0, 12) + ", alpha " +
                         std::to_string(s->network.alpha) + ", size " +
                         std::to_string(s->network.size) + ") or decoding than these (sha256 " +
                         network.weights_sha256.substr(0, 12) + ")");
    }
  } else {
    s = std::make_unique<State>();
    s->network = network;
  }
  s->reject_quantile = options.reject_quantile;
  s->exact_limit = options.exact_limit;
  s->calibration_sample = std::max<int64_t>(1, options.calibration_sample);

  LabelledRows rows = read_labelled_rows(features);
  const int64_t added = static_cast<int64_t>(rows.labels.size());
  const int dim = rows.block.dim();
  if (s->feature_dim == 0) {
    s->feature_dim = dim;
    s->space_dim = dim;
    if (!options.pca_model.empty()) {
      const PcaModel pca = PcaModel::load(options.pca_model);
      if (pca.dim() != dim) {
        bad_input(features + " has " + std::to_string(dim) + " features, the PCA model " +
                  options.pca_model + " projects " + std::to_string(pca.dim()));
      }
      s->space_dim = pca.k();
      s->axes.assign(pca.components().begin(), pca.components().end());
    }
  } else if (dim != s->feature_dim) {
    bad_input(features + " has " + std::to_string(dim) + " features, the index " +
              options.merge_with + " " + std::to_string(s->feature_dim));
  }

  // Rows in the index space, before centring.
  std::vector<float> projected(added * s->space_dim);
  if (s->axes.empty()) {
    projected.assign(rows.block.values().begin(), rows.block.values().end());
  } else {
    Eigen::Map<RowMatrix>(projected.data(), added, s->space_dim) =
        ConstRowMap(rows.block.values().data(), added, s->feature_dim) *
        ConstRowMap(s->axes.data(), s->space_dim, s->feature_dim).transpose();
  }
  if (s->centre.empty()) {
    std::vector<double> mean(s->space_dim, 0.0);
    for (int64_t r = 0; r < added; ++r) {
      for (int i = 0; i < s->space_dim; ++i) mean[i] += projected[r * s->space_dim + i];
    }
    s->centre.resize(s->space_dim);
    for (int i = 0; i < s->space_dim; ++i) s->centre[i] = static_cast<float>(mean[i] / added);
  }

  // Classes: the old ones and the new labels, sorted; old sums carried over by label.
  std::map<std::string, int> class_of;
  for (const std::string& label : s->labels) class_of[label];
  for (const std::string& label : rows.labels) class_of[label];
  if (class_of.size() < 2) {
    bad_input(features + " has only one label ('" + class_of.begin()->first +
              "'): an index needs at least two");
  }
  std::vector<std::string> labels;
  for (auto& [label, c] : class_of) {
    c = static_cast<int>(labels.size());
    labels.push_back(label);
  }
  std::vector<double> sums(labels.size() * s->space_dim, 0.0);
  std::vector<int64_t> counts(labels.size(), 0);
  std::vector<std::string> info(labels.size(), "{}");
  for (size_t old = 0; old < s->labels.size(); ++old) {
    const int c = class_of[s->labels[old]];
    std::copy_n(s->class_sums.begin() + old * s->space_dim, s->space_dim,
                sums.begin() + c * s->space_dim);
    counts[c] = s->class_counts[old];
    info[c] = s->class_info[old];
  }
  for (int32_t& c : s->reference_class) c = class_of[s->labels[c]];

  s->references.reserve(s->references.size() + added * s->space_dim);
  for (int64_t r = 0; r < added; ++r) {
    float* z = projected.data() + r * s->space_dim;
    for (int i = 0; i < s->space_dim; ++i) z[i] -= s->centre[i];
    normalise(z, s->space_dim);
    const int c = class_of[rows.labels[r]];
    for (int i = 0; i < s->space_dim; ++i) sums[c * s->space_dim + i] += z[i];
    ++counts[c];
    s->references.insert(s->references.end(), z, z + s->space_dim);
    s->reference_class.push_back(c);
    s->reference_paths.push_back(std::move(rows.paths[r]));
  }

  if (!options.info.empty()) {
    for (auto& [label, json] : read_label_info(options.info)) {
      const auto it = class_of.find(label);
      if (it == class_of.end()) {
        bad_input(options.info + " has information for label '" + label +
                  "', which the index does not have (labels are the images' folder names)");
      }
      info[it->second] = std::move(json);
    }
  }
  s->labels = std::move(labels);
  s->class_sums = std::move(sums);
  s->class_counts = std::move(counts);
  s->class_info = std::move(info);
  s->finish();
  s->calibrate();
  s->stats.skipped_error_rows = rows.error_rows;
  s->stats.added_references = added;
  return std::unique_ptr<ClassIndex>(new ClassIndex(std::move(s)));
}

Answer ClassIndex::classify(std::span<const float> features, ClassifyMethod method,
                            int top_k) const {
  const State& s = *state_;
  if (static_cast<int>(features.size()) != s.feature_dim) {
    throw JobError(ExitCode::kConfiguration, "features of length " +
                                                 std::to_string(features.size()) +
                                                 " cannot be classified by an index of length " +
                                                 std::to_string(s.feature_dim));
  }
  const std::vector<float> z = s.to_space(features.data());
  std::vector<float> scores;
  double threshold = 0;
  if (method == ClassifyMethod::kNearestClassMean) {
    scores.resize(s.labels.size());
    Eigen::Map<Eigen::VectorXf>(scores.data(), scores.size()) =
        ConstRowMap(s.class_means.data(), s.labels.size(), s.space_dim) *
        ConstVectorMap(z.data(), s.space_dim);
    threshold = s.stats.threshold_ncm;
  } else {
    scores = knn_scores(s, z.data(), -1);
    threshold = s.stats.threshold_knn;
  }
  std::vector<int> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  // Best first; equal scores in label order.
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });
  Answer answer;
  for (int c : order) {
    if (static_cast<int>(answer.predictions.size()) == top_k || std::isinf(scores[c])) break;
    answer.predictions.push_back({s.labels[c], scores[c], s.class_info[c]});
  }
  answer.unknown = answer.predictions.empty() || answer.predictions.front().score < threshold;
  return answer;
}

const NetworkIdentity& ClassIndex::network() const { return state_->network; }
int ClassIndex::feature_dim() const { return state_->feature_dim; }
const std::string& ClassIndex::version() const { return state_->version; }
const IndexStats& ClassIndex::stats() const { return state_->stats; }
std::vector<std::string> ClassIndex::labels() const { return state_->labels; }

}  // namespace pomona
