// Tests of what a candidate in a worker can reach: the file-system view (sandbox.h) and the
// no-threads rule (WorkerConfig::threads), against the real kforge-cpu-worker.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "eval/compiler.h"
#include "eval/sandbox.h"
#include "eval/worker.h"

namespace kf::eval {
namespace {
namespace fs = std::filesystem;

class WorkerSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / ("kf_worker_sbx_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    config_.binary = KFORGE_WORKER_PATH;
    config_.scratch_root = root_ / "scratch";
    config_.read_only = {root_ / "cache"};
  }
  void TearDown() override { fs::remove_all(root_); }

  // Runs `void f(float* x, int64_t n)` (C, `body`) once in a fresh worker; x[0] starts at 0.
  Reply RunOnce(const std::string& body, float* x0) {
    const fs::path src = root_ / ("p" + std::to_string(counter_++) + ".c");
    std::ofstream(src) << "#define _GNU_SOURCE\n#include <stdint.h>\n#include <stdio.h>\n"
                       << "#include <pthread.h>\n"
                       << body;
    Compiler compiler(root_ / "cache", 60);
    auto lib = compiler.Compile(src, false);
    EXPECT_TRUE(lib.ok() && lib->ok) << (lib.ok() ? lib->log : lib.status().message());
    auto w = Worker::Start(config_, 0);
    EXPECT_TRUE(w.ok()) << w.status().message();
    if (!w.ok() || !lib.ok()) {
      Reply failed;
      failed.kind = Reply::Kind::kError;
      return failed;
    }
    EXPECT_TRUE((*w)->EnsureArena(4096).ok());
    std::memset((*w)->arena(), 0, 4096);
    Reply load =
        (*w)->Request({{"op", "load"}, {"path", lib->library.string()}, {"entry", "f"}}, 10);
    if (!load.ok()) return load;
    Reply r = (*w)->Request({{"op", "call"},
                             {"handle", load.body.at("handle").get<int>()},
                             {"sets", {{0}}},
                             {"ints", {1}}},
                            10);
    std::memcpy(x0, (*w)->arena(), sizeof(float));
    return r;
  }

  fs::path root_;
  WorkerConfig config_;
  int counter_ = 0;
};

const char kStartsAThread[] =
    "static void* nothing(void* p) { return p; }\n"
    "void f(float* x, int64_t n) { pthread_t t;\n"
    "  if (pthread_create(&t, 0, nothing, 0) == 0) pthread_join(t, 0);\n"
    "  x[0] = (float)n; }\n";

TEST_F(WorkerSandboxTest, ThreadsRunUnlessTheConfigForbidsThem) {
  float x0 = 0;
  Reply allowed = RunOnce(kStartsAThread, &x0);
  EXPECT_TRUE(allowed.ok()) << allowed.message;
  EXPECT_EQ(x0, 1.0f);
  config_.threads = false;
  Reply forbidden = RunOnce(kStartsAThread, &x0);
  EXPECT_EQ(forbidden.kind, Reply::Kind::kViolation) << forbidden.message;
  EXPECT_NE(forbidden.message.find("forbids threads"), std::string::npos) << forbidden.message;
}

// The repository checkout (this test's source tree) is not in a worker's view; the old view
// (kHost, all of / read-only) showed it.
TEST_F(WorkerSandboxTest, RepositoryIsHiddenFromKforgesOwnWorkers) {
  if (!ProbeSandbox().bwrap) GTEST_SKIP() << "bubblewrap cannot run here";
  const std::string readme = std::string(KFORGE_SOURCE_DIR) + "/README.md";
  ASSERT_TRUE(fs::exists(readme));
  const std::string body = "void f(float* x, int64_t n) { FILE* r = fopen(\"" + readme +
                           "\", \"r\");\n  x[0] = r ? 1.0f : 2.0f; if (r) fclose(r); (void)n; }\n";
  float x0 = 0;
  Reply hidden = RunOnce(body, &x0);
  ASSERT_TRUE(hidden.ok()) << hidden.message;
  EXPECT_EQ(x0, 2.0f) << "the worker could read " << readme;
  config_.view = WorkerConfig::View::kHost;
  Reply shown = RunOnce(body, &x0);
  ASSERT_TRUE(shown.ok()) << shown.message;
  EXPECT_EQ(x0, 1.0f);
}

TEST(SandboxPrefixTest, SystemViewBindsSystemDirectoriesNotTheRoot) {
  const auto argv = SandboxPrefix(SandboxSpec{SandboxView::kSystem, {"/tmp/s"}, {"/tmp/c"}, {}});
  const std::string joined = [&] {
    std::string s;
    for (const auto& a : argv) s += a + " ";
    return s;
  }();
  EXPECT_EQ(joined.find("--ro-bind / / "), std::string::npos) << joined;
  EXPECT_NE(joined.find("/usr /usr"), std::string::npos) << joined;
  EXPECT_NE(joined.find("--bind /tmp/s /tmp/s"), std::string::npos) << joined;
  EXPECT_EQ(argv.back(), "--");
  const auto host = SandboxPrefix("/tmp/s", {}, {}, SandboxView::kHost);
  EXPECT_EQ(host[1], "--ro-bind");
  EXPECT_EQ(host[2], "/");
}

}  // namespace
}  // namespace kf::eval
