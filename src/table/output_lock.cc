// OutputLock (include/pomona/table.h): one run per output, on local disks and S3.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "part_file.h"
#include "pomona/error.h"
#include "pomona/files.h"
#include "pomona/io.h"
#include "pomona/table.h"

namespace pomona {
namespace {

using files::join_uri;

constexpr char kLockName[] = "_pomona_lock";

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown-host";
  return name;
}

std::string utc_time(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// What a lock file holds: "pid host start-time run-id [expires-unix-seconds]", one line.
struct Owner {
  std::string pid, host, since, run_id;
  int64_t expires = 0;  // S3 leases only

  std::string line() const {
    std::string text = pid + " " + host + " " + since + " " + run_id;
    if (expires > 0) text += " " + std::to_string(expires);
    return text + "\n";
  }
  static Owner parse(const std::string& text) {
    Owner owner;
    std::istringstream(text) >> owner.pid >> owner.host >> owner.since >> owner.run_id >>
        owner.expires;
    return owner;
  }
};

Owner this_run() {
  std::random_device random;
  char id[17];
  std::snprintf(id, sizeof(id), "%08x%08x", random(), random());
  return {.pid = std::to_string(getpid()),
          .host = host_name(),
          .since = utc_time(std::time(nullptr)),
          .run_id = id,
          .expires = 0};
}

[[noreturn]] void throw_busy(const std::string& output, const std::string& lock,
                             const Owner& owner) {
  throw JobError(ExitCode::kInputOutput, output + " is being written by pid " +
                                             (owner.pid.empty() ? "?" : owner.pid) + " on " +
                                             (owner.host.empty() ? "?" : owner.host) + " since " +
                                             (owner.since.empty() ? "?" : owner.since) +
                                             "; wait or remove " + lock + " if that run is dead");
}

// Local disks: flock() on the lock file. The kernel drops the lock when its process dies, however
// it dies, so a stale lock file is simply taken over; its contents only name the owner.
class LocalLock : public OutputLock {
 public:
  LocalLock(const std::string& output, const std::string& lock_uri, Owner owner)
      : owner_(std::move(owner)) {
    path_ = files::locate(lock_uri).path;
    for (;;) {
      fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd_ < 0) fail("create", lock_uri);
      if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        // The owner writes its line just after taking the lock: give it a moment.
        std::string text;
        for (int attempt = 0; attempt < 50 && text.empty(); ++attempt) {
          if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
          text.assign(512, '\0');
          const ssize_t got = pread(fd_, text.data(), text.size(), 0);
          text.resize(got > 0 ? got : 0);
        }
        ::close(fd_);
        if (error == EWOULDBLOCK) throw_busy(output, lock_uri, Owner::parse(text));
        errno = error;
        fail("lock", lock_uri);
      }
      // The owner before us may have removed the file between our open() and flock(): then we
      // hold a lock on a name nobody sees, and start again on the file now there.
      struct stat held {
      }, named{};
      if (fstat(fd_, &held) == 0 && stat(path_.c_str(), &named) == 0 &&
          held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
        break;
      }
      ::close(fd_);
    }
    const std::string line = owner_.line();
    if (ftruncate(fd_, 0) != 0 ||
        pwrite(fd_, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
      fail("write", lock_uri);
    }
  }
  ~LocalLock() override {
    ::unlink(path_.c_str());  // while still held: nobody can take the name in between
    ::close(fd_);
  }
  const std::string& run_id() const override { return owner_.run_id; }

 private:
  [[noreturn]] void fail(const std::string& action, const std::string& uri) {
    throw JobError(ExitCode::kInputOutput,
                   "cannot " + action + " lock " + uri + ": " + std::strerror(errno));
  }

  Owner owner_;
  std::string path_;
  int fd_ = -1;
};

// S3 has no locks: a lease object naming its owner and an expiry, renewed while the run lasts. A
// run that dies stops renewing it, and another run takes it over once expired. S3 offers no
// create-if-absent through Arrow, so two runs starting within the same instant can both write
// it; reading it back after writing catches all but a race of milliseconds.
class S3Lease : public OutputLock {
 public:
  static constexpr int64_t kLeaseSeconds = 30;

  S3Lease(const std::string& output, std::string lock_uri, Owner owner)
      : uri_(std::move(lock_uri)), owner_(std::move(owner)) {
    if (const auto text = files::read_file_if_exists(uri_)) {
      const Owner holder = Owner::parse(*text);
      if (holder.expires > std::time(nullptr)) throw_busy(output, uri_, holder);
    }
    renew();
    const auto text = files::read_file_if_exists(uri_);
    const Owner holder = Owner::parse(text.value_or(""));
    if (holder.run_id != owner_.run_id) throw_busy(output, uri_, holder);
    renewer_ = std::jthread([this](std::stop_token stop) {
      std::condition_variable_any wake;
      std::mutex mutex;
      std::unique_lock lock(mutex);
      while (!wake.wait_for(lock, stop, std::chrono::seconds(kLeaseSeconds / 3),
                            [&stop] { return stop.stop_requested(); })) {
        try {
          renew();
        } catch (const JobError&) {
          // Renewed again at the next tick; a lease lapsing in between only lets another run in
          // after kLeaseSeconds.
        }
      }
    });
  }
  ~S3Lease() override {
    renewer_.request_stop();
    renewer_.join();
    // Released by expiring it now, not by removing it: Arrow's S3 DeleteFile leaves an empty
    // "OUTPUT/" marker object behind, which listings of the output would show.
    try {
      owner_.expires = 1;
      files::write_file_atomically(uri_, owner_.line());
    } catch (const JobError&) {
      // A lease not released expires by itself.
    }
  }
  const std::string& run_id() const override { return owner_.run_id; }

 private:
  void renew() {
    owner_.expires = std::time(nullptr) + kLeaseSeconds;
    files::write_file_atomically(uri_, owner_.line());
  }

  std::string uri_;
  Owner owner_;
  std::jthread renewer_;
};

}  // namespace

std::string output_lock_uri(const std::string& output) {
  if (!is_single_file_output(output)) return join_uri(output, kLockName);
  return files::folder_of(output) + "." + files::name_of(output) + ".lock";
}

std::unique_ptr<OutputLock> OutputLock::acquire(const std::string& output) {
  const std::string uri = output_lock_uri(output);
  files::make_folder(files::containing_folder(uri));
  if (is_s3_uri(output)) return std::make_unique<S3Lease>(output, uri, this_run());
  return std::make_unique<LocalLock>(output, uri, this_run());
}

}  // namespace pomona
