#include "backends/seccomp_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

namespace kf::worker {
namespace {

#if defined(__x86_64__)
constexpr unsigned kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kAuditArch = AUDIT_ARCH_AARCH64;
#else
#error "kforge's CPU worker filter supports x86_64 and aarch64"
#endif

struct Named {
  long nr;
  const char* name;
};

// Calls denied outright.
const Named kDenied[] = {
    {__NR_socket, "socket"},
    {__NR_socketpair, "socketpair"},
    {__NR_connect, "connect"},
    {__NR_bind, "bind"},
    {__NR_listen, "listen"},
    {__NR_accept, "accept"},
    {__NR_accept4, "accept4"},
    {__NR_execve, "execve"},
    {__NR_execveat, "execveat"},
    {__NR_ptrace, "ptrace"},
    {__NR_process_vm_readv, "process_vm_readv"},
    {__NR_process_vm_writev, "process_vm_writev"},
    {__NR_memfd_create, "memfd_create"},
    {__NR_setsid, "setsid"},
    {__NR_setpgid, "setpgid"},
#if defined(__x86_64__)
    {__NR_fork, "fork"},
    {__NR_vfork, "vfork"},
#endif
};

// Denied when strict: changes to the file system.
const Named kDeniedStrict[] = {
    {__NR_unlinkat, "unlinkat"}, {__NR_renameat, "renameat"}, {__NR_renameat2, "renameat2"},
    {__NR_mkdirat, "mkdirat"},   {__NR_linkat, "linkat"},     {__NR_symlinkat, "symlinkat"},
    {__NR_truncate, "truncate"}, {__NR_fchmodat, "fchmodat"}, {__NR_fchownat, "fchownat"},
    {__NR_mknodat, "mknodat"},
#if defined(__x86_64__)
    {__NR_unlink, "unlink"},     {__NR_rename, "rename"},     {__NR_mkdir, "mkdir"},
    {__NR_rmdir, "rmdir"},       {__NR_link, "link"},         {__NR_symlink, "symlink"},
    {__NR_creat, "creat"},       {__NR_chmod, "chmod"},       {__NR_chown, "chown"},
    {__NR_mknod, "mknod"},
#endif
};

// Calls allowed only with some arguments (checked in the filter below).
const Named kConditional[] = {
    {__NR_clone, "clone (new process)"},
    {__NR_openat, "openat (for writing)"},
    {__NR_mprotect, "mprotect (making memory executable)"},
    {__NR_mmap, "mmap (anonymous executable memory)"},
    {__NR_kill, "kill (another process)"},
    {__NR_tgkill, "tgkill (another process)"},
    {__NR_rt_sigaction, "rt_sigaction (SIGSYS)"},
#if defined(__x86_64__)
    {__NR_open, "open (for writing)"},
#endif
};

int g_result_fd = -1;

// Async-signal-safe: only write() and exit_group.
void OnSigsys(int, siginfo_t* info, void*) {
  const char* name = "unknown";
  for (const auto& d : kDenied) {
    if (d.nr == info->si_syscall) name = d.name;
  }
  for (const auto& d : kDeniedStrict) {
    if (d.nr == info->si_syscall) name = d.name;
  }
  for (const auto& d : kConditional) {
    if (d.nr == info->si_syscall) name = d.name;
  }
  char buf[256];
  const char* prefix = "{\"ok\":false,\"violation\":\"";
  size_t n = 0;
  for (const char* p = prefix; *p && n < 200; ++p) buf[n++] = *p;
  for (const char* p = name; *p && n < 240; ++p) buf[n++] = *p;
  for (const char* p = "\"}\n"; *p; ++p) buf[n++] = *p;
  ssize_t ignored = write(g_result_fd, buf, n);
  (void)ignored;
  syscall(__NR_exit_group, 128 + SIGSYS);
}

using Prog = std::vector<sock_filter>;

void Stmt(Prog& p, unsigned short code, unsigned k) { p.push_back(BPF_STMT(code, k)); }
void Jump(Prog& p, unsigned short code, unsigned k, unsigned char jt, unsigned char jf) {
  p.push_back(BPF_JUMP(code, k, jt, jf));
}

constexpr unsigned kArgLo(int i) { return offsetof(seccomp_data, args) + 8 * i; }

// Emits: if (nr == this) { load arg; if (arg & mask) trap; else allow }.
void TrapIfArgHasBits(Prog& p, long nr, int arg, unsigned mask) {
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 4);
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgLo(arg));
  Jump(p, BPF_JMP | BPF_JSET | BPF_K, mask, 0, 1);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));  // reload for the next test
}

// Emits: if (nr == this) { if (arg lo word is one of allowed) allow; else trap }.
void TrapUnlessArgIn(Prog& p, long nr, int arg, const std::vector<unsigned>& allowed) {
  const unsigned char n = static_cast<unsigned char>(allowed.size());
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, n + 3);
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgLo(arg));
  for (unsigned char i = 0; i < n; ++i) {
    Jump(p, BPF_JMP | BPF_JEQ | BPF_K, allowed[i], static_cast<unsigned char>(n - i), 0);
  }
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
}

}  // namespace

bool InstallSeccompFilter(int result_fd, bool strict) {
  g_result_fd = result_fd;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = OnSigsys;
  sa.sa_flags = SA_SIGINFO;
  if (sigaction(SIGSYS, &sa, nullptr) != 0) return false;

  const unsigned self = static_cast<unsigned>(getpid());
  Prog p;
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
#if defined(__x86_64__)
  Jump(p, BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);  // the x32 ABI
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
#endif
  for (const auto& d : kDenied) {
    Jump(p, BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(d.nr), 0, 1);
    Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  }
  for (const auto& d : kDeniedStrict) {
    if (!strict) break;
    Jump(p, BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(d.nr), 0, 1);
    Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  }
  // clone3 hides its flags in memory the filter cannot read: make glibc fall back to clone.
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
  // clone: threads only (a new process lacks CLONE_THREAD).
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4);
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgLo(0));
  Jump(p, BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 1, 0);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
  if (strict) {
    const unsigned kWriteFlags = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
    TrapIfArgHasBits(p, __NR_openat, 2, kWriteFlags);
#if defined(__x86_64__)
    TrapIfArgHasBits(p, __NR_open, 1, kWriteFlags);
#endif
    // openat2 carries its flags in memory too.
    Jump(p, BPF_JMP | BPF_JEQ | BPF_K, __NR_openat2, 0, 1);
    Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
    TrapIfArgHasBits(p, __NR_mprotect, 2, PROT_EXEC);
    Jump(p, BPF_JMP | BPF_JEQ | BPF_K, __NR_pkey_mprotect, 0, 1);
    Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    // mmap of executable memory is fine for files (the loader maps libraries so) but not anonymous.
    Jump(p, BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 6);
    Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgLo(2));
    Jump(p, BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 3);
    Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgLo(3));
    Jump(p, BPF_JMP | BPF_JSET | BPF_K, MAP_ANONYMOUS, 0, 1);
    Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
    Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    Stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
  }
  TrapUnlessArgIn(p, __NR_kill, 0, {0u, self});
  TrapUnlessArgIn(p, __NR_tgkill, 0, {self});
  // Nobody may take SIGSYS away from the reporter.
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, __NR_rt_sigaction, 0, 4);
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgLo(0));
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, SIGSYS, 0, 1);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

  sock_fprog prog;
  prog.len = static_cast<unsigned short>(p.size());
  prog.filter = p.data();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
}

}  // namespace kf::worker
