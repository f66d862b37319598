#pragma once
// DirectoryLock: one writer per output directory. The lock is an advisory flock(2) on
// DIR/.lock, held for the object's lifetime; the file holds the holder's PID, so a second
// writer fails at once naming it. The kernel drops a flock when its holder exits, killed or
// not, so a lock file left by a dead process is simply taken over (and its PID reported as
// gone). flock locks the open file description: the lock holds across threads of the process,
// and a second DirectoryLock on the same directory in the same process fails too.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "rlhf/core/error.hpp"

namespace rlhf::files {

inline constexpr std::string_view lock_file_name = ".lock";

class DirectoryLock {
 public:
  DirectoryLock() = default;
  // Creates `dir` if needed and locks it, or fails naming the process that holds it.
  explicit DirectoryLock(const std::filesystem::path& dir) : path_(dir / lock_file_name) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) fail(dir.string(), ": cannot create the directory: ", ec.message());
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) fail(path_.string(), ": cannot open the lock file: ", std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      const std::string holder = read_pid();
      ::close(std::exchange(fd_, -1));
      if (err == EWOULDBLOCK)
        fail(dir.string(), ": in use by another run (process ", holder.empty() ? "unknown" : holder, " holds ",
             path_.string(), "); wait for it to finish, or write to another directory");
      fail(path_.string(), ": cannot lock: ", std::strerror(err));
    }
    previous_holder_ = read_pid();
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != ssize_t(pid.size())) {
      const int err = errno;
      release();
      fail(path_.string(), ": cannot write the lock file: ", std::strerror(err));
    }
  }
  DirectoryLock(DirectoryLock&& other) noexcept
      : path_(std::move(other.path_)),
        fd_(std::exchange(other.fd_, -1)),
        previous_holder_(std::move(other.previous_holder_)) {}
  DirectoryLock& operator=(DirectoryLock&& other) noexcept {
    if (this != &other) {
      release();
      path_ = std::move(other.path_);
      fd_ = std::exchange(other.fd_, -1);
      previous_holder_ = std::move(other.previous_holder_);
    }
    return *this;
  }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  ~DirectoryLock() { release(); }

  bool held() const { return fd_ >= 0; }
  // The PID a dead holder left in the lock file ("" if none): the run that was interrupted.
  const std::string& previous_holder() const { return previous_holder_; }

  // Unlocks (the file stays: removing it would race with a process about to lock it).
  void release() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));  // closing the descriptor drops the flock
  }

 private:
  std::string read_pid() const {
    char buf[32] = {};
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    std::string s(buf, n > 0 ? std::size_t(n) : 0);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  std::filesystem::path path_;
  int fd_ = -1;
  std::string previous_holder_;
};

}  // namespace rlhf::files
