// io/'s S3FileSystem settings (configure_s3 in include/pomona/io.h), private to io/ and its tests.
#pragma once

#include <arrow/filesystem/s3fs.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "pomona/io.h"

namespace pomona::files {

// The Arrow options configure_s3 leads to, with the environment read now (exposed for tests).
// Initialises the AWS SDK (finalize_s3 before exit).
arrow::fs::S3Options arrow_s3_options(const S3Options& options);

// Retries requests the AWS SDK marks retryable (throttling, 5xx, dropped connections) up to
// max_retries times (kMaxConnectRetries for a refused connection), after a delay drawn uniformly
// from [0, min(cap, base * 2^attempt)] ("full jitter", so clients throttled together do not retry
// together), and counts the retries.
class CountingRetryStrategy : public arrow::fs::S3RetryStrategy {
 public:
  static constexpr int64_t kBaseDelayMs = 50;
  static constexpr int64_t kMaxDelayMs = 5'000;
  // Retries of a connection refused or a host not resolved (a down or mistyped endpoint).
  static constexpr int64_t kMaxConnectRetries = 2;
  static bool is_connect_failure(const std::string& message);

  CountingRetryStrategy(int max_retries, std::atomic<int64_t>& retries)
      : max_retries_(max_retries), retries_(retries) {}
  bool ShouldRetry(const AWSErrorDetail& error, int64_t attempted_retries) override;
  int64_t CalculateDelayBeforeNextRetry(const AWSErrorDetail& error,
                                        int64_t attempted_retries) override;

 private:
  const int max_retries_;
  std::atomic<int64_t>& retries_;
};

}  // namespace pomona::files
