#include "backends/seccomp_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/personality.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace kf::worker {
namespace {

struct Outcome {
  std::string report;  // what the SIGSYS reporter wrote; empty when nothing trapped
  int exit_code = -1;
};

// Runs body in a child process that first installs the filter; body's return is the exit code.
Outcome RunFiltered(const FilterOptions& options, const std::function<int()>& body) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    if (!InstallSeccompFilter(fds[1], options)) _exit(99);
    _exit(body());
  }
  close(fds[1]);
  Outcome out;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) out.report.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

const FilterOptions kAllow{FilterProfile::kAllowList, true};
const FilterOptions kDeny{FilterProfile::kDenyList, true};
const FilterOptions kDenyStrict{FilterProfile::kDenyStrict, true};

TEST(SeccompFilterTest, EveryProfileReportsIoUringSetupByName) {
  for (const auto& options : {kAllow, kDeny, kDenyStrict}) {
    auto out = RunFiltered(options, [] {
      unsigned char params[120] = {};
      syscall(__NR_io_uring_setup, 8, params);
      return 0;
    });
    EXPECT_NE(out.report.find("\"violation\":\"io_uring_setup\""), std::string::npos) << out.report;
    EXPECT_EQ(out.exit_code, 128 + SIGSYS);
  }
}

TEST(SeccompFilterTest, EveryProfileReportsSysvSharedMemoryAndPersonality) {
  for (const auto& options : {kAllow, kDeny, kDenyStrict}) {
    auto shm = RunFiltered(options, [] { return shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600); });
    EXPECT_NE(shm.report.find("shmget"), std::string::npos) << shm.report;
    auto persona = RunFiltered(options, [] { return personality(READ_IMPLIES_EXEC) == -1; });
    EXPECT_NE(persona.report.find("personality"), std::string::npos) << persona.report;
  }
}

TEST(SeccompFilterTest, AllowListTrapsWhatItDoesNotListNamingItOrItsNumber) {
  auto timer =
      RunFiltered(kAllow, [] { return static_cast<int>(syscall(__NR_setitimer, 0, 0, 0)); });
  EXPECT_NE(timer.report.find("\"violation\":\"setitimer\""), std::string::npos) << timer.report;
  auto unknown = RunFiltered(kAllow, [] { return static_cast<int>(syscall(1000)); });
  EXPECT_NE(unknown.report.find("\"violation\":\"system call 1000\""), std::string::npos)
      << unknown.report;
  // The deny-list lets what it does not name through (the kernel answers ENOSYS).
  auto passes = RunFiltered(kDeny, [] { return syscall(1000) == -1 && errno == ENOSYS ? 0 : 1; });
  EXPECT_EQ(passes.report, "");
  EXPECT_EQ(passes.exit_code, 0);
}

TEST(SeccompFilterTest, AllowListRunsOrdinaryWork) {
  auto out = RunFiltered(kAllow, [] {
    std::vector<double> big(1 << 22, 1.0);  // mmap, munmap
    FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return 2;
    char line[256];
    const bool read_one = std::fgets(line, sizeof(line), f) != nullptr;
    std::fclose(f);
    std::printf("%zu %d\n", big.size(), read_one);
    std::fflush(stdout);
    return read_one ? 0 : 3;
  });
  EXPECT_EQ(out.report, "");
  EXPECT_EQ(out.exit_code, 0);
}

TEST(SeccompFilterTest, AllowListTrapsOpeningForWriting) {
  auto out = RunFiltered(kAllow, [] { return open("/dev/null", O_WRONLY); });
  EXPECT_NE(out.report.find("openat (for writing)"), std::string::npos) << out.report;
}

void* Nothing(void*) { return nullptr; }

int StartAndJoinThread() {
  pthread_t t;
  if (pthread_create(&t, nullptr, Nothing, nullptr) != 0) return 4;
  return pthread_join(t, nullptr) == 0 ? 0 : 5;
}

TEST(SeccompFilterTest, ThreadsRunUnlessTheTaskForbidsThem) {
  auto allowed = RunFiltered(kAllow, StartAndJoinThread);
  EXPECT_EQ(allowed.report, "");
  EXPECT_EQ(allowed.exit_code, 0);
  for (auto profile : {FilterProfile::kAllowList, FilterProfile::kDenyList}) {
    auto forbidden = RunFiltered({profile, false}, StartAndJoinThread);
    EXPECT_NE(forbidden.report.find("clone (a thread: this task forbids threads)"),
              std::string::npos)
        << forbidden.report;
  }
}

TEST(SeccompFilterTest, Clone3FailsWithEnosysSoGlibcFallsBackToClone) {
  auto out = RunFiltered(
      kAllow, [] { return syscall(__NR_clone3, nullptr, 0) == -1 && errno == ENOSYS ? 0 : 1; });
  EXPECT_EQ(out.report, "");
  EXPECT_EQ(out.exit_code, 0);
}

TEST(SeccompFilterTest, NamesCallsForReports) {
  char buf[64];
  SyscallName(__NR_io_uring_enter, buf, sizeof(buf));
  EXPECT_STREQ(buf, "io_uring_enter");
  SyscallName(1000, buf, sizeof(buf));
  EXPECT_STREQ(buf, "system call 1000");
  SyscallName(__NR_shmat, buf, 4);
  EXPECT_STREQ(buf, "shm");
}

}  // namespace
}  // namespace kf::worker
