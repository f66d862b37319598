#pragma once
// RunDirectory: a training run's output directory, written by one process at a time, whose
// checkpoints are committed whole. A checkpoint is several files (weights, AdamW moments,
// trainer state; PPO's policy/ and value/), so renaming each into place on its own would let a
// kill between two renames leave weights one step ahead of their optimizer. Instead:
//
//   DIR/.lock                             flock'ed for the run (io/directory_lock.hpp)
//   DIR/.checkpoint-STEP.partial-PID/     a checkpoint being written, invisible to resume
//   DIR/checkpoint-STEP/                  committed: one rename(2) of the whole directory
//   DIR/checkpoint-STEP/checkpoint.json   the step, the length of DIR/metrics.jsonl then, and the
//                                         run's inputs (digests of its files, its settings)
//   DIR/model.safetensors, config.json…   the newest checkpoint's model files, exported after
//                                         each commit (hard links, each renamed into place):
//                                         what other commands and stages read
//
// Resume reads the newest checkpoint-STEP, which is whole or absent; the metrics log is cut
// back to the length it had then, so no step is logged twice. After a commit older checkpoints
// are pruned (keep the newest `keep`). Temporaries of killed runs (partial checkpoints, the
// ".NAME.tmp-PID-…" files of files::AtomicFile) are removed when the directory is opened. A kill
// at any instant leaves the previous checkpoint or the new one.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlhf/core/error.hpp"
#include "rlhf/files/atomic_file.hpp"
#include "rlhf/files/directory_lock.hpp"
#include "rlhf/files/json_text.hpp"

namespace rlhf::train {

inline constexpr std::string_view checkpoint_prefix = "checkpoint-";
inline constexpr std::string_view checkpoint_file_name = "checkpoint.json";
inline constexpr std::string_view metrics_file_name = "metrics.jsonl";

namespace run_detail {
namespace fs = std::filesystem;

inline void sync_path(const fs::path& p, int flags) noexcept {
  const int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}

// Files that belong to resuming, not to the model: not exported.
inline bool is_run_state(const fs::path& name) {
  return name == "optimizer.safetensors" || name == "trainer_state.json" || name == checkpoint_file_name;
}

// The step of a committed checkpoint directory's name, or -1.
inline std::int64_t step_of(const std::string& name) {
  if (name.rfind(checkpoint_prefix, 0) != 0 || name.size() == checkpoint_prefix.size()) return -1;
  std::int64_t step = 0;
  for (std::size_t i = checkpoint_prefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || step > (std::int64_t{1} << 56)) return -1;
    step = step * 10 + (name[i] - '0');
  }
  return step;
}

// `from` visible as `to`, atomically: a hard link renamed over `to` (a copy where the file
// system has no hard links).
inline void publish(const fs::path& from, const fs::path& to) {
  std::error_code same;
  if (fs::equivalent(from, to, same)) return;  // already there (rename(2) would leave the link behind)
  std::string name = ".";                      // appended piece by piece: GCC 12 warns falsely on "." + string
  name += to.filename().string();
  name += ".tmp-" + std::to_string(::getpid()) + "-link";
  const fs::path temp = to.parent_path() / name;
  std::error_code ec;
  fs::remove(temp, ec);
  fs::create_hard_link(from, temp, ec);
  if (ec) {
    fs::copy_file(from, temp, fs::copy_options::overwrite_existing, ec);
    if (ec) fail("cannot write ", to.string(), ": ", ec.message());
    sync_path(temp, O_RDONLY);
  }
  fs::rename(temp, to, ec);
  if (ec) {
    fs::remove(temp);
    fail("cannot write ", to.string(), ": ", ec.message());
  }
}
}  // namespace run_detail

// Removes partial checkpoints and temporary files whose writer is dead, in `dir` and in its
// subdirectories but committed checkpoints (never written after their commit).
inline void remove_orphaned_temporaries(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> orphans, subdirs;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (files::is_orphaned_temporary(name)) orphans.push_back(e.path());
    else if (e.is_directory() && run_detail::step_of(name) < 0 && name[0] != '.') subdirs.push_back(e.path());
  }
  for (const auto& p : orphans) std::filesystem::remove_all(p, ec);
  for (const auto& d : subdirs) remove_orphaned_temporaries(d);
}

class RunDirectory {
 public:
  // Locks `dir` (creating it) for this object's lifetime and removes what killed runs left.
  // `keep`: how many committed checkpoints survive a commit (at least 1).
  // If the directory is new and the run fails (an exception leaves the scope) before its first
  // commit, the directory is removed again: a failing run leaves no output.
  explicit RunDirectory(std::filesystem::path dir, int keep = 1)
      : dir_(std::move(dir)), keep_(std::max(keep, 1)), exceptions_(std::uncaught_exceptions()) {
    if (dir_.empty()) fail("the output directory is empty (give a directory name)");
    created_ = !std::filesystem::exists(dir_);
    lock_ = files::DirectoryLock(dir_);
    remove_orphaned_temporaries(dir_);
  }
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;
  ~RunDirectory() {
    if (created_ && !committed_ && std::uncaught_exceptions() > exceptions_) {
      lock_.release();
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  const std::filesystem::path& path() const { return dir_; }

  // What the run reads and every setting that changes its computation (file digests, options),
  // as a flat object: each commit records it, and resume_from_latest refuses a checkpoint that
  // recorded anything else, naming the first difference.
  void set_inputs(nlohmann::ordered_json inputs) { inputs_ = std::move(inputs); }
  const nlohmann::ordered_json& inputs() const { return inputs_; }
  std::filesystem::path metrics_file() const { return dir_ / metrics_file_name; }

  // The newest committed checkpoint, if any.
  std::optional<std::filesystem::path> latest_checkpoint() const {
    std::int64_t best = -1;
    for (const auto& e : std::filesystem::directory_iterator(dir_))
      if (e.is_directory()) best = std::max(best, run_detail::step_of(e.path().filename().string()));
    if (best < 0) return std::nullopt;
    return checkpoint_dir(best);
  }
  std::filesystem::path checkpoint_dir(std::int64_t step) const {
    return dir_ / (std::string(checkpoint_prefix) + std::to_string(step));
  }

  // Whether this directory holds a run in the layout before checkpoint directories (state
  // files at the top), which cannot be resumed safely.
  bool holds_unversioned_run() const { return std::filesystem::exists(dir_ / "trainer_state.json"); }

  // Writes a checkpoint of `step` whole and commits it: write(staging) fills a fresh directory
  // (a trainer's save()); then it is made durable, renamed to checkpoint-STEP in one step, the
  // model files exported, and older checkpoints pruned.
  template <class Write>
  std::filesystem::path commit_checkpoint(std::int64_t step, Write&& write) {
    namespace fs = std::filesystem;
    const fs::path staging = dir_ / (".checkpoint-" + std::to_string(step) + ".partial-" + std::to_string(::getpid()));
    std::error_code ec;
    fs::remove_all(staging, ec);
    fs::create_directories(staging, ec);
    if (ec) fail(staging.string(), ": cannot create the checkpoint directory: ", ec.message());
    try {
      write(staging);
      const std::uintmax_t metrics_bytes = fs::exists(metrics_file()) ? fs::file_size(metrics_file()) : 0;
      nlohmann::ordered_json record{{"step", step}, {"metrics_bytes", metrics_bytes}};
      if (!inputs_.empty()) record["inputs"] = inputs_;
      files::write_file_atomically(staging / checkpoint_file_name, record.dump(1) + "\n");
      for (const auto& e : fs::recursive_directory_iterator(staging))
        if (e.is_directory()) run_detail::sync_path(e.path(), O_RDONLY | O_DIRECTORY);
      run_detail::sync_path(staging, O_RDONLY | O_DIRECTORY);
    } catch (...) {
      fs::remove_all(staging, ec);
      throw;
    }
    fs::path target = checkpoint_dir(step);
    // The commit. A checkpoint of the same step (a run saving at its end what it saved at its
    // last evaluation) is swapped out atomically, then removed.
    if (fs::exists(target)) {
      if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
        const int err = errno;
        fs::remove_all(staging, ec);
        fail("cannot commit ", target.string(), ": ", std::strerror(err));
      }
      fs::remove_all(staging, ec);
    } else {
      fs::rename(staging, target, ec);
      if (ec) {
        fs::remove_all(staging, ec);
        fail("cannot commit ", target.string(), ": ", ec.message());
      }
    }
    run_detail::sync_path(dir_, O_RDONLY | O_DIRECTORY);
    committed_ = true;
    export_model(target);
    prune();
    return target;
  }

  // checkpoint.json of a committed checkpoint.
  static nlohmann::ordered_json read_record(const std::filesystem::path& checkpoint) {
    const std::filesystem::path file = checkpoint / checkpoint_file_name;
    nlohmann::ordered_json record = files::read_json_file<nlohmann::ordered_json>(file);
    if (!record.is_object()) fail(file.string(), ": not a JSON object");
    return record;
  }

  // Fails, naming the first difference, unless `checkpoint` recorded this run's inputs (a
  // checkpoint that recorded none is accepted).
  void check_inputs(const std::filesystem::path& checkpoint) const {
    const nlohmann::ordered_json record = read_record(checkpoint);
    if (!record.contains("inputs") || !record["inputs"].is_object()) return;
    const nlohmann::ordered_json& saved = record["inputs"];
    const std::string where = (checkpoint / checkpoint_file_name).string();
    for (auto it = saved.begin(); it != saved.end(); ++it)
      if (!inputs_.contains(it.key()) || inputs_[it.key()] != *it)
        fail(where, ": the run being resumed had ", it.key(), " = ", it->dump(), ", this one has ",
             inputs_.contains(it.key()) ? inputs_[it.key()].dump() : std::string("none"),
             "; resume with the same inputs and settings, or start a new run in another directory");
    for (auto it = inputs_.begin(); it != inputs_.end(); ++it)
      if (!saved.contains(it.key()))
        fail(where, ": the run being resumed had no ", it.key(), ", this one has ", it->dump(),
             "; resume with the same inputs and settings, or start a new run in another directory");
  }

  // Before a resumed run appends to its metrics: cuts the log back to its length at `checkpoint`.
  void rewind_metrics(const std::filesystem::path& checkpoint) const {
    const std::filesystem::path file = checkpoint / checkpoint_file_name;
    const nlohmann::ordered_json state = read_record(checkpoint);
    if (!state.contains("metrics_bytes") || !state["metrics_bytes"].is_number_unsigned())
      fail(file.string(), ": missing or non-integer field \"metrics_bytes\"");
    const auto bytes = state["metrics_bytes"].get<std::uintmax_t>();
    std::error_code ec;
    if (std::filesystem::exists(metrics_file()) && std::filesystem::file_size(metrics_file()) > bytes) {
      std::filesystem::resize_file(metrics_file(), bytes, ec);
      if (ec) fail("cannot rewind ", metrics_file().string(), ": ", ec.message());
    }
  }

  // The newest checkpoint's model files at the top of the directory (also after a kill between
  // a commit and its export).
  void export_latest() {
    if (const auto latest = latest_checkpoint()) export_model(*latest);
  }

 private:
  void export_model(const std::filesystem::path& checkpoint) {
    namespace fs = std::filesystem;
    std::vector<fs::path> written{dir_};
    for (const auto& e : fs::recursive_directory_iterator(checkpoint)) {
      const fs::path rel = fs::relative(e.path(), checkpoint);
      if (e.is_directory()) {
        fs::create_directories(dir_ / rel);
        written.push_back(dir_ / rel);
      } else if (e.is_regular_file() && !run_detail::is_run_state(rel.filename())) {
        run_detail::publish(e.path(), dir_ / rel);
      }
    }
    for (const fs::path& d : written) run_detail::sync_path(d, O_RDONLY | O_DIRECTORY);
  }

  void prune() {
    std::vector<std::int64_t> steps;
    for (const auto& e : std::filesystem::directory_iterator(dir_))
      if (e.is_directory())
        if (const std::int64_t s = run_detail::step_of(e.path().filename().string()); s >= 0) steps.push_back(s);
    std::sort(steps.rbegin(), steps.rend());
    std::error_code ec;
    for (std::size_t i = std::size_t(keep_); i < steps.size(); ++i)
      std::filesystem::remove_all(checkpoint_dir(steps[i]), ec);
  }

  std::filesystem::path dir_;
  nlohmann::ordered_json inputs_ = nlohmann::ordered_json::object();
  int keep_;
  int exceptions_;
  bool created_ = false, committed_ = false;
  files::DirectoryLock lock_;
};

// Resumes `trainer` from the newest checkpoint of `run` if there is one, after checking that it
// recorded this run's inputs: weights, optimizer and trainer state (trainer.resume), the metrics
// log cut back to that checkpoint, the exported model brought up to it. Returns whether it
// resumed.
template <class Trainer>
bool resume_from_latest(RunDirectory& run, Trainer& trainer) {
  if (run.holds_unversioned_run())
    fail(run.path().string(),
         ": holds a run saved without checkpoint directories (trainer_state.json at the top), "
         "which cannot be resumed safely; start it again in a new directory");
  const auto latest = run.latest_checkpoint();
  if (!latest) return false;
  run.check_inputs(*latest);
  trainer.resume(*latest);
  run.rewind_metrics(*latest);
  run.export_latest();
  return true;
}

}  // namespace rlhf::train
