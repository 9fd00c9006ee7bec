#include "pomona/files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <set>
#include <thread>

#include "pomona/error.h"
#include "s3_filesystem.h"
#include "temp_folder_for_tests.h"

namespace pomona::files {
namespace {

using pomona::testing::TempFolder;
using ::testing::HasSubstr;
using ::testing::Not;

S3Options endpoint_and_region(std::string endpoint, std::string region = "") {
  S3Options options;
  options.endpoint = std::move(endpoint);
  options.region = std::move(region);
  return options;
}

// Sets environment variables for one test and restores them after.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> values) {
    for (const auto& [name, value] : values) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      value ? setenv(name, value, 1) : unsetenv(name);
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_)
      value ? setenv(name.c_str(), value->c_str(), 1) : unsetenv(name.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// The AWS SDK, started by the S3 option tests, must be shut down before exit.
class FinalizeS3AtExit : public ::testing::Environment {
 public:
  void TearDown() override { finalize_s3(); }
};
const auto* const finalize_at_exit = ::testing::AddGlobalTestEnvironment(new FinalizeS3AtExit);

TEST(Locate, PlainPathsAndFileUrisAreLocal) {
  const Location plain = locate("/data/train");
  EXPECT_FALSE(plain.is_s3);
  EXPECT_EQ(plain.path, "/data/train");
  const Location file = locate("file:///data/train");
  EXPECT_FALSE(file.is_s3);
  EXPECT_EQ(file.path, "/data/train");
  EXPECT_EQ(locate("train/Apple").path, "train/Apple");
}

TEST(Locate, S3UriWithoutBucketIsAConfigurationError) {
  for (const char* uri : {"s3://", "s3:///key"}) {
    try {
      locate(uri);
      FAIL() << uri;
    } catch (const JobError& error) {
      EXPECT_EQ(error.code(), ExitCode::kConfiguration);
      EXPECT_THAT(error.what(), HasSubstr("s3://bucket/prefix"));
    }
  }
}

TEST(IsS3Uri, OnlyTheS3Scheme) {
  EXPECT_TRUE(is_s3_uri("s3://bucket/key"));
  EXPECT_FALSE(is_s3_uri("/s3://x"));
  EXPECT_FALSE(is_s3_uri("file:///x"));
  EXPECT_FALSE(is_s3_uri("S3bucket/x"));
}

TEST(JoinUri, AddsOneSlash) {
  EXPECT_EQ(join_uri("s3://bucket/out", "part-00000.parquet"),
            "s3://bucket/out/part-00000.parquet");
  EXPECT_EQ(join_uri("s3://bucket/out/", "_SUCCESS"), "s3://bucket/out/_SUCCESS");
  EXPECT_EQ(join_uri("/tmp/out", "_SUCCESS"), "/tmp/out/_SUCCESS");
}

TEST(UriParts, FolderNameAndTrailingSlashesOfLocalAndS3Uris) {
  EXPECT_EQ(folder_of("s3://bucket/out/x.parquet"), "s3://bucket/out/");
  EXPECT_EQ(folder_of("x.parquet"), "");
  EXPECT_EQ(containing_folder("x.parquet"), ".");
  EXPECT_EQ(containing_folder("/tmp/out/x.parquet"), "/tmp/out/");
  EXPECT_EQ(name_of("s3://bucket/out/x.parquet"), "x.parquet");
  EXPECT_EQ(name_of("x.parquet"), "x.parquet");
  EXPECT_EQ(without_trailing_slashes("s3://bucket/out//"), "s3://bucket/out");
  EXPECT_EQ(without_trailing_slashes("/"), "/");
}

TEST(ArrowS3Options, EndpointUrlGivesSchemeAndHost) {
  ScopedEnv env({{"AWS_ENDPOINT_URL", nullptr}, {"AWS_ENDPOINT_URL_S3", nullptr}});
  const arrow::fs::S3Options s3 = arrow_s3_options(endpoint_and_region("http://127.0.0.1:9000/"));
  EXPECT_EQ(s3.scheme, "http");
  EXPECT_EQ(s3.endpoint_override, "127.0.0.1:9000");
  EXPECT_EQ(arrow_s3_options(endpoint_and_region("minio.local:9000")).scheme, "https");
}

TEST(ArrowS3Options, EnvironmentFillsWhatOptionsLeaveEmpty) {
  ScopedEnv env({{"AWS_ENDPOINT_URL", "http://localhost:4566"},
                 {"AWS_ENDPOINT_URL_S3", nullptr},
                 {"AWS_REGION", nullptr},
                 {"AWS_DEFAULT_REGION", "eu-west-3"}});
  const arrow::fs::S3Options from_env = arrow_s3_options({});
  EXPECT_EQ(from_env.endpoint_override, "localhost:4566");
  EXPECT_EQ(from_env.region, "eu-west-3");
  const arrow::fs::S3Options given =
      arrow_s3_options(endpoint_and_region("s3.example:443", "us-west-2"));
  EXPECT_EQ(given.endpoint_override, "s3.example:443");
  EXPECT_EQ(given.region, "us-west-2");
}

TEST(ArrowS3Options, CarriesTimeoutsRetriesAndAnonymity) {
  S3Options options;
  options.anonymous = true;
  options.connect_timeout_s = 2;
  options.request_timeout_s = 7;
  const arrow::fs::S3Options s3 = arrow_s3_options(options);
  EXPECT_EQ(s3.credentials_kind, arrow::fs::S3CredentialsKind::Anonymous);
  EXPECT_EQ(s3.connect_timeout, 2);
  EXPECT_EQ(s3.request_timeout, 7);
  EXPECT_NE(std::dynamic_pointer_cast<CountingRetryStrategy>(s3.retry_strategy), nullptr);
  EXPECT_EQ(arrow_s3_options({}).credentials_kind, arrow::fs::S3CredentialsKind::Default);
}

TEST(ArrowS3Options, AProfileInTheCredentialsFileWinsOverEnvironmentKeys) {
  TempFolder folder;
  const std::string credentials = folder / "credentials";
  std::ofstream(credentials) << "[other]\naws_access_key_id = OTHER\n\n[reader]\n"
                                "aws_access_key_id = READER\naws_secret_access_key = secret\n";
  ScopedEnv env({{"AWS_SHARED_CREDENTIALS_FILE", credentials.c_str()},
                 {"AWS_CONFIG_FILE", "/dev/null"},
                 {"AWS_ACCESS_KEY_ID", "FROM_ENV"},
                 {"AWS_SECRET_ACCESS_KEY", "wrong"}});
  S3Options options;
  options.profile = "reader";
  EXPECT_EQ(arrow_s3_options(options).credentials_kind, arrow::fs::S3CredentialsKind::Explicit);
  EXPECT_EQ(arrow_s3_options(options).GetAccessKey(), "READER");
  options.profile = "nobody";
  try {
    arrow_s3_options(options);
    FAIL() << "a missing profile was accepted";
  } catch (const JobError& error) {
    EXPECT_EQ(error.code(), ExitCode::kConfiguration);
    EXPECT_THAT(error.what(), HasSubstr("AWS profile 'nobody' is not in " + credentials));
  }
}

TEST(S3OptionsScope, EachSettingsGetTheirFilesystemAndTheOuterOnesComeBack) {
  ScopedEnv env({{"AWS_ENDPOINT_URL", nullptr}, {"AWS_ENDPOINT_URL_S3", nullptr}});
  const S3Options first = endpoint_and_region("http://127.0.0.1:1", "us-east-1");
  const S3Options second = endpoint_and_region("http://127.0.0.1:2", "us-east-1");
  S3OptionsScope outer(first);
  const auto first_fs = locate("s3://bucket/key").fs;
  {
    S3OptionsScope inner(second);
    EXPECT_EQ(S3OptionsScope::current().endpoint, "http://127.0.0.1:2");
    EXPECT_NE(locate("s3://bucket/key").fs, first_fs);
    EXPECT_EQ(locate("s3://bucket/key").fs, locate("s3://other/key").fs);
  }
  EXPECT_EQ(S3OptionsScope::current().endpoint, "http://127.0.0.1:1");
  EXPECT_EQ(locate("s3://bucket/key").fs, first_fs);
  // Another thread has its own scopes: none here, so configure_s3's settings.
  std::thread([&] { EXPECT_EQ(S3OptionsScope::current().endpoint, ""); }).join();
}

arrow::fs::S3RetryStrategy::AWSErrorDetail error(bool retryable) {
  return {.error_type = 0,
          .message = "SlowDown",
          .exception_name = "SlowDown",
          .should_retry = retryable};
}

TEST(CountingRetryStrategy, RetriesRetryableErrorsUpToTheLimitAndCountsThem) {
  std::atomic<int64_t> retries{0};
  CountingRetryStrategy strategy(3, retries);
  EXPECT_TRUE(strategy.ShouldRetry(error(true), 0));
  EXPECT_TRUE(strategy.ShouldRetry(error(true), 2));
  EXPECT_FALSE(strategy.ShouldRetry(error(true), 3));
  EXPECT_FALSE(strategy.ShouldRetry(error(false), 0));  // 403, 404: retrying cannot help
  EXPECT_EQ(retries.load(), 2);
}

TEST(CountingRetryStrategy, DelayIsJitteredBelowAnExponentialCeiling) {
  std::atomic<int64_t> retries{0};
  CountingRetryStrategy strategy(10, retries);
  for (int64_t attempt : {0, 3, 20}) {
    const int64_t ceiling =
        std::min(CountingRetryStrategy::kMaxDelayMs,
                 attempt >= 16 ? CountingRetryStrategy::kMaxDelayMs
                               : CountingRetryStrategy::kBaseDelayMs << attempt);
    std::set<int64_t> delays;
    for (int i = 0; i < 200; ++i) {
      const int64_t delay = strategy.CalculateDelayBeforeNextRetry(error(true), attempt);
      EXPECT_GE(delay, 0);
      EXPECT_LE(delay, ceiling);
      delays.insert(delay);
    }
    EXPECT_GT(delays.size(), 10u) << "no jitter at attempt " << attempt;
  }
}

TEST(ReasonOf, S3FailuresThatStopAJobSayWhatToDoOnOneLine) {
  const std::string denied = reason_of(arrow::Status::IOError(
      "When deleting key 'out/_SUCCESS' in bucket 'b': AWS Error ACCESS_DENIED during "
      "DeleteObject operation:\nAccess Denied"));
  EXPECT_THAT(denied, HasSubstr("access denied: these credentials need"));
  EXPECT_THAT(denied, Not(HasSubstr("\n")));
  EXPECT_THAT(
      reason_of(arrow::Status::IOError("AWS Error INVALID_ACCESS_KEY_ID during ListObjectsV2")),
      HasSubstr("S3 rejected the credentials"));
  EXPECT_THAT(reason_of(arrow::Status::IOError("AWS Error NO_SUCH_BUCKET during ListObjectsV2 "
                                               "operation: The specified bucket does not exist")),
              HasSubstr("no such bucket"));
  EXPECT_EQ(reason_of(arrow::Status::IOError("disk on fire")), "disk on fire");
}

// The CLI names --s3-profile and Python S3Options(profile=...): the message names neither.
TEST(CheckIo, S3FailuresCarryTheSettingToChangeAndNameNoFlag) {
  const auto setting_of = [](const char* aws_error) {
    try {
      check_io(arrow::Status::IOError(aws_error), "read", "s3://b/x");
    } catch (const JobError& error) {
      EXPECT_THAT(error.what(), Not(HasSubstr("--")));
      EXPECT_THAT(error.what(), HasSubstr("cannot read s3://b/x: "));
      return error.setting();
    }
    ADD_FAILURE() << "no JobError for " << aws_error;
    return Setting::kNone;
  };
  EXPECT_EQ(setting_of("AWS Error INVALID_ACCESS_KEY_ID during ListObjectsV2"),
            Setting::kS3Credentials);
  EXPECT_EQ(setting_of("AWS Error NO_SUCH_BUCKET during ListObjectsV2"), Setting::kS3Location);
  EXPECT_EQ(setting_of("AWS Error ACCESS_DENIED during GetObject"), Setting::kNone);
  EXPECT_NO_THROW(check_io(arrow::Status::OK(), "read", "s3://b/x"));
}

TEST(AtomicFile, LocalFileAppearsOnlyWhenPublished) {
  TempFolder folder;
  const std::string uri = folder / "model.parquet";
  {
    AtomicFile file(uri);
    ASSERT_TRUE(file.stream()->Write("abc", 3).ok());
    EXPECT_FALSE(read_file_if_exists(uri).has_value());
    file.publish();
  }
  EXPECT_EQ(read_file_if_exists(uri), "abc");
  EXPECT_EQ(file_names_in(folder.path().string()), std::vector<std::string>{"model.parquet"});
}

TEST(AtomicFile, AbandonedLocalFileLeavesNothing) {
  TempFolder folder;
  {
    AtomicFile file("file://" + (folder / "x.parquet"));
    ASSERT_TRUE(file.stream()->Write("abc", 3).ok());
  }
  EXPECT_TRUE(file_names_in(folder.path().string()).empty());
  std::error_code ignored;
  EXPECT_TRUE(std::filesystem::is_empty(folder.path(), ignored));
}

TEST(FileOperations, RemoveIsQuietForMissingFilesAndListingSkipsFolders) {
  TempFolder folder;
  folder.write("b.txt", "");
  folder.write("a.txt", "");
  folder.write("sub/c.txt", "");
  remove_file(folder / "missing");
  remove_file(folder / "b.txt");
  EXPECT_EQ(file_names_in(folder.path().string()), std::vector<std::string>{"a.txt"});
  EXPECT_TRUE(is_folder(folder / "sub"));
  EXPECT_FALSE(is_folder(folder / "a.txt"));
  EXPECT_TRUE(file_names_in(folder / "missing folder").empty());
}

TEST(CheckWritable, CreatesALocalFolderAndLeavesItEmpty) {
  TempFolder folder;
  const std::string output = folder / "out";
  check_writable(output);
  EXPECT_TRUE(std::filesystem::is_directory(output));
  EXPECT_TRUE(std::filesystem::is_empty(output));
  EXPECT_THROW(check_writable("/proc/pomona-cannot-write-here"), JobError);
}

TEST(TempNames, AreHiddenAndRecognised) {
  const std::string name = temp_name_of("s3://b/out/part-00001.parquet");
  EXPECT_TRUE(name.starts_with(".part-00001.parquet.tmp-"));
  EXPECT_TRUE(is_temp_name(name));
  EXPECT_FALSE(is_temp_name("part-00001.parquet"));
  EXPECT_FALSE(is_temp_name(".part.tmp-x1"));
}

}  // namespace
}  // namespace pomona::files
