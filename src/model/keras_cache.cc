// Keras' published MobileNetV2 weights: their names, URL, cache folder, and download.
// Mirrors keras.applications.MobileNetV2 and keras.utils.get_file so that Pomona and Keras
// share one cache.
#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "http_download.h"
#include "pomona/error.h"
#include "pomona/model.h"

namespace pomona {
namespace {

namespace fs = std::filesystem;

constexpr const char* kKerasBaseUrl =
    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/";

// Python's str(float(alpha)): the shortest digits that read back as alpha, with ".0" for
// whole numbers ("1.0", "0.35", "1.3"). Shortest-for-float equals Python's repr of the
// double the user typed for every alpha Keras accepts.
std::string python_float_str(float value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string text(buffer, end);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

std::string home_dir() {
  if (const char* home = std::getenv("HOME"); home && *home) return home;
  if (const passwd* entry = getpwuid(getuid())) return entry->pw_dir;
  return "/tmp";
}

std::string base_url() {
  // A mirror, or a local server in tests.
  const char* override_url = std::getenv("POMONA_WEIGHTS_BASE_URL");
  std::string url = override_url && *override_url ? override_url : kKerasBaseUrl;
  if (url.back() != '/') url += '/';
  return url;
}

}  // namespace

std::string keras_weights_file_name(const MobileNetV2Spec& spec, bool include_top) {
  return "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_" + python_float_str(spec.alpha) + "_" +
         std::to_string(spec.size) + (include_top ? "" : "_no_top") + ".h5";
}

std::string keras_weights_url(const MobileNetV2Spec& spec, bool include_top) {
  return base_url() + keras_weights_file_name(spec, include_top);
}

std::string keras_cache_dir() {
  const char* keras_home = std::getenv("KERAS_HOME");
  fs::path base =
      keras_home && *keras_home ? fs::path(keras_home) : fs::path(home_dir()) / ".keras";
  // As keras.utils.get_file: a cache Keras cannot write to is replaced by /tmp/.keras.
  std::error_code ignored;
  if (fs::exists(base, ignored) && access(base.c_str(), W_OK) != 0) base = "/tmp/.keras";
  return (base / "models").string();
}

std::string find_cached_weights(const MobileNetV2Spec& spec) {
  std::error_code ignored;
  for (bool include_top : {true, false}) {
    const fs::path path = fs::path(keras_cache_dir()) / keras_weights_file_name(spec, include_top);
    if (fs::is_regular_file(path, ignored)) return path.string();
  }
  return "";
}

std::string fetch_keras_weights(const MobileNetV2Spec& spec, bool include_top) {
  const fs::path dir = keras_cache_dir();
  const fs::path path = dir / keras_weights_file_name(spec, include_top);
  const std::string url = keras_weights_url(spec, include_top);
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    throw JobError(ExitCode::kInputOutput, "cannot create the Keras cache " + dir.string() + ": " +
                                               error.message() +
                                               "; set KERAS_HOME to a writable folder");
  }
  // A download that dies leaves only the temporary file, never a partial file under the name
  // that find_cached_weights() looks for.
  const fs::path partial = path.string() + ".part" + std::to_string(getpid());
  if (const Status downloaded = download_file(url, partial.string()); !downloaded.ok()) {
    fs::remove(partial, error);
    throw JobError(ExitCode::kInputOutput,
                   "cannot download " + url + ": " + downloaded.message() +
                       "; download it yourself into " + dir.string() + " or give a weights file",
                   Setting::kWeights);
  }
  try {
    KerasWeights::load(partial.string());
  } catch (const JobError& e) {
    fs::remove(partial, error);
    throw JobError(ExitCode::kInputOutput, "downloaded " + url + " but it does not load (" +
                                               e.what() + "); try again later");
  }
  fs::rename(partial, path, error);
  if (error) {
    const std::string reason = error.message();
    fs::remove(partial, error);
    throw JobError(ExitCode::kInputOutput,
                   "cannot move the download into " + path.string() + ": " + reason);
  }
  return path.string();
}

}  // namespace pomona
