// Tests of the worker lifecycle against the real kforge-cpu-worker and real compiled programs.
#include "eval/worker.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fstream>

#include "eval/compiler.h"

namespace kf::eval {
namespace {
namespace fs = std::filesystem;

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / ("kf_worker_test_" + std::to_string(getpid()));
    fs::create_directories(root_);
    config_.binary = KFORGE_WORKER_PATH;
    config_.scratch_root = root_ / "scratch";
    config_.read_only = {root_};
  }
  void TearDown() override { fs::remove_all(root_); }

  // Compiles `body` (C) into a shared object exposing `void f(float* x, int64_t n)`.
  fs::path Program(const std::string& body) {
    const fs::path src = root_ / ("p" + std::to_string(counter_++) + ".c");
    std::ofstream(src) << "#include <stdint.h>\n#include <stdlib.h>\n" << body;
    Compiler compiler(root_ / "cache", 60);
    auto r = compiler.Compile(src, false);
    EXPECT_TRUE(r.ok() && r->ok) << (r.ok() ? r->log : r.status().message());
    return r.ok() ? r->library : fs::path();
  }

  int Load(Worker& w, const fs::path& lib) {
    Reply r = w.Request({{"op", "load"}, {"path", lib.string()}, {"entry", "f"}}, 10);
    EXPECT_TRUE(r.ok()) << r.message;
    return r.ok() ? r.body.at("handle").get<int>() : -1;
  }

  Reply Call(Worker& w, int handle, int64_t n, double timeout) {
    return w.Request({{"op", "call"}, {"handle", handle}, {"sets", {{0}}}, {"ints", {n}}}, timeout);
  }

  fs::path root_;
  WorkerConfig config_;
  int counter_ = 0;
};

TEST_F(WorkerTest, RunsAProgramOnTheSharedArena) {
  auto w = Worker::Start(config_, 0);
  ASSERT_TRUE(w.ok()) << w.status().message();
  ASSERT_TRUE((*w)->EnsureArena(4096).ok());
  const int h = Load(
      **w,
      Program("void f(float* x, int64_t n) { for (int64_t i = 0; i < n; ++i) x[i] = 2 * i; }"));
  Reply r = Call(**w, h, 10, 10);
  ASSERT_TRUE(r.ok()) << r.message;
  const float* x = reinterpret_cast<const float*>((*w)->arena());
  EXPECT_EQ(x[9], 18.0f);
}

TEST_F(WorkerTest, CrashIsReportedWithItsSignalAndTheNextWorkerIsHealthy) {
  auto w = Worker::Start(config_, 0);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->EnsureArena(4096).ok());
  const int h =
      Load(**w, Program("void f(float* x, int64_t n) { (void)x; *(volatile int*)(n - n) = 1; }"));
  Reply r = Call(**w, h, 1, 10);
  EXPECT_EQ(r.kind, Reply::Kind::kDied);
  EXPECT_TRUE(r.exit.signaled);
  EXPECT_EQ(r.exit.signal, SIGSEGV);
  EXPECT_FALSE((*w)->alive());
  EXPECT_EQ((*w)->Request({{"op", "hello"}}, 5).kind, Reply::Kind::kDied);

  auto next = Worker::Start(config_, 1);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE((*next)->Request({{"op", "hello"}}, 5).ok());
}

TEST_F(WorkerTest, HangIsKilledAtTheDeadline) {
  auto w = Worker::Start(config_, 0);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->EnsureArena(4096).ok());
  const int h = Load(**w, Program("void f(float* x, int64_t n) { for (;;) x[0] = (float)n; }"));
  const pid_t pid = (*w)->pid();
  const double t0 = MonotonicSeconds();
  Reply r = Call(**w, h, 1, 0.5);
  EXPECT_EQ(r.kind, Reply::Kind::kTimeout);
  EXPECT_LT(MonotonicSeconds() - t0, 5.0);
  EXPECT_FALSE((*w)->alive());
  EXPECT_NE(kill(pid, 0), 0) << "the hung worker must be gone";
}

TEST_F(WorkerTest, ForbiddenSystemCallIsNamed) {
  auto w = Worker::Start(config_, 0);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->EnsureArena(4096).ok());
  const int h = Load(**w, Program("#include <unistd.h>\nvoid f(float* x, int64_t n) { if (fork() "
                                  "== 0) _exit(0); x[0] = n; }"));
  Reply r = Call(**w, h, 1, 10);
  EXPECT_EQ(r.kind, Reply::Kind::kViolation);
  EXPECT_NE(r.message.find("clone"), std::string::npos) << r.message;
}

TEST_F(WorkerTest, CandidateOutputIsCapturedNotParsed) {
  auto w = Worker::Start(config_, 0);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->EnsureArena(4096).ok());
  const int h = Load(**w, Program("#include <stdio.h>\nvoid f(float* x, int64_t n) { "
                                  "printf(\"{\\\"ok\\\":true,\\\"ns\\\":1}\\n\"); x[0] = n; }"));
  Reply r = Call(**w, h, 1, 10);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_NE(r.body.value("ns", 1.0), 1.0);  // the harness's own timing, not the forged 1
  EXPECT_NE((*w)->TakeOutput().find("\"ns\":1"), std::string::npos);
}

TEST_F(WorkerTest, MissingEntryPointIsAnError) {
  auto w = Worker::Start(config_, 0);
  ASSERT_TRUE(w.ok());
  Reply r = (*w)->Request(
      {{"op", "load"}, {"path", Program("void g(void) {}").string()}, {"entry", "f"}}, 10);
  EXPECT_EQ(r.kind, Reply::Kind::kError);
  EXPECT_NE(r.message.find("entry point 'f'"), std::string::npos) << r.message;
  EXPECT_TRUE((*w)->alive());
}

// Regression: a worker binary under /tmp (a build in a fresh clone there) was hidden by the
// sandbox's private /tmp, and no worker could start.
TEST_F(WorkerTest, StartsFromABinaryUnderTmp) {
  const fs::path copy = root_ / "bin" / "kforge-cpu-worker";
  fs::create_directories(copy.parent_path());
  fs::copy_file(KFORGE_WORKER_PATH, copy);
  config_.binary = copy;
  config_.read_only = {};
  auto w = Worker::Start(config_, 0);
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_TRUE((*w)->Request({{"op", "hello"}}, 5).ok());
}

TEST(WorkerProcessTest, ExitsWhenItsRequestPipeCloses) {
  int req[2], rep[2];
  ASSERT_EQ(pipe2(req, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(rep, O_CLOEXEC), 0);
  const int arena = memfd_create("arena", MFD_CLOEXEC);
  SpawnSpec spec;
  spec.argv = {KFORGE_WORKER_PATH};
  spec.fds = {{3, req[0]}, {4, rep[1]}, {5, arena}};
  auto pid = Spawn(spec);
  ASSERT_TRUE(pid.ok()) << pid.status().message();
  close(req[0]);
  close(rep[1]);
  close(req[1]);  // the orchestrator goes away
  const double t0 = MonotonicSeconds();
  const ExitInfo e = Reap(*pid);
  EXPECT_LT(MonotonicSeconds() - t0, 5.0);
  EXPECT_FALSE(e.signaled);
  EXPECT_EQ(e.code, 0);
  close(rep[0]);
  close(arena);
}

}  // namespace
}  // namespace kf::eval
