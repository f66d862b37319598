#pragma once
// Metrics of a training run: one JSON object per line in a JSONL file (what TRL and
// lm-human-preferences log, by the same names), each line written whole and flushed, so the file
// is valid JSONL after any interruption; and a one-line progress report for the terminal.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "rlhf/core/error.hpp"

namespace rlhf::train {

class MetricsLog {
 public:
  MetricsLog() = default;  // logs nothing
  // append = false starts a new file; true continues one (a resumed run).
  MetricsLog(const std::filesystem::path& file, bool append) : path_(file) {
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
    out_.open(file, append ? std::ios::app : std::ios::trunc);
    if (!out_) fail("cannot open ", file.string(), " for writing");
  }

  void write(const nlohmann::json& record) {
    if (!out_.is_open()) return;
    out_ << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    out_.flush();
    if (!out_) fail("cannot write to ", path_.string(), ": ", std::strerror(errno));
  }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

// "key value" pairs of the numbers in a record, for a progress line.
inline std::string progress_line(const nlohmann::json& record) {
  std::string line;
  char buf[64];
  for (const auto& [key, value] : record.items()) {
    if (value.is_number_integer()) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(value.get<std::int64_t>()));
    else if (value.is_number()) std::snprintf(buf, sizeof buf, "%.4g", value.get<double>());
    else continue;
    line += (line.empty() ? "" : "  ") + key + " " + buf;
  }
  return line;
}

}  // namespace rlhf::train
