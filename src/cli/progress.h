// Progress for people: a bar redrawn in place on a terminal, a plain line every few seconds when
// stderr is a file or pipe (CI logs), nothing with --quiet.
#pragma once

#include <chrono>
#include <cstdint>

#include "pomona/pipeline.h"

namespace pomona {

class ProgressPrinter : public ProgressListener {
 public:
  explicit ProgressPrinter(bool terminal);
  void on_start(int64_t total_images) override;
  void on_progress(int64_t done, int64_t errors) override;
  // Ends the bar's line.
  void finish();

 private:
  void print(int64_t done, int64_t errors);

  const bool terminal_;
  const std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
  int64_t total_ = 0;
  int64_t done_ = 0;
  int64_t errors_ = 0;
};

}  // namespace pomona
