// PcaAccumulator (include/pomona/pca.h): Chan, Golub and LeVeque's pairwise update of n, mean and
// scatter, with each batch's own scatter computed by BLAS syrk on the batch centered on its mean.
#include <cblas.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "pomona/error.h"
#include "pomona/pca.h"

namespace pomona {
namespace {

static_assert(std::endian::native == std::endian::little, "the state bytes are little-endian");

constexpr char kStateMagic[8] = {'P', 'O', 'M', 'O', 'N', 'A', 'P', 'C'};
constexpr uint32_t kStateVersion = 1;
// Rows centered at once: bounds the double copy of a batch (1024 x 1280 x 8 bytes = 10 MB).
constexpr int64_t kRowsPerBlock = 1024;

// scatter += weight * delta delta^T and mean += delta * other_count / count, the pairwise update
// that joins statistics of count - other_count rows with those of other_count rows whose mean is
// mean + delta.
void join_means(std::vector<double>& mean, std::vector<double>& scatter, int64_t count,
                int64_t other_count, std::vector<double>& delta) {
  const int dim = static_cast<int>(mean.size());
  const double own = static_cast<double>(count - other_count);
  const double other = static_cast<double>(other_count);
  const double total = static_cast<double>(count);
  cblas_dsyr(CblasRowMajor, CblasUpper, dim, own * other / total, delta.data(), 1, scatter.data(),
             dim);
  for (int j = 0; j < dim; ++j) mean[j] += delta[j] * (other / total);
}

template <typename T>
void append_bytes(std::string& out, const T* values, size_t count) {
  out.append(reinterpret_cast<const char*>(values), count * sizeof(T));
}

[[noreturn]] void throw_bad_state(const std::string& reason) {
  throw JobError(ExitCode::kInputOutput, "not a PCA accumulator state: " + reason);
}

// Reads trivially copyable values from a byte cursor, failing on truncated bytes.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  void read(T* values, size_t count) {
    const size_t size = count * sizeof(T);
    if (bytes_.size() < size) throw_bad_state("truncated");
    std::memcpy(values, bytes_.data(), size);
    bytes_.remove_prefix(size);
  }
  bool done() const { return bytes_.empty(); }

 private:
  std::string_view bytes_;
};

}  // namespace

PcaAccumulator::PcaAccumulator(int dim)
    : dim_(dim), mean_(dim, 0.0), scatter_(static_cast<size_t>(dim) * dim, 0.0) {
  if (dim <= 0) throw JobError(ExitCode::kConfiguration, "PCA dimension must be positive");
}

std::vector<double> PcaAccumulator::covariance() const {
  if (count_ < 2) {
    throw JobError(ExitCode::kInputOutput,
                   "PCA needs at least 2 rows, got " + std::to_string(count_));
  }
  const double scale = 1.0 / static_cast<double>(count_ - 1);
  std::vector<double> covariance(scatter_.size());
  for (int i = 0; i < dim_; ++i) {
    for (int j = i; j < dim_; ++j) {
      const double value = scatter_[static_cast<size_t>(i) * dim_ + j] * scale;
      covariance[static_cast<size_t>(i) * dim_ + j] = value;
      covariance[static_cast<size_t>(j) * dim_ + i] = value;
    }
  }
  return covariance;
}

void PcaAccumulator::add_rows(std::span<const float> values, int64_t rows) {
  if (rows < 0 || values.size() != static_cast<size_t>(rows) * dim_) {
    throw JobError(ExitCode::kConfiguration,
                   "PCA rows must have " + std::to_string(dim_) + " values each");
  }
  for (int64_t r = 0; r < rows; ++r) {
    const auto row = values.subspan(static_cast<size_t>(r) * dim_, dim_);
    if (!std::all_of(row.begin(), row.end(), [](float v) { return std::isfinite(v); })) {
      throw JobError(ExitCode::kInputOutput,
                     "row " + std::to_string(r) + " has a NaN or infinite value");
    }
  }
  std::vector<double> centered;
  std::vector<double> delta(dim_);
  for (int64_t begin = 0; begin < rows; begin += kRowsPerBlock) {
    const int64_t block = std::min(kRowsPerBlock, rows - begin);
    const float* x = values.data() + static_cast<size_t>(begin) * dim_;
    std::fill(delta.begin(), delta.end(), 0.0);
    for (int64_t r = 0; r < block; ++r) {
      for (int j = 0; j < dim_; ++j) delta[j] += x[r * dim_ + j];
    }
    for (int j = 0; j < dim_; ++j) delta[j] /= static_cast<double>(block);  // the block's mean
    centered.resize(static_cast<size_t>(block) * dim_);
    for (int64_t r = 0; r < block; ++r) {
      for (int j = 0; j < dim_; ++j) centered[r * dim_ + j] = x[r * dim_ + j] - delta[j];
    }
    // scatter += centered^T centered (upper triangle).
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, dim_, static_cast<int>(block), 1.0,
                centered.data(), dim_, 1.0, scatter_.data(), dim_);
    for (int j = 0; j < dim_; ++j) delta[j] -= mean_[j];
    count_ += block;
    join_means(mean_, scatter_, count_, block, delta);
  }
}

void PcaAccumulator::merge(const PcaAccumulator& other) {
  if (other.dim_ != dim_) {
    throw JobError(ExitCode::kConfiguration, "cannot merge PCA statistics of dimension " +
                                                 std::to_string(other.dim_) + " into dimension " +
                                                 std::to_string(dim_));
  }
  if (other.count_ == 0) return;
  for (int i = 0; i < dim_; ++i) {
    for (int j = i; j < dim_; ++j) {
      scatter_[static_cast<size_t>(i) * dim_ + j] +=
          other.scatter_[static_cast<size_t>(i) * dim_ + j];
    }
  }
  std::vector<double> delta(dim_);
  for (int j = 0; j < dim_; ++j) delta[j] = other.mean_[j] - mean_[j];
  count_ += other.count_;
  join_means(mean_, scatter_, count_, other.count_, delta);
}

std::string PcaAccumulator::serialize() const {
  std::string bytes;
  const int32_t dim = dim_;
  append_bytes(bytes, kStateMagic, sizeof(kStateMagic));
  append_bytes(bytes, &kStateVersion, 1);
  append_bytes(bytes, &dim, 1);
  append_bytes(bytes, &count_, 1);
  append_bytes(bytes, mean_.data(), mean_.size());
  for (int i = 0; i < dim_; ++i) {
    append_bytes(bytes, scatter_.data() + static_cast<size_t>(i) * dim_ + i, dim_ - i);
  }
  return bytes;
}

PcaAccumulator PcaAccumulator::deserialize(std::string_view bytes) {
  ByteReader reader(bytes);
  char magic[sizeof(kStateMagic)];
  uint32_t version = 0;
  int32_t dim = 0;
  int64_t count = 0;
  reader.read(magic, sizeof(magic));
  reader.read(&version, 1);
  reader.read(&dim, 1);
  reader.read(&count, 1);
  if (std::memcmp(magic, kStateMagic, sizeof(magic)) != 0) throw_bad_state("wrong magic bytes");
  if (version != kStateVersion) throw_bad_state("unknown version " + std::to_string(version));
  if (dim <= 0 || count < 0) throw_bad_state("bad dimension or count");
  PcaAccumulator accumulator(dim);
  accumulator.count_ = count;
  reader.read(accumulator.mean_.data(), dim);
  for (int i = 0; i < dim; ++i) {
    reader.read(accumulator.scatter_.data() + static_cast<size_t>(i) * dim + i, dim - i);
  }
  if (!reader.done()) throw_bad_state("trailing bytes");
  return accumulator;
}

}  // namespace pomona
