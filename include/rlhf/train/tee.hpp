#pragma once
// Tee: one FILE* for a pipeline stage's output, written both to the terminal and to the stage's
// log.txt, so that the log holds what the user saw.
#include <cstdio>
#include <filesystem>

#include <sys/types.h>

#include "rlhf/core/error.hpp"

namespace rlhf::train {

// A FILE* that writes to the terminal (may be null) and to a log file. (glibc's fopencookie;
// elsewhere the output goes to the terminal only.)
class Tee {
 public:
  Tee(std::FILE* terminal, const std::filesystem::path& log) : terminal_(terminal), log_(std::fopen(log.c_str(), "a")) {
    if (!log_) fail(log.string(), ": cannot open for writing");
#if defined(__GLIBC__)
    file_ = fopencookie(this, "w", cookie_io_functions_t{nullptr, &Tee::write, nullptr, nullptr});
    if (!file_) fail(log.string(), ": cannot open the log stream");
    std::setvbuf(file_, nullptr, _IOLBF, 4096);
#endif
  }
  ~Tee() {
    if (file_) std::fclose(file_);
    std::fclose(log_);
  }
  Tee(const Tee&) = delete;
  Tee& operator=(const Tee&) = delete;
  std::FILE* file() const { return file_ ? file_ : terminal_; }

 private:
  static ssize_t write(void* self, const char* buf, std::size_t n) {
    auto* t = static_cast<Tee*>(self);
    if (t->terminal_) std::fwrite(buf, 1, n, t->terminal_), std::fflush(t->terminal_);
    std::fwrite(buf, 1, n, t->log_);
    std::fflush(t->log_);
    return static_cast<ssize_t>(n);
  }
  std::FILE* terminal_;
  std::FILE* log_;
  std::FILE* file_ = nullptr;
};

}  // namespace rlhf::train
