#pragma once
// Metrics of a training run: one JSON object per line in a JSONL file (what TRL and
// lm-human-preferences log, by the same names), each line appended whole by write(2) on an
// O_APPEND descriptor, so the file is valid JSONL after any interruption; and a one-line
// progress report for the terminal.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "rlhf/core/error.hpp"

namespace rlhf::train {

class MetricsLog {
 public:
  MetricsLog() = default;  // logs nothing
  // append = false starts a new file; true continues one (a resumed run).
  MetricsLog(const std::filesystem::path& file, bool append) : path_(file) {
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
    fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (append ? 0 : O_TRUNC), 0666);
    if (fd_ < 0) fail("cannot open ", file.string(), " for writing: ", std::strerror(errno));
  }
  MetricsLog(MetricsLog&& other) noexcept : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}
  MetricsLog& operator=(MetricsLog&& other) noexcept {
    if (this != &other) {
      close();
      path_ = std::move(other.path_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~MetricsLog() { close(); }

  // Appends one line. A write that fails part way (a full disk) is cut back off the file, so
  // the file holds whole lines only, and the error says why.
  void write(const nlohmann::json& record) {
    if (fd_ < 0) return;
    const std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    struct stat before {};
    if (::fstat(fd_, &before) != 0) fail("cannot write to ", path_.string(), ": ", std::strerror(errno));
    std::size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n > 0) {
        done += std::size_t(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      const int err = n < 0 ? errno : ENOSPC;
      if (::ftruncate(fd_, before.st_size) != 0) {
        // Best effort: a resume cuts the log back to its checkpoint's length in any case.
      }
      fail("cannot write to ", path_.string(), ": ", std::strerror(err));
    }
  }

 private:
  void close() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

  std::filesystem::path path_;
  int fd_ = -1;
};

// "key value" pairs of the numbers in a record, for a progress line.
inline std::string progress_line(const nlohmann::json& record) {
  std::string line;
  char buf[64];
  for (const auto& [key, value] : record.items()) {
    if (value.is_number_integer())
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(value.get<std::int64_t>()));
    else if (value.is_number()) std::snprintf(buf, sizeof buf, "%.4g", value.get<double>());
    else continue;
    line += (line.empty() ? "" : "  ") + key + " " + buf;
  }
  return line;
}

}  // namespace rlhf::train
