// Files named by URIs (include/pomona/files.h) and S3 configuration (include/pomona/io.h).
#include "pomona/files.h"

#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>

#include "pomona/error.h"
#include "s3_filesystem.h"

namespace pomona {
namespace files {
namespace {

constexpr std::string_view kS3Scheme = "s3://";
constexpr std::string_view kFileScheme = "file://";
constexpr std::string_view kTempInfix = ".tmp-";

std::atomic<int64_t> retries_so_far{0};

// The process's S3 settings (configure_s3) and its S3FileSystems, one per distinct settings
// and AWS environment, each made on first use.
struct S3State {
  std::mutex mutex;
  S3Options options;
  std::map<std::string, std::shared_ptr<arrow::fs::FileSystem>> filesystems;
};

S3State& s3_state() {
  static S3State state;
  return state;
}

// The innermost S3OptionsScope of this thread, if any.
thread_local const S3Options* scoped_options = nullptr;

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// What makes two S3FileSystems differ: the settings and the AWS_* variables the SDK reads.
std::string filesystem_key(const S3Options& options) {
  std::ostringstream key;
  key << options.endpoint << '\n'
      << options.region << '\n'
      << options.profile << '\n'
      << options.anonymous << '\n'
      << options.retries << '\n'
      << options.connect_timeout_s << '\n'
      << options.request_timeout_s << '\n';
  std::vector<std::string> aws;
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (std::string_view(*variable).starts_with("AWS_")) aws.emplace_back(*variable);
  }
  std::sort(aws.begin(), aws.end());
  for (const std::string& variable : aws) key << variable << '\n';
  return key.str();
}

std::shared_ptr<arrow::fs::FileSystem> s3_filesystem() {
  S3State& state = s3_state();
  std::lock_guard lock(state.mutex);
  const S3Options options = scoped_options ? *scoped_options : state.options;
  std::shared_ptr<arrow::fs::FileSystem>& fs = state.filesystems[filesystem_key(options)];
  if (fs) return fs;
  // The profile is read by the AWS SDK's region lookup and credential chain when the filesystem
  // is made; the variable is restored after, so that other settings are made as they were.
  struct RestoreProfile {
    std::optional<std::string> saved;
    ~RestoreProfile() {
      saved ? setenv("AWS_PROFILE", saved->c_str(), 1) : unsetenv("AWS_PROFILE");
    }
  } restore{std::getenv("AWS_PROFILE") ? std::optional<std::string>(std::getenv("AWS_PROFILE"))
                                       : std::nullopt};
  if (!options.profile.empty()) setenv("AWS_PROFILE", options.profile.c_str(), 1);
  const auto result = arrow::fs::S3FileSystem::Make(arrow_s3_options(options));
  if (!result.ok()) {
    throw JobError(ExitCode::kInputOutput, "cannot connect to S3: " + reason_of(result.status()));
  }
  fs = *result;
  return fs;
}

// The key = value pairs of one [section] of an AWS ini file; nullopt when it has no such section.
std::optional<std::map<std::string, std::string>> ini_section(const std::string& file,
                                                              const std::string& section) {
  std::ifstream in(file);
  std::optional<std::map<std::string, std::string>> found;
  bool inside = false;
  const auto trim = [](std::string text) {
    const size_t first = text.find_first_not_of(" \t\r");
    if (first == std::string::npos) return std::string();
    return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
  };
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (line.starts_with("[") && line.ends_with("]")) {
      inside = trim(line.substr(1, line.size() - 2)) == section;
      if (inside && !found) found.emplace();
    } else if (inside && line.find('=') != std::string::npos) {
      const size_t equals = line.find('=');
      (*found)[trim(line.substr(0, equals))] = trim(line.substr(equals + 1));
    }
  }
  return found;
}

std::string home_file(const char* variable, const char* under_home) {
  return env_or(variable, env_or("HOME", "") + under_home);
}

}  // namespace

Location locate(const std::string& uri) {
  if (is_s3_uri(uri)) {
    std::string path = without_trailing_slashes(uri.substr(kS3Scheme.size()));
    if (path.empty() || path.front() == '/') {
      throw JobError(ExitCode::kConfiguration, "bad S3 URI " + uri + ": write s3://bucket/prefix");
    }
    return Location{s3_filesystem(), std::move(path), true};
  }
  static const auto local = std::make_shared<arrow::fs::LocalFileSystem>();
  std::string path = uri.starts_with(kFileScheme) ? uri.substr(kFileScheme.size()) : uri;
  return Location{local, std::move(path), false};
}

std::string join_uri(std::string_view folder, std::string_view name) {
  std::string joined(folder);
  if (!joined.empty() && joined.back() != '/') joined += '/';
  joined += name;
  return joined;
}

std::string without_trailing_slashes(std::string uri) {
  while (uri.size() > 1 && uri.back() == '/') uri.pop_back();
  return uri;
}

std::string folder_of(std::string_view uri) {
  const size_t slash = uri.rfind('/');
  return std::string(slash == std::string_view::npos ? std::string_view()
                                                     : uri.substr(0, slash + 1));
}

std::string containing_folder(std::string_view uri) {
  std::string folder = folder_of(uri);
  return folder.empty() ? "." : folder;
}

std::string name_of(std::string_view uri) {
  const size_t slash = uri.rfind('/');
  return std::string(slash == std::string_view::npos ? uri : uri.substr(slash + 1));
}

void initialize_s3() {
  static std::once_flag once;
  static arrow::Status status;
  std::call_once(once, [] {
    arrow::fs::S3GlobalOptions global = arrow::fs::S3GlobalOptions::Defaults();
    global.install_sigpipe_handler = true;  // a dropped connection must not kill the process
    status = arrow::fs::InitializeS3(global);
  });
  if (!status.ok()) {
    throw JobError(ExitCode::kInputOutput, "cannot initialise S3: " + reason_of(status));
  }
}

arrow::fs::S3Options arrow_s3_options(const S3Options& options) {
  // The AWS SDK must be up before its credential providers are made.
  initialize_s3();
  arrow::fs::S3Options s3 =
      options.anonymous ? arrow::fs::S3Options::Anonymous() : arrow::fs::S3Options::Defaults();
  s3.region = options.region;
  if (s3.region.empty()) s3.region = env_or("AWS_REGION", env_or("AWS_DEFAULT_REGION", ""));
  std::string endpoint = options.endpoint;
  if (endpoint.empty()) endpoint = env_or("AWS_ENDPOINT_URL_S3", env_or("AWS_ENDPOINT_URL", ""));
  for (const char* scheme : {"http", "https"}) {
    const std::string prefix = std::string(scheme) + "://";
    if (endpoint.starts_with(prefix)) {
      s3.scheme = scheme;
      endpoint = endpoint.substr(prefix.size());
    }
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  s3.endpoint_override = endpoint;
  s3.connect_timeout = options.connect_timeout_s;
  s3.request_timeout = options.request_timeout_s;
  s3.retry_strategy = std::make_shared<CountingRetryStrategy>(options.retries, retries_so_far);
  if (!options.profile.empty() && !options.anonymous) {
    const std::string credentials = home_file("AWS_SHARED_CREDENTIALS_FILE", "/.aws/credentials");
    const std::string config = home_file("AWS_CONFIG_FILE", "/.aws/config");
    const auto keys = ini_section(credentials, options.profile);
    if (keys && keys->contains("aws_access_key_id") && keys->contains("aws_secret_access_key")) {
      // The profile named wins over keys in the environment, which the SDK's chain asks first.
      s3.ConfigureAccessKey(
          keys->at("aws_access_key_id"), keys->at("aws_secret_access_key"),
          keys->contains("aws_session_token") ? keys->at("aws_session_token") : "");
    } else if (!keys &&
               !ini_section(config, options.profile == "default" ? "default"
                                                                 : "profile " + options.profile)) {
      throw JobError(ExitCode::kConfiguration, "AWS profile '" + options.profile + "' is not in " +
                                                   credentials + " nor " + config +
                                                   ": add it there, or name another profile");
    }
  }
  return s3;
}

bool CountingRetryStrategy::ShouldRetry(const AWSErrorDetail& error, int64_t attempted_retries) {
  if (!error.should_retry || attempted_retries >= max_retries_) return false;
  // An endpoint that refuses connections or does not resolve is down or mistyped, not throttled:
  // backing off ten times would take half a minute to say so (curl codes 6 and 7).
  if (is_connect_failure(error.message) && attempted_retries >= kMaxConnectRetries) return false;
  retries_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool CountingRetryStrategy::is_connect_failure(const std::string& message) {
  for (const char* sign :
       {"curlCode: 6,", "curlCode: 7,", "Couldn't connect", "Could not resolve"}) {
    if (message.find(sign) != std::string::npos) return true;
  }
  return false;
}

int64_t CountingRetryStrategy::CalculateDelayBeforeNextRetry(const AWSErrorDetail&,
                                                             int64_t attempted_retries) {
  const int64_t ceiling = attempted_retries >= 16
                              ? kMaxDelayMs
                              : std::min(kMaxDelayMs, kBaseDelayMs << attempted_retries);
  thread_local std::minstd_rand random(std::random_device{}());
  return std::uniform_int_distribution<int64_t>(0, ceiling)(random);
}

std::string temp_name_of(std::string_view final_name) {
  std::string name = ".";
  name += name_of(final_name);
  name += kTempInfix;
  name += std::to_string(getpid());
  return name;
}

bool is_temp_name(const std::string& name) {
  const size_t infix = name.rfind(kTempInfix);
  return name.starts_with(".") && infix != std::string::npos &&
         infix + kTempInfix.size() < name.size() &&
         name.find_first_not_of("0123456789", infix + kTempInfix.size()) == std::string::npos;
}

AtomicFile::AtomicFile(std::string uri) : uri_(std::move(uri)), location_(locate(uri_)) {
  if (location_.is_s3) {
    stream_ = check_io(location_.fs->OpenOutputStream(location_.path), "create", uri_);
    return;
  }
  temp_path_ = folder_of(location_.path) + temp_name_of(location_.path);
  local_stream_ = check_io(arrow::io::FileOutputStream::Open(temp_path_), "create", uri_);
  stream_ = local_stream_;
}

AtomicFile::~AtomicFile() {
  if (published_) return;
  (void)stream_->Abort();
  if (!location_.is_s3) {
    std::error_code ignored;
    std::filesystem::remove(temp_path_, ignored);
  }
}

void AtomicFile::publish() {
  if (location_.is_s3) {
    check_io(stream_->Close(), "write", uri_);
    published_ = true;
    return;
  }
  // Without fsync a crash after the rename could leave a published file with missing bytes.
  if (fsync(local_stream_->file_descriptor()) != 0) {
    throw JobError(ExitCode::kInputOutput, "cannot write " + uri_ + ": " + std::strerror(errno));
  }
  check_io(stream_->Close(), "write", uri_);
  std::error_code error;
  std::filesystem::rename(temp_path_, location_.path, error);
  if (error) {
    throw JobError(ExitCode::kInputOutput, "cannot publish " + uri_ + ": " + error.message());
  }
  published_ = true;
}

void write_file_atomically(const std::string& uri, std::string_view contents) {
  AtomicFile file(uri);
  check_io(file.stream()->Write(contents.data(), static_cast<int64_t>(contents.size())), "write",
           uri);
  file.publish();
}

std::optional<std::string> read_file_if_exists(const std::string& uri) {
  const Location location = locate(uri);
  const arrow::fs::FileInfo info = check_io(location.fs->GetFileInfo(location.path), "read", uri);
  if (info.type() == arrow::fs::FileType::NotFound) return std::nullopt;
  auto file = check_io(location.fs->OpenInputFile(info), "read", uri);
  const int64_t size = check_io(file->GetSize(), "read", uri);
  std::string contents(size, '\0');
  const int64_t read = check_io(file->ReadAt(0, size, contents.data()), "read", uri);
  contents.resize(read);
  return contents;
}

std::shared_ptr<arrow::io::RandomAccessFile> open_input_file(const std::string& uri) {
  const Location location = locate(uri);
  return check_io(location.fs->OpenInputFile(location.path), "read", uri);
}

bool is_folder(const std::string& uri) {
  const Location location = locate(uri);
  auto info = location.fs->GetFileInfo(location.path);
  return info.ok() && info->IsDirectory();
}

void check_bucket_exists(const Location& location, const std::string& uri) {
  const std::string bucket = location.path.substr(0, location.path.find('/'));
  const arrow::fs::FileInfo info = check_io(location.fs->GetFileInfo(bucket), "reach", uri);
  if (info.type() == arrow::fs::FileType::NotFound) {
    throw JobError(ExitCode::kInputOutput,
                   "no such bucket '" + bucket + "' for " + uri +
                       ": check the bucket name, the S3 endpoint and the S3 region",
                   Setting::kS3Location);
  }
}

void make_folder(const std::string& uri) {
  const Location location = locate(uri);
  if (location.is_s3) {
    // S3 needs no folders, but a missing bucket must stop the job now, not at the first upload.
    check_bucket_exists(location, uri);
    return;
  }
  std::error_code error;
  std::filesystem::create_directories(location.path, error);
  if (error) {
    throw JobError(ExitCode::kInputOutput,
                   "cannot create output folder " + uri + ": " + error.message());
  }
}

std::vector<std::string> file_names_in(const std::string& folder) {
  const Location location = locate(folder);
  arrow::fs::FileSelector selector;
  selector.base_dir = location.path;
  selector.allow_not_found = true;
  const auto entries = check_io(location.fs->GetFileInfo(selector), "read folder", folder);
  std::vector<std::string> names;
  for (const arrow::fs::FileInfo& entry : entries) {
    if (entry.IsFile()) names.push_back(entry.base_name());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void remove_file(const std::string& uri) {
  const Location location = locate(uri);
  if (!location.is_s3) {
    std::error_code error;
    std::filesystem::remove(location.path, error);
    if (error)
      throw JobError(ExitCode::kInputOutput, "cannot remove " + uri + ": " + error.message());
    return;
  }
  const arrow::fs::FileInfo info = check_io(location.fs->GetFileInfo(location.path), "remove", uri);
  if (info.type() != arrow::fs::FileType::NotFound) {
    check_io(location.fs->DeleteFile(location.path), "remove", uri);
  }
}

void remove_temp_files(const std::string& folder, const std::string& prefix) {
  for (const std::string& name : file_names_in(folder)) {
    if (is_temp_name(name) && std::string_view(name).substr(1).starts_with(prefix)) {
      remove_file(join_uri(folder, name));
    }
  }
}

void remove_temp_files_of(const std::string& output_file) {
  const std::string name = name_of(output_file);
  remove_temp_files(containing_folder(output_file), name.substr(0, name.rfind('.') + 1));
}

void sync_folder(const std::string& uri) {
  const Location location = locate(uri);
  if (location.is_s3) return;
  const int fd = ::open(location.path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0 || fsync(fd) != 0) {
    const std::string reason = std::strerror(errno);
    if (fd >= 0) close(fd);
    throw JobError(ExitCode::kInputOutput, "cannot sync " + uri + ": " + reason);
  }
  close(fd);
}

}  // namespace files

void check_writable(const std::string& folder) {
  // On S3 the probe's own upload says what is wrong (no bucket, refused credentials, denied).
  if (!files::locate(folder).is_s3) files::make_folder(folder);
  std::string probe = "_pomona_write_probe-";
  std::random_device random;
  for (int i = 0; i < 4; ++i) probe += std::to_string(random());
  const std::string uri = files::join_uri(folder, probe);
  files::write_file_atomically(uri, "pomona write probe");
  files::remove_file(uri);
}

S3OptionsScope::S3OptionsScope(const S3Options& options)
    : options_(options), outer_(files::scoped_options) {
  files::scoped_options = &options_;
}

S3OptionsScope::~S3OptionsScope() { files::scoped_options = outer_; }

S3Options S3OptionsScope::current() {
  if (files::scoped_options) return *files::scoped_options;
  files::S3State& state = files::s3_state();
  std::lock_guard lock(state.mutex);
  return state.options;
}

void configure_s3(const S3Options& options) {
  files::S3State& state = files::s3_state();
  std::lock_guard lock(state.mutex);
  state.options = options;
}

bool is_s3_uri(std::string_view uri) { return uri.starts_with(files::kS3Scheme); }

int64_t s3_retry_count() { return files::retries_so_far.load(std::memory_order_relaxed); }

void finalize_s3() {
  files::S3State& state = files::s3_state();
  std::lock_guard lock(state.mutex);
  state.filesystems.clear();
  if (arrow::fs::IsS3Initialized()) (void)arrow::fs::FinalizeS3();
}

}  // namespace pomona
