// decode_resize_tool: the image path's throughput without Python in the way, for
// bench/image_bench.py. Prints one JSON line.
//
//   decode_resize_tool decode|decode_resize|draft_resize THREADS SIZE FILE...
//     reads and decodes every file (then resizes to SIZE x SIZE with decode_resized_like_pillow;
//     draft_resize decodes JPEGs at Pillow's draft scale first), on THREADS threads taking files
//     in turn: images_per_second.
//   decode_resize_tool resize WIDTH HEIGHT SIZE ITERATIONS RAW_RGB_FILE
//     resizes one WIDTH x HEIGHT raw RGB image to SIZE x SIZE, ITERATIONS times on this thread:
//     seconds_per_resize.
// Both report peak_rss_mb, the process's peak resident memory.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "pomona/image.h"

namespace {

using Clock = std::chrono::steady_clock;

// One read of the whole file, as pomona's io/ does (an istreambuf_iterator costs as much as a
// small image's decode).
std::vector<uint8_t> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::vector<uint8_t> bytes(static_cast<size_t>(std::max<std::streamoff>(in.tellg(), 0)));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

// VmHWM, not getrusage's ru_maxrss: that one carries over the peak of the process that
// forked this one (a Python bench holding images), across exec.
double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;  // kB
  }
  return 0.0;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int run_files(const std::string& mode, int threads, int size, std::vector<const char*> files) {
  std::atomic<size_t> next{0};
  std::atomic<int> failures{0};
  const auto work = [&] {
    for (size_t i; (i = next++) < files.size();) {
      const std::vector<uint8_t> bytes = read_file(files[i]);
      const pomona::Result<pomona::Rgb8Image> image =
          mode == "decode" ? pomona::decode_image(bytes)
                           : pomona::decode_resized_like_pillow(bytes, size, size,
                                                                mode == "draft_resize" ? size : 0);
      if (!image.ok()) {
        std::fprintf(stderr, "%s: %s\n", files[i], image.error().c_str());
        ++failures;
        continue;
      }
    }
  };
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) workers.emplace_back(work);
  for (auto& worker : workers) worker.join();
  const double seconds = seconds_since(start);
  std::printf(
      "{\"mode\": \"%s\", \"threads\": %d, \"images\": %zu, \"failures\": %d, \"seconds\": %.6f, "
      "\"images_per_second\": %.3f, \"peak_rss_mb\": %.1f}\n",
      mode.c_str(), threads, files.size(), failures.load(), seconds, files.size() / seconds,
      peak_rss_mb());
  return failures == 0 ? 0 : 1;
}

int run_resize(int width, int height, int size, int iterations, const char* path) {
  const pomona::Rgb8Image source{width, height, read_file(path)};
  if (source.pixels.size() != static_cast<size_t>(width) * height * 3) {
    std::fprintf(stderr, "%s: not %dx%d raw RGB\n", path, width, height);
    return 2;
  }
  pomona::resize_like_pillow(source, size, size);  // caches the weights, as a job's first image
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < iterations; ++i) pomona::resize_like_pillow(source, size, size);
  std::printf("{\"mode\": \"resize\", \"seconds_per_resize\": %.9f, \"peak_rss_mb\": %.1f}\n",
              seconds_since(start) / iterations, peak_rss_mb());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "resize" && argc == 7) {
    return run_resize(std::atoi(argv[2]), std::atoi(argv[3]), std::atoi(argv[4]),
                      std::atoi(argv[5]), argv[6]);
  }
  if ((mode == "decode" || mode == "decode_resize" || mode == "draft_resize") && argc >= 5) {
    return run_files(mode, std::atoi(argv[2]), std::atoi(argv[3]),
                     std::vector<const char*>(argv + 4, argv + argc));
  }
  std::fprintf(stderr,
               "usage: %s decode|decode_resize|draft_resize THREADS SIZE FILE...\n"
               "       %s resize WIDTH HEIGHT SIZE ITERATIONS RAW_RGB_FILE\n",
               argv[0], argv[0]);
  return 2;
}
