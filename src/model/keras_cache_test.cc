// Keras' file names, URL and cache folder, and fetch_keras_weights against a local HTTP server
// (python -m http.server) serving the generated weights (fixture keras_test_weights).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "pomona/error.h"
#include "pomona/model.h"

namespace pomona {
namespace {

namespace fs = std::filesystem;

const fs::path kWeightsDir = POMONA_TEST_WEIGHTS_DIR;
const std::string kSmallName = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96.h5";

// Sets (or unsets, with nullopt) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(KerasCache, FileNamesFormatAlphaAsPythonStrOfFloat) {
  const struct {
    MobileNetV2Spec spec;
    bool include_top;
    std::string suffix;
  } cases[] = {{{1.0f, 224}, true, "1.0_224.h5"},         {{0.35f, 96}, false, "0.35_96_no_top.h5"},
               {{1.3f, 224}, true, "1.3_224.h5"},         {{0.75f, 160}, true, "0.75_160.h5"},
               {{1.4f, 224}, false, "1.4_224_no_top.h5"}, {{0.5f, 128}, true, "0.5_128.h5"}};
  for (const auto& c : cases) {
    EXPECT_EQ(keras_weights_file_name(c.spec, c.include_top),
              "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_" + c.suffix);
  }
}

TEST(KerasCache, UrlIsKerasBaseUrlUnlessOverridden) {
  {
    ScopedEnv no_override("POMONA_WEIGHTS_BASE_URL", std::nullopt);
    EXPECT_EQ(keras_weights_url({1.0f, 224}, true),
              "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
              "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5");
  }
  ScopedEnv mirror("POMONA_WEIGHTS_BASE_URL", "http://mirror.example/keras");
  EXPECT_EQ(keras_weights_url({0.35f, 96}, false),
            "http://mirror.example/keras/"
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5");
}

TEST(KerasCache, CacheDirIsKerasHomeModelsElseHomeDotKeras) {
  const fs::path home = fs::path(::testing::TempDir()) / "keras_cache_home";
  fs::create_directories(home);
  {
    ScopedEnv keras_home("KERAS_HOME", (home / "kh").string());
    EXPECT_EQ(keras_cache_dir(), (home / "kh" / "models").string());
  }
  ScopedEnv no_keras_home("KERAS_HOME", std::nullopt);
  ScopedEnv user_home("HOME", home.string());
  EXPECT_EQ(keras_cache_dir(), (home / ".keras" / "models").string());
  fs::remove_all(home);
}

class KerasCacheDir : public ::testing::Test {
 protected:
  void SetUp() override {
    keras_home_ = fs::path(::testing::TempDir()) /
                  ("keras_home_" +
                   std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(keras_home_);
    env_.emplace("KERAS_HOME", keras_home_.string());
  }
  void TearDown() override {
    env_.reset();
    fs::remove_all(keras_home_);
  }
  fs::path models() const { return keras_home_ / "models"; }

  fs::path keras_home_;
  std::optional<ScopedEnv> env_;
};

TEST_F(KerasCacheDir, FindsTopFileFirstThenNoTopElseNothing) {
  const MobileNetV2Spec spec{0.35f, 96};
  EXPECT_EQ(find_cached_weights(spec), "");
  fs::create_directories(models());
  const fs::path no_top = models() / keras_weights_file_name(spec, false);
  std::ofstream(no_top) << "x";
  EXPECT_EQ(find_cached_weights(spec), no_top.string());
  const fs::path top = models() / keras_weights_file_name(spec, true);
  std::ofstream(top) << "x";
  EXPECT_EQ(find_cached_weights(spec), top.string());
  EXPECT_EQ(find_cached_weights({1.0f, 224}), "");
}

// `python -m http.server` on 127.0.0.1 at a free port, serving a folder, for one test.
class LocalHttpServer {
 public:
  explicit LocalHttpServer(const fs::path& root) {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      std::freopen("/dev/null", "w", stderr);  // its request log
      close(out[0]);
      execl(POMONA_PYTHON, POMONA_PYTHON, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
            "--directory", root.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    // It says "Serving HTTP on 127.0.0.1 port 41234 (...)" once it listens.
    std::FILE* said = fdopen(out[0], "r");
    char line[256] = "";
    if (std::fgets(line, sizeof line, said))
      std::sscanf(line, "Serving HTTP on %*s port %d", &port_);
    std::fclose(said);
  }
  ~LocalHttpServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  bool serving() const { return port_ > 0; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// The JobError fetch_keras_weights throws for spec.
JobError fetch_error(const MobileNetV2Spec& spec, bool include_top) {
  try {
    fetch_keras_weights(spec, include_top);
  } catch (const JobError& e) {
    return e;
  }
  ADD_FAILURE() << "fetched";
  return JobError(ExitCode::kOk, "");
}

TEST_F(KerasCacheDir, FetchDownloadsIntoCacheAndChecksItLoads) {
  LocalHttpServer server(kWeightsDir / "models");
  ASSERT_TRUE(server.serving());
  ScopedEnv base_url("POMONA_WEIGHTS_BASE_URL", server.url());
  const MobileNetV2Spec spec{0.35f, 96};
  const std::string path = fetch_keras_weights(spec, true);
  EXPECT_EQ(path, (models() / kSmallName).string());
  EXPECT_EQ(read_all(path), read_all(kWeightsDir / "models" / kSmallName));
  EXPECT_EQ(find_cached_weights(spec), path);
  // Nothing but the file: the temporary download was renamed.
  EXPECT_EQ(std::distance(fs::directory_iterator(models()), fs::directory_iterator()), 1);
}

TEST_F(KerasCacheDir, FetchFailsOnHttpErrorAndLeavesNothingInCache) {
  LocalHttpServer server(kWeightsDir / "models");
  ASSERT_TRUE(server.serving());
  ScopedEnv base_url("POMONA_WEIGHTS_BASE_URL", server.url());
  const MobileNetV2Spec spec{0.35f, 96};  // the server has no _no_top file
  const JobError error = fetch_error(spec, false);
  EXPECT_EQ(error.code(), ExitCode::kInputOutput);
  EXPECT_EQ(std::string(error.what()),
            "cannot download " + keras_weights_url(spec, false) +
                ": The requested URL returned error: 404; download it yourself into " +
                models().string() + " or give a weights file");
  EXPECT_EQ(error.setting(), Setting::kWeights);
  EXPECT_TRUE(fs::is_empty(models()));
}

TEST_F(KerasCacheDir, FetchRejectsADownloadThatIsNotWeights) {
  const fs::path served = keras_home_ / "served";
  fs::create_directories(served);
  const MobileNetV2Spec spec{1.0f, 224};
  std::ofstream(served / keras_weights_file_name(spec, true)) << "<html>captive portal</html>";
  LocalHttpServer server(served);
  ASSERT_TRUE(server.serving());
  ScopedEnv base_url("POMONA_WEIGHTS_BASE_URL", server.url());
  const JobError error = fetch_error(spec, true);
  EXPECT_EQ(error.code(), ExitCode::kInputOutput);
  const std::string message = error.what();
  EXPECT_EQ(message.rfind("downloaded " + keras_weights_url(spec, true) +
                              " but it does not load (weights file ",
                          0),
            0u)
      << message;
  EXPECT_NE(message.find(" is not an HDF5 file"), std::string::npos) << message;
  EXPECT_EQ(find_cached_weights(spec), "");
  EXPECT_TRUE(fs::is_empty(models()));
}

TEST_F(KerasCacheDir, FetchFromUnreachableHostSaysWhatToDo) {
  // Nothing listens on port 1: the connection is refused at once, as when offline.
  ScopedEnv base_url("POMONA_WEIGHTS_BASE_URL", "http://127.0.0.1:1/");
  const MobileNetV2Spec spec{1.0f, 224};
  const JobError error = fetch_error(spec, true);
  EXPECT_EQ(error.code(), ExitCode::kInputOutput);
  const std::string message = error.what();
  const std::string start = "cannot download " + keras_weights_url(spec, true) +
                            ": Failed to connect to 127.0.0.1 port 1";
  const std::string end =
      "; download it yourself into " + models().string() + " or give a weights file";
  EXPECT_EQ(message.rfind(start, 0), 0u) << message;
  EXPECT_EQ(message.substr(message.size() - end.size()), end) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_TRUE(fs::is_empty(models()));
}

}  // namespace
}  // namespace pomona
