// train/run_directory.hpp and io/directory_lock.hpp: one writer per directory (a second lock
// fails naming the holder's PID; a dead holder's lock is taken over), checkpoints committed
// whole (the newest is what resume reads; a partial one is invisible; older ones are pruned; a
// second commit of the same step swaps atomically), the model files exported as hard links, the
// metrics log cut back to the checkpoint, temporaries of dead writers removed, a new directory
// removed again when the run fails before its first commit, and a metrics line that cannot be
// written whole cut back off the log.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "error_of.hpp"
#include "rlhf/files/directory_lock.hpp"
#include "rlhf/files/file_digest.hpp"
#include "rlhf/train/metrics_log.hpp"
#include "rlhf/train/run_directory.hpp"
#include "temp_dir.hpp"

namespace test_run_directory {

namespace fs = std::filesystem;
using rlhf::train::RunDirectory;
using testing::error_of;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// A checkpoint as a trainer writes one: model files, and the state only resume reads.
auto fake_save(const std::string& tag) {
  return [tag](const fs::path& dir) {
    write(dir / "model.safetensors", "weights " + tag);
    write(dir / "config.json", "{}");
    write(dir / "optimizer.safetensors", "moments " + tag);
    write(dir / "trainer_state.json", "{\"tag\": \"" + tag + "\"}");
    write(dir / "value" / "model.safetensors", "value " + tag);
  };
}

// The PID of a process that has exited (and been reaped).
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

}  // namespace

TEST_CASE("run directory: a second writer fails at once, naming the holder's PID; the lock goes with its holder") {
  testing::TempDir tmp;
  const fs::path dir = tmp / "run";
  {
    const RunDirectory first(dir);
    CHECK(read(dir / ".lock") == std::to_string(::getpid()) + "\n");
    const std::string e = error_of([&] { RunDirectory second(dir); });
    CHECK(e == dir.string() + ": in use by another run (process " + std::to_string(::getpid()) + " holds " +
                   (dir / ".lock").string() + "); wait for it to finish, or write to another directory");
    // And from another process.
    const pid_t child = ::fork();
    if (child == 0) {
      const bool refused =
          error_of([&] { RunDirectory other(dir); }).find("in use by another run") != std::string::npos;
      ::_exit(refused ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  // Released with its holder; a lock file left by a dead process is taken over.
  write(dir / ".lock", std::to_string(dead_pid()) + "\n");
  const rlhf::files::DirectoryLock again(dir);
  CHECK(again.held());
  CHECK_FALSE(again.previous_holder().empty());
}

TEST_CASE("run directory: checkpoints are committed whole, the newest is resumed, older ones pruned, models exported") {
  testing::TempDir tmp;
  const fs::path dir = tmp / "run";
  RunDirectory run(dir, 2);
  CHECK_FALSE(run.latest_checkpoint());
  write(run.metrics_file(), "{\"step\":1}\n");
  run.commit_checkpoint(5, fake_save("a"));
  write(run.metrics_file(), "{\"step\":1}\n{\"step\":6}\n");
  run.commit_checkpoint(10, fake_save("b"));
  REQUIRE(run.latest_checkpoint());
  CHECK(*run.latest_checkpoint() == dir / "checkpoint-10");
  CHECK(read(dir / "checkpoint-10" / "trainer_state.json") == "{\"tag\": \"b\"}");
  // The model files (not the run state) at the top, as hard links of the newest checkpoint's.
  CHECK(read(dir / "model.safetensors") == "weights b");
  CHECK(read(dir / "value" / "model.safetensors") == "value b");
  CHECK(fs::equivalent(dir / "model.safetensors", dir / "checkpoint-10" / "model.safetensors"));
  CHECK_FALSE(fs::exists(dir / "optimizer.safetensors"));
  CHECK_FALSE(fs::exists(dir / "trainer_state.json"));
  // keep = 2: a third commit prunes the oldest.
  run.commit_checkpoint(15, fake_save("c"));
  CHECK_FALSE(fs::exists(dir / "checkpoint-5"));
  CHECK(fs::exists(dir / "checkpoint-10"));
  CHECK(read(dir / "model.safetensors") == "weights c");
  // Committing a step again replaces that checkpoint in one swap.
  run.commit_checkpoint(15, fake_save("d"));
  CHECK(read(dir / "checkpoint-15" / "trainer_state.json") == "{\"tag\": \"d\"}");
  // The metrics log goes back to its length at a checkpoint.
  write(run.metrics_file(), "{\"step\":1}\n{\"step\":6}\n{\"step\":11}\n{\"ste");
  run.rewind_metrics(dir / "checkpoint-10");
  CHECK(read(run.metrics_file()) == "{\"step\":1}\n{\"step\":6}\n");
  for (const auto& e : fs::directory_iterator(dir))
    CHECK(e.path().filename().string().find("partial") == std::string::npos);
}

TEST_CASE(
    "run directory: a checkpoint whose writer failed is never seen, and a killed writer's temporaries are removed") {
  testing::TempDir tmp;
  const fs::path dir = tmp / "run";
  {
    RunDirectory run(dir);
    run.commit_checkpoint(1, fake_save("a"));
    CHECK(error_of([&] {
            run.commit_checkpoint(2, [](const fs::path& d) {
              write(d / "model.safetensors", "half");
              rlhf::fail("disk full");
            });
          }) == "disk full");
    CHECK(*run.latest_checkpoint() == dir / "checkpoint-1");
    CHECK(read(dir / "model.safetensors") == "weights a");
  }
  // What a kill -9 leaves: a partial checkpoint and AtomicFile temporaries of a dead process,
  // beside a live process's temporary, which must stay.
  const std::string dead = std::to_string(dead_pid()), live = std::to_string(::getppid());
  write(dir / (".checkpoint-2.partial-" + dead) / "model.safetensors", "half");
  write(dir / (".metrics.jsonl.tmp-" + dead + "-0-1"), "x");
  write(dir / "value" / (".model.safetensors.tmp-" + dead + "-3-4"), "x");
  write(dir / (".model.safetensors.tmp-" + live + "-0-1"), "x");
  const RunDirectory reopened(dir);
  CHECK_FALSE(fs::exists(dir / (".checkpoint-2.partial-" + dead)));
  CHECK_FALSE(fs::exists(dir / (".metrics.jsonl.tmp-" + dead + "-0-1")));
  CHECK_FALSE(fs::exists(dir / "value" / (".model.safetensors.tmp-" + dead + "-3-4")));
  CHECK(fs::exists(dir / (".model.safetensors.tmp-" + live + "-0-1")));
  CHECK(*reopened.latest_checkpoint() == dir / "checkpoint-1");
}

TEST_CASE("run directory: a new directory is removed when the run fails before its first commit; an old one stays") {
  testing::TempDir tmp;
  const fs::path dir = tmp / "new";
  CHECK(error_of([&] {
          RunDirectory run(dir);
          write(run.metrics_file(), "{\"step\":1}\n");
          rlhf::fail("bad data");
        }) == "bad data");
  CHECK_FALSE(fs::exists(dir));
  fs::create_directories(tmp / "old");
  CHECK(error_of([&] {
          RunDirectory run(tmp / "old");
          rlhf::fail("bad data");
        }) == "bad data");
  CHECK(fs::exists(tmp / "old"));
  CHECK(error_of([] { RunDirectory run(""); }) == "the output directory is empty (give a directory name)");
}

TEST_CASE("run directory: a run saved before checkpoint directories is refused, not resumed") {
  testing::TempDir tmp;
  write(tmp / "old" / "trainer_state.json", "{}");
  RunDirectory run(tmp / "old");
  struct NeverResumed {
    void resume(const fs::path&) { FAIL("resumed"); }
  } trainer;
  CHECK(error_of([&] { rlhf::train::resume_from_latest(run, trainer); }).find("cannot be resumed safely") !=
        std::string::npos);
}

TEST_CASE("run directory: resume checks the inputs a checkpoint recorded, naming the first difference") {
  testing::TempDir tmp;
  const fs::path dir = tmp / "run";
  write(tmp / "data.jsonl", "{\"text\": \"a\"}\n");
  {
    RunDirectory run(dir);
    run.set_inputs({{"--data", rlhf::files::file_digest(tmp / "data.jsonl")}, {"--lr", 0.003}});
    run.commit_checkpoint(3, fake_save("a"));
  }
  struct Resumed {
    int count = 0;
    void resume(const fs::path&) { ++count; }
  } trainer;
  RunDirectory same(dir);
  same.set_inputs({{"--data", rlhf::files::file_digest(tmp / "data.jsonl")}, {"--lr", 3e-3}});
  CHECK(rlhf::train::resume_from_latest(same, trainer));
  CHECK(trainer.count == 1);
  same.set_inputs({{"--data", rlhf::files::file_digest(tmp / "data.jsonl")}, {"--lr", 1e-3}});
  CHECK(
      error_of([&] { rlhf::train::resume_from_latest(same, trainer); }) ==
      (dir / "checkpoint-3" / "checkpoint.json").string() +
          ": the run being resumed had --lr = 0.003, this one has 0.001; resume with the same inputs and settings, or "
          "start a new run in another directory");
  write(tmp / "data.jsonl", "{\"text\": \"b\"}\n");  // the same size, other bytes
  same.set_inputs({{"--data", rlhf::files::file_digest(tmp / "data.jsonl")}, {"--lr", 0.003}});
  CHECK(error_of([&] { rlhf::train::resume_from_latest(same, trainer); }).find("had --data = \"fnv1a64:") !=
        std::string::npos);
  write(tmp / "data.jsonl", "{\"text\": \"a\"}\n");
  same.set_inputs({{"--data", rlhf::files::file_digest(tmp / "data.jsonl")}});  // --lr gone
  CHECK(error_of([&] { rlhf::train::resume_from_latest(same, trainer); }).find("had --lr = 0.003, this one has none") !=
        std::string::npos);
  CHECK(trainer.count == 1);
  // Digests: of a file's bytes; of a checkpoint directory, of its model files with their names.
  CHECK(rlhf::files::file_digest(tmp / "data.jsonl") != rlhf::files::file_digest(dir));
  CHECK(rlhf::files::file_digest(tmp / "data.jsonl").rfind("fnv1a64:", 0) == 0);
}

TEST_CASE("metrics log: a line the disk cannot take whole is cut back off, and the error says why") {
  CHECK(error_of([] {
          rlhf::train::MetricsLog("/dev/full", true).write({{"step", 1}});
        }) == "cannot write to /dev/full: No space left on device");
  // A file-size limit 10 bytes past the first line: the second line is written part way
  // (a short write), then refused; the file must hold the first line only.
  testing::TempDir tmp;
  const fs::path file = tmp / "metrics.jsonl";
  rlhf::train::MetricsLog log(file, false);
  log.write({{"step", 1}});
  const std::string first = read(file);
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = rlim_t(first.size() + 10);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  const std::string e = error_of([&] { log.write({{"step", 2}, {"train/loss", 1.25}, {"eval/loss", 2.5}}); });
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  CHECK(e == "cannot write to " + file.string() + ": File too large");
  CHECK(read(file) == first);
  log.write({{"step", 3}});
  CHECK(read(file) == first + "{\"step\":3}\n");
}

}  // namespace test_run_directory
