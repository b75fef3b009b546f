#include "util/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace kf {
namespace {

TEST(RunCommandTest, CapturesOutputAndExitCode) {
  auto r = RunCommand({"sh", "-c", "echo hello; echo oops >&2; exit 3"}, 10);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->exit.code, 3);
  EXPECT_NE(r->output.find("hello"), std::string::npos);
  EXPECT_NE(r->output.find("oops"), std::string::npos);
}

TEST(RunCommandTest, DeadlineKillsTheWholeProcessGroup) {
  const std::string pidfile = ::testing::TempDir() + "/kf_bg_pid";
  std::filesystem::remove(pidfile);
  const double t0 = MonotonicSeconds();
  auto r = RunCommand({"sh", "-c", "sleep 30 & echo $! > " + pidfile + "; sleep 30"}, 0.5);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(MonotonicSeconds() - t0, 5.0);
  std::ifstream in(pidfile);
  pid_t bg = 0;
  ASSERT_TRUE(in >> bg);
  // The background sleep belonged to the same group: it is gone (or a zombie of init's soon).
  for (int i = 0; i < 50 && kill(bg, 0) == 0; ++i) usleep(20000);
  std::ifstream stat("/proc/" + std::to_string(bg) + "/stat");
  std::string line;
  if (std::getline(stat, line)) {
    EXPECT_NE(line.find(") Z"), std::string::npos) << line;
  }
}

TEST(RunCommandTest, MissingProgramIsAnError) {
  auto r = RunCommand({"/nonexistent/kforge-no-such-tool"}, 5);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("kforge-no-such-tool"), std::string::npos);
}

TEST(ExitInfoTest, DescribesSignalsByName) {
  ExitInfo e;
  e.signaled = true;
  e.signal = SIGSEGV;
  EXPECT_EQ(e.Describe(), "killed by SIGSEGV");
}

}  // namespace
}  // namespace kf
