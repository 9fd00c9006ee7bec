#include "progress.h"

#include <cstdio>
#include <string>

namespace pomona {
namespace {

std::string format_duration(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  return text;
}

}  // namespace

ProgressPrinter::ProgressPrinter(bool terminal)
    : terminal_(terminal),
      interval_(terminal ? std::chrono::milliseconds(100) : std::chrono::seconds(10)) {}

void ProgressPrinter::on_start(int64_t total_images) {
  total_ = total_images;
  start_ = last_print_ = std::chrono::steady_clock::now();
  if (!terminal_) std::fprintf(stderr, "pomona: %lld images to featurize\n", static_cast<long long>(total_));
}

void ProgressPrinter::on_progress(int64_t done, int64_t errors) {
  done_ = done;
  errors_ = errors;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_print_ < interval_ && done != total_) return;
  last_print_ = now;
  print(done, errors);
}

void ProgressPrinter::print(int64_t done, int64_t errors) {
  const double elapsed = std::chrono::duration<double>(last_print_ - start_).count();
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const std::string eta = rate > 0 ? format_duration((total_ - done) / rate) : "?";
  if (terminal_) {
    constexpr int kWidth = 30;
    const int filled = total_ ? static_cast<int>(kWidth * done / total_) : kWidth;
    std::fprintf(stderr, "\r[%s%s] %lld/%lld images, %lld errors, %.1f img/s, ETA %s ",
                 std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_),
                 static_cast<long long>(errors), rate, eta.c_str());
  } else {
    std::fprintf(stderr, "pomona: %lld/%lld images, %lld errors, %.1f img/s, ETA %s\n",
                 static_cast<long long>(done), static_cast<long long>(total_),
                 static_cast<long long>(errors), rate, eta.c_str());
  }
  std::fflush(stderr);
}

void ProgressPrinter::finish() {
  if (terminal_ && total_ > 0) std::fprintf(stderr, "\n");
}

}  // namespace pomona
