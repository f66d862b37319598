#pragma once
// AtomicFile: every output file of the project (checkpoints, config.json, metrics, generated
// JSONL) is written through it, so a reader never sees a half-written file. The bytes go to a
// temporary file beside the target (same directory, hence same file system); commit() flushes
// them to disk (fsync) and renames the temporary over the target, which POSIX makes atomic.
// Until commit() the target is untouched; an exception, a full disk or a crash before it leaves
// the old file (or none) in place, and the destructor removes the temporary.
//
//   rlhf::files::AtomicFile out("run/metrics.json");
//   out.write(text);
//   out.commit();                    // or: rlhf::files::write_file_atomically(path, text);
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "rlhf/core/error.hpp"

namespace rlhf::files {

class AtomicFile {
 public:
  // Creates the temporary file now, so a directory that cannot be written fails here.
  explicit AtomicFile(std::filesystem::path target) : target_(std::move(target)) { open_temporary(); }
  AtomicFile(AtomicFile&& other) noexcept
      : target_(std::move(other.target_)),
        temp_(std::move(other.temp_)),
        fd_(std::exchange(other.fd_, -1)),
        committed_(std::exchange(other.committed_, true)) {}
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile() { discard(); }

  const std::filesystem::path& target() const { return target_; }
  const std::filesystem::path& temporary() const { return temp_; }

  void write(const void* data, std::size_t bytes) {
    require_open("write");
    const char* p = static_cast<const char*>(data);
    while (bytes > 0) {
      const ssize_t n = ::write(fd_, p, bytes);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail_errno("write");
      }
      p += n;
      bytes -= static_cast<std::size_t>(n);
    }
  }
  void write(std::string_view text) { write(text.data(), text.size()); }

  // Makes the new contents durable, then visible under the target name.
  void commit() {
    require_open("commit");
    if (::fsync(fd_) != 0) fail_errno("flush");
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) fail_errno("close");
    std::error_code ec;
    std::filesystem::rename(temp_, target_, ec);
    if (ec) {
      discard();
      fail("cannot write ", target_.string(), ": renaming the temporary file failed: ", ec.message());
    }
    committed_ = true;
    sync_directory();  // best effort: makes the rename itself survive a power cut
  }

  // Drops what was written; the target stays as it was. Called by the destructor.
  void discard() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    if (!committed_ && !temp_.empty()) {
      std::error_code ignored;
      std::filesystem::remove(temp_, ignored);
      committed_ = true;  // nothing left to clean up
    }
  }

 private:
  void open_temporary() {
    if (target_.filename().empty()) fail("cannot write ", target_.string(), ": not a file name");
    const std::filesystem::path dir = target_.has_parent_path() ? target_.parent_path() : std::filesystem::path(".");
    // A hidden name that says what it is for; O_EXCL makes a collision retry, never a clobber.
    // Mode 0666 lets the umask decide, as for any other new file (mkstemp would force 0600).
    static std::atomic<unsigned> counter{0};
    std::random_device entropy;
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::string name = ".";  // appended piece by piece: GCC 12 warns falsely on "." + string
      name += target_.filename().string();
      name += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
              std::to_string(entropy() % 1000000u);
      temp_ = dir / name;
      fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) {
        committed_ = false;
        return;
      }
      if (errno != EEXIST) {
        const int err = errno;
        temp_.clear();
        fail("cannot write ", target_.string(), ": cannot create a file in ", dir.string(), ": ", std::strerror(err));
      }
    }
    temp_.clear();
    fail("cannot write ", target_.string(), ": no free temporary file name in ", dir.string());
  }

  void sync_directory() const noexcept {
    const std::filesystem::path dir = target_.has_parent_path() ? target_.parent_path() : std::filesystem::path(".");
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      (void)::fsync(fd);
      ::close(fd);
    }
  }

  void require_open(const char* what) const {
    if (fd_ < 0) fail("cannot ", what, " ", target_.string(), ": the file was already committed or discarded");
  }

  [[noreturn]] void fail_errno(const char* what) {
    const int err = errno;
    discard();
    fail("cannot write ", target_.string(), ": ", what, " failed: ", std::strerror(err));
  }

  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
  bool committed_ = true;  // true while there is no temporary file to remove
};

// The PID embedded in a temporary name of ours: AtomicFile's ".NAME.tmp-PID-N-R" or a
// checkpoint's ".checkpoint-STEP.partial-PID" (train/run_directory.hpp); 0 if `name` is neither.
inline pid_t temporary_owner(const std::string& name) {
  if (name.empty() || name[0] != '.') return 0;
  std::size_t at = name.rfind(".tmp-");
  std::size_t skip = 5;
  if (at == std::string::npos) {
    at = name.rfind(".partial-");
    skip = 9;
  }
  if (at == std::string::npos) return 0;
  long pid = 0;
  std::size_t i = at + skip;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) pid = pid * 10 + (name[i] - '0');
  return i > at + skip && pid > 0 && pid < (1L << 30) ? pid_t(pid) : 0;
}

// Whether `name` is a temporary of ours whose writer is gone (killed before commit or discard):
// safe to remove, since no live process will commit it. A temporary of a live process, or a
// PID that was reused, is left alone.
inline bool is_orphaned_temporary(const std::string& name) {
  const pid_t owner = temporary_owner(name);
  return owner > 0 && owner != ::getpid() && ::kill(owner, 0) != 0 && errno == ESRCH;
}

// The whole contents at once.
inline void write_file_atomically(const std::filesystem::path& target, std::string_view bytes) {
  AtomicFile out(target);
  out.write(bytes);
  out.commit();
}

}  // namespace rlhf::files
