// classify/: "which fruit is this?" over frozen features. A ClassIndex holds labelled reference
// features (Pomona's rows), per-label means, per-label information and the score below which an
// answer is "unknown"; it answers queries by nearest class mean or by nearest neighbours. No
// network is trained: adding images or classes adds rows (merge), never retraining.
//
// The space: raw features x (optionally projected by a PCA model's components, x . V), minus the
// index's centre mu (the mean of the reference rows when the index was first built), scaled to
// unit length: z = (x - mu) / |x - mu|. Scores are cosines in that space, in [-1, 1]:
//  - nearest class mean (ncm): score of label c = z . m_c / |m_c|, m_c the mean of c's z;
//  - k nearest neighbours (knn): score of c = the largest z . z_i over c's references among the
//    query's neighbours (exact search up to IndexOptions::exact_limit references, HNSW above).
// "unknown" = the best score is below the method's threshold, calibrated when the index is built
// by leave-one-out: each reference is queried against the index without itself, and the
// threshold is the reject_quantile quantile of those best scores (so about that share of images
// of known classes is called unknown).
//
// The image-level path (decode -> network -> ClassIndex) is classify_images, at the end: the
// one engine behind `pomona classify`, `pomona serve` and pomona.Classifier.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pomona/batch.h"
#include "pomona/model.h"

namespace pomona {

struct IndexOptions {
  // The network the features came from: alpha, size and weights_sha256. The features' metadata
  // (pomona.alpha, pomona.size, pomona.weights_sha256), when the files have it, must agree; the
  // decoding settings and precision are taken from it (defaults when absent).
  NetworkIdentity network;
  // A PCA model (`pomona pca fit`) whose components project the features first; "" = none.
  std::string pca_model;
  // Per-label information: a .csv or .parquet file with a column `label` and any others; every
  // label must be one of the index's. "" = none.
  std::string info;
  // An existing index to add the rows to: its centre, PCA space and references are kept and its
  // network must equal `network`. "" = a new index.
  std::string merge_with;
  // Share of the known references' leave-one-out answers called unknown (see above).
  double reject_quantile = 0.05;
  // Up to this many references kNN is exact; above it HNSW (hnswlib) answers approximately.
  int64_t exact_limit = 50'000;
  // References queried leave-one-out for the kNN calibration and accuracy (the rest are not,
  // to bound the O(n^2) cost); ncm always uses all of them.
  int64_t calibration_sample = 2'000;
};

enum class ClassifyMethod { kNearestClassMean, kNearestNeighbours };

struct Prediction {
  std::string label;
  double score = 0;
  std::string info_json;  // the label's information as a JSON object ("{}" when none)
};

struct Answer {
  std::vector<Prediction> predictions;  // best first, at most top_k
  bool unknown = false;                 // the best score is below the method's threshold
};

// What build() found, saved in the index.
struct IndexStats {
  int64_t references = 0;
  int64_t classes = 0;
  int64_t skipped_error_rows = 0;  // rows of FEATURES with an error (no features)
  int64_t added_references = 0;    // references this build added (all of them unless merged)
  double threshold_ncm = 0;
  double threshold_knn = 0;
  // Leave-one-out top-1 accuracy on the references (knn: on the calibration sample).
  double loo_top1_ncm = 0;
  double loo_top1_knn = 0;
  bool approximate = false;  // kNN answered by HNSW
  double hnsw_recall = 1;    // recall@10 of HNSW against exact search on a sample
};

class ClassIndex {
 public:
  // Builds an index from the rows of `features` (a .parquet file or folder of part files, local or
  // s3://); rows with an error are skipped. Throws JobError(kInputOutput) with one line for bad
  // input — no labelled rows, fewer than two labels, rows of another length than the others (or
  // than the PCA model / merged index), NaN or infinite values (naming the row), information for
  // labels the index does not have — and JobError(kConfiguration) for options that do not fit
  // (weights other than the merged index's or the features' metadata, a PCA with --merge-with).
  // Nothing is written: save() does that.
  static std::unique_ptr<ClassIndex> build(const std::string& features,
                                           const IndexOptions& options);

  // One Parquet file, written atomically (temp name + rename). Its layout is in the README
  // ("Index file"). Throws JobError(kInputOutput) when it cannot be written.
  void save(const std::string& path) const;
  // Throws JobError(kInputOutput) naming the path when it cannot be read or is not an index.
  static std::unique_ptr<ClassIndex> load(const std::string& path);

  // Answers one query of feature_dim() raw features (as featurize writes them). top_k >= 1.
  // Thread-safe (const).
  Answer classify(std::span<const float> features, ClassifyMethod method, int top_k) const;

  const NetworkIdentity& network() const;
  int feature_dim() const;
  // The first 16 hex digits of the SHA-256 of the file the index was saved to or loaded from.
  const std::string& version() const;
  const IndexStats& stats() const;
  std::vector<std::string> labels() const;

  ~ClassIndex();
  struct State;

 private:
  explicit ClassIndex(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The network an index was built with, ready for queries (batches of one image).
struct IndexNetwork {
  std::string weights_path;
  std::unique_ptr<FeatureExtractor> extractor;
  NetworkIdentity identity;  // the index's
  // A featurizer with the index's decoding settings; one per thread.
  std::unique_ptr<ChunkFeaturizer> new_featurizer() const;
};

// Loads `weights` (a path, or Keras' cache for the index's alpha and size when "") and builds
// the network. Throws JobError(kConfiguration) in one line naming both hashes when the weights
// are not the ones the index was built with, and what parse_precision, KerasWeights::load and
// FeatureExtractor::create throw (bf16 features on a CPU without native bf16). Queries run at the
// precision the index's features were computed at.
IndexNetwork open_index_network(const ClassIndex& index, const std::string& weights);

// text as a JSON string literal, quotes included (UTF-8 passes through; controls are escaped).
std::string json_quote(std::string_view text);
// The answer as the JSON members `"predictions": [{"label", "score", "info"}...], "unknown": b`
// (no braces), the one rendering shared by `pomona classify --json` and `pomona serve`.
std::string answer_json_members(const Answer& answer);

// One image's answer, or why it has none.
struct ImageAnswer {
  std::string path;
  std::optional<std::string> error;  // the read/decode error; then answer is empty
  Answer answer;
  double prepare_ms = 0;  // read + decode + resize + preprocess
  double network_ms = 0;
  double classify_ms = 0;
};

// Classifies inputs one at a time with `featurizer` (IndexNetwork::new_featurizer; one per
// thread; ChunkFeaturizer runs the same decode -> resize -> network path as featurize)
// against `index`. The feature length is checked against the index's. A bad image is an answer with
// an error, never an exception.
std::vector<ImageAnswer> classify_images(ChunkFeaturizer& featurizer, const ClassIndex& index,
                                         std::span<const BatchInput> inputs, ClassifyMethod method,
                                         int top_k);

}  // namespace pomona
