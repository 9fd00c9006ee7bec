// read_keras_layers_in_child: fork, read with HDF5 in the child, stream the arrays back.
//
// The answer on the pipe, in the machine's byte order (both ends are the same program):
//   u8 kind = kLayers: u64 layer count, then per layer: u64 name size, name bytes, u64 tensor
//     count, then per tensor: u64 rank, rank x i64 dims, product(dims) x f32 values
//   u8 kind = kError: i32 exit code, u64 message size, message bytes
//   then u64 kEndMark.
// The parent trusts nothing in it: a child whose memory HDF5 corrupted may send anything, so
// every count is bounded before it allocates, and only a complete answer from a child that
// exited with status 0 is used.
#include "weights_sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "pomona/error.h"

namespace pomona {
namespace {

constexpr uint8_t kLayers = 1;
constexpr uint8_t kError = 2;
constexpr uint64_t kEndMark = 0x706f6d6f6e615f6bULL;
// Bounds on the parts of an answer that have no bound of their own.
constexpr uint64_t kMaxNameBytes = 1 << 16;
constexpr uint64_t kMaxLayers = 1 << 20;
constexpr uint64_t kMaxRank = 32;  // HDF5's own limit

std::string damaged_message(const std::string& path, const std::string& how) {
  return "weights file " + path + " is damaged (" + how + "): download or save the weights again";
}

// ---- child side ----

// Writes to the pipe or ends the child: a parent that stopped reading has given up on it.
class PipeWriter {
 public:
  explicit PipeWriter(int fd) : fd_(fd) {}
  void bytes(const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      const ssize_t n = ::write(fd_, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) _exit(1);
      p += n;
      size -= n;
    }
  }
  template <typename T>
  void value(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes(&v, sizeof v);
  }
  void text(const std::string& s) {
    value<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }

 private:
  int fd_;
};

void send_layers(PipeWriter& out, const KerasLayers& layers) {
  out.value(kLayers);
  out.value<uint64_t>(layers.size());
  for (const auto& [name, tensors] : layers) {
    out.text(name);
    out.value<uint64_t>(tensors.size());
    for (const WeightTensor& tensor : tensors) {
      out.value<uint64_t>(tensor.shape.size());
      out.bytes(tensor.shape.data(), tensor.shape.size() * sizeof(int64_t));
      out.bytes(tensor.values.data(), tensor.values.size() * sizeof(float));
    }
  }
}

void send_error(PipeWriter& out, ExitCode code, const std::string& message) {
  out.value(kError);
  out.value(static_cast<int32_t>(code));
  out.text(message);
}

// The inherited virtual size plus the allowance, so that HDF5 allocating for a damaged size
// fails (and the child with it) instead of swapping the machine.
void limit_address_space(size_t extra_bytes) {
  unsigned long pages = 0;
  if (std::FILE* statm = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(statm, "%lu", &pages) != 1) pages = 0;
    std::fclose(statm);
  }
  if (pages == 0) return;
  const rlim_t limit = pages * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) + extra_bytes;
  const rlimit address_space{limit, limit};
  setrlimit(RLIMIT_AS, &address_space);
}

[[noreturn]] void run_child(int fd, std::span<const uint8_t> file, const std::string& path,
                            const SandboxLimits& limits) {
  // A crash here is the parent's to report, in one line: handlers inherited from the embedding
  // process (Python's faulthandler, sanitizers) would print a report of their own, and a core
  // dump of HDF5 helps nobody.
  for (int signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(signal, SIG_DFL);
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  limit_address_space(limits.extra_address_space_bytes);

  PipeWriter out(fd);
  try {
    const KerasLayers layers = read_keras_layers(file, path);
    send_layers(out, layers);
  } catch (const JobError& e) {
    send_error(out, e.code(), e.what());
  } catch (const std::bad_alloc&) {  // the address space limit was reached
    send_error(out, ExitCode::kConfiguration,
               damaged_message(path, "reading it needs more memory than Keras weights do"));
  }
  out.value(kEndMark);
  _exit(0);
}

// ---- parent side ----

// Thrown by PipeReader when the answer stops short, is malformed or comes too late.
struct AnswerFailed {
  std::string how;
};

class PipeReader {
 public:
  PipeReader(int fd, std::chrono::milliseconds timeout)
      : fd_(fd), deadline_(std::chrono::steady_clock::now() + timeout), timeout_(timeout) {}

  void bytes(void* data, size_t size) {
    char* p = static_cast<char*>(data);
    while (size > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline_ - std::chrono::steady_clock::now());
      pollfd readable{fd_, POLLIN, 0};
      const int ready = left.count() > 0 ? ::poll(&readable, 1, static_cast<int>(left.count())) : 0;
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%g", timeout_.count() / 1000.0);
        throw AnswerFailed{std::string("HDF5 was still reading it after ") + seconds + " s"};
      }
      const ssize_t n = ready > 0 ? ::read(fd_, p, size) : -1;
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw AnswerFailed{"HDF5 crashed reading it"};
      p += n;
      size -= n;
    }
  }
  template <typename T>
  T value() {
    T v;
    bytes(&v, sizeof v);
    return v;
  }
  uint64_t count(uint64_t at_most) {
    const auto n = value<uint64_t>();
    if (n > at_most) throw AnswerFailed{"HDF5 crashed reading it"};
    return n;
  }
  std::string text() {
    std::string s(count(kMaxNameBytes), '\0');
    bytes(s.data(), s.size());
    return s;
  }

 private:
  int fd_;
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::milliseconds timeout_;
};

KerasLayers receive_layers(PipeReader& in) {
  KerasLayers layers;
  uint64_t values_left = kMaxWeightValues;
  for (uint64_t layer = in.count(kMaxLayers); layer > 0; --layer) {
    std::vector<WeightTensor>& tensors = layers[in.text()];
    for (uint64_t tensor = in.count(kMaxWeightValues); tensor > 0; --tensor) {
      WeightTensor& t = tensors.emplace_back();
      t.shape.resize(in.count(kMaxRank));
      in.bytes(t.shape.data(), t.shape.size() * sizeof(int64_t));
      uint64_t size = 1;
      for (int64_t d : t.shape) {
        if (d < 0 || static_cast<uint64_t>(d) > values_left || size * d > values_left) {
          throw AnswerFailed{"HDF5 crashed reading it"};
        }
        size *= d;
      }
      values_left -= size;
      t.values.resize(size);
      in.bytes(t.values.data(), size * sizeof(float));
    }
  }
  return layers;
}

// Reads the whole answer: the layers, or the child's JobError thrown here.
KerasLayers receive_answer(PipeReader& in) {
  const auto kind = in.value<uint8_t>();
  KerasLayers layers;
  if (kind == kLayers) {
    layers = receive_layers(in);
  } else if (kind == kError) {
    const auto code = static_cast<ExitCode>(in.value<int32_t>());
    std::string message = in.text();
    if (in.value<uint64_t>() != kEndMark) throw AnswerFailed{"HDF5 crashed reading it"};
    throw JobError(code, message);
  } else {
    throw AnswerFailed{"HDF5 crashed reading it"};
  }
  if (in.value<uint64_t>() != kEndMark) throw AnswerFailed{"HDF5 crashed reading it"};
  return layers;
}

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Reaps the child on every path out of the parent; kills it first unless it answered in full.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      wait();
    }
  }
  // The child's exit status as waitpid reports it; -1 when it cannot be known (SIGCHLD ignored
  // by the embedding process reaps children itself).
  int wait() {
    int status = -1;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

}  // namespace

KerasLayers read_keras_layers_in_child(std::span<const uint8_t> file, const std::string& path,
                                       const SandboxLimits& limits) {
  int ends[2];
  if (pipe2(ends, O_CLOEXEC) != 0) {
    throw JobError(ExitCode::kInputOutput,
                   "cannot read weights file " + path + ": pipe: " + std::strerror(errno));
  }
  Fd read_end(ends[0]), write_end(ends[1]);
  // Fewer round trips for the ~14 MB of a full-size model; a refusal only costs speed.
  fcntl(read_end.get(), F_SETPIPE_SZ, 1 << 20);
  const pid_t pid = fork();
  if (pid < 0) {
    throw JobError(ExitCode::kInputOutput,
                   "cannot read weights file " + path + ": fork: " + std::strerror(errno));
  }
  if (pid == 0) {
    read_end.reset();
    run_child(write_end.get(), file, path, limits);
  }
  Child child(pid);
  write_end.reset();  // so a child that dies gives end of file
  PipeReader in(read_end.get(), limits.timeout);
  try {
    KerasLayers layers = receive_answer(in);
    const int status = child.wait();
    if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      throw AnswerFailed{"HDF5 crashed reading it"};
    }
    return layers;
  } catch (const AnswerFailed& failed) {
    throw JobError(ExitCode::kConfiguration, damaged_message(path, failed.how));
  }
}

}  // namespace pomona
