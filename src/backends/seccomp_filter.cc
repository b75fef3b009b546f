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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <vector>

namespace kf::worker {
namespace {

#if defined(__x86_64__)
constexpr unsigned kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kAuditArch = AUDIT_ARCH_AARCH64;
#else
#error "kforge's worker filter supports x86_64 and aarch64"
#endif

struct Named {
  long nr;
  const char* name;
};

// Denied by the deny-list profiles (the allow-list denies them by leaving them out). Each one is
// a trick seen or expected, not a call a kernel needs: network, new processes and programs, other
// processes' memory and signals (pidfd and sigqueue reach past the kill rule), io_uring (does file
// and network work that no other rule sees), SysV shared memory (executable shared mappings),
// keyrings (the user's secrets), namespaces and mounts, READ_IMPLIES_EXEC (makes every readable
// mapping executable), memfd (a writable file to map executable).
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
    {__NR_process_madvise, "process_madvise"},
    {__NR_kcmp, "kcmp"},
    {__NR_memfd_create, "memfd_create"},
    {__NR_setsid, "setsid"},
    {__NR_setpgid, "setpgid"},
    {__NR_io_uring_setup, "io_uring_setup"},
    {__NR_io_uring_enter, "io_uring_enter"},
    {__NR_io_uring_register, "io_uring_register"},
    {__NR_shmget, "shmget"},
    {__NR_shmat, "shmat"},
    {__NR_shmctl, "shmctl"},
    {__NR_pidfd_open, "pidfd_open"},
    {__NR_pidfd_send_signal, "pidfd_send_signal"},
    {__NR_pidfd_getfd, "pidfd_getfd"},
    {__NR_rt_sigqueueinfo, "rt_sigqueueinfo"},
    {__NR_rt_tgsigqueueinfo, "rt_tgsigqueueinfo"},
    {__NR_tkill, "tkill"},
    {__NR_add_key, "add_key"},
    {__NR_request_key, "request_key"},
    {__NR_keyctl, "keyctl"},
    {__NR_unshare, "unshare"},
    {__NR_setns, "setns"},
    {__NR_mount, "mount"},
    {__NR_umount2, "umount2"},
    {__NR_pivot_root, "pivot_root"},
    {__NR_chroot, "chroot"},
    {__NR_personality, "personality"},
    {__NR_userfaultfd, "userfaultfd"},
    {__NR_bpf, "bpf"},
#if defined(__x86_64__)
    {__NR_fork, "fork"},
    {__NR_vfork, "vfork"},
#endif
};

// Denied by kDenyStrict: changes to the file system.
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

// Allowed only with some arguments (checked in the filter below); the name says which use traps.
const Named kConditional[] = {
    {__NR_clone, "clone (new process)"},
    {__NR_openat, "openat (for writing)"},
    {__NR_mprotect, "mprotect (making memory executable)"},
    {__NR_mmap, "mmap (anonymous executable memory)"},
    {__NR_kill, "kill (another process)"},
    {__NR_tgkill, "tgkill (another process)"},
    {__NR_rt_sigaction, "rt_sigaction (SIGSYS)"},
    {__NR_ioctl, "ioctl (other than terminal queries)"},
    {__NR_prlimit64, "prlimit64 (setting a limit)"},
#if defined(__x86_64__)
    {__NR_open, "open (for writing)"},
#endif
};

// The allow-list: what the CPU worker (its request loop, dlopen of a candidate, the timing loop)
// and a kernel (libc, libm, libstdc++, libgomp where threads are allowed) call once the filter is
// on. Derived with `strace -f` over the adversarial suite and the tasks' reference programs. The
// conditional calls above are allowed by their own rules, not here.
const Named kAllowed[] = {
    {__NR_read, "read"},
    {__NR_write, "write"},
    {__NR_readv, "readv"},
    {__NR_writev, "writev"},
    {__NR_pread64, "pread64"},
    {__NR_preadv, "preadv"},
    {__NR_preadv2, "preadv2"},
    {__NR_lseek, "lseek"},
    {__NR_close, "close"},
    {__NR_fstat, "fstat"},
    {__NR_newfstatat, "newfstatat"},
    {__NR_statx, "statx"},
    {__NR_fstatfs, "fstatfs"},
    {__NR_statfs, "statfs"},
    {__NR_faccessat, "faccessat"},
    {__NR_faccessat2, "faccessat2"},
    {__NR_readlinkat, "readlinkat"},
    {__NR_getcwd, "getcwd"},
    {__NR_getdents64, "getdents64"},
    {__NR_fcntl, "fcntl"},
    {__NR_dup, "dup"},
    {__NR_dup3, "dup3"},
    {__NR_munmap, "munmap"},
    {__NR_mremap, "mremap"},
    {__NR_madvise, "madvise"},
    {__NR_brk, "brk"},
    {__NR_futex, "futex"},
    {__NR_set_robust_list, "set_robust_list"},
    {__NR_get_robust_list, "get_robust_list"},
    {__NR_rseq, "rseq"},
    {__NR_set_tid_address, "set_tid_address"},
    {__NR_membarrier, "membarrier"},
    {__NR_sched_yield, "sched_yield"},
    {__NR_sched_getaffinity, "sched_getaffinity"},
    {__NR_sched_setaffinity, "sched_setaffinity"},
    {__NR_sched_getparam, "sched_getparam"},
    {__NR_sched_getscheduler, "sched_getscheduler"},
    {__NR_sched_get_priority_max, "sched_get_priority_max"},
    {__NR_sched_get_priority_min, "sched_get_priority_min"},
    {__NR_getcpu, "getcpu"},
    {__NR_nanosleep, "nanosleep"},
    {__NR_clock_nanosleep, "clock_nanosleep"},
    {__NR_clock_gettime, "clock_gettime"},
    {__NR_clock_getres, "clock_getres"},
    {__NR_gettimeofday, "gettimeofday"},
    {__NR_getpid, "getpid"},
    {__NR_gettid, "gettid"},
    {__NR_getppid, "getppid"},
    {__NR_getuid, "getuid"},
    {__NR_geteuid, "geteuid"},
    {__NR_getgid, "getgid"},
    {__NR_getegid, "getegid"},
    {__NR_getrusage, "getrusage"},
    {__NR_times, "times"},
    {__NR_sysinfo, "sysinfo"},
    {__NR_uname, "uname"},
    {__NR_getrandom, "getrandom"},
    {__NR_rt_sigprocmask, "rt_sigprocmask"},
    {__NR_rt_sigreturn, "rt_sigreturn"},
    {__NR_sigaltstack, "sigaltstack"},
    {__NR_exit, "exit"},
    {__NR_exit_group, "exit_group"},
    {__NR_restart_syscall, "restart_syscall"},
    {__NR_ppoll, "ppoll"},
    {__NR_pselect6, "pselect6"},
#if defined(__x86_64__)
    {__NR_stat, "stat"},
    {__NR_lstat, "lstat"},
    {__NR_access, "access"},
    {__NR_readlink, "readlink"},
    {__NR_dup2, "dup2"},
    {__NR_time, "time"},
    {__NR_poll, "poll"},
    {__NR_select, "select"},
    {__NR_arch_prctl, "arch_prctl"},
#endif
};

// Calls left out of the allow-list that a candidate may well try: named in reports.
const Named kOtherNames[] = {
    {__NR_setitimer, "setitimer"},
    {__NR_getitimer, "getitimer"},
    {__NR_timer_create, "timer_create"},
    {__NR_timer_settime, "timer_settime"},
    {__NR_timerfd_create, "timerfd_create"},
    {__NR_timerfd_settime, "timerfd_settime"},
    {__NR_prctl, "prctl"},
    {__NR_setrlimit, "setrlimit"},
    {__NR_shmdt, "shmdt"},
    {__NR_msgget, "msgget"},
    {__NR_semget, "semget"},
    {__NR_mq_open, "mq_open"},
    {__NR_perf_event_open, "perf_event_open"},
    {__NR_seccomp, "seccomp"},
    {__NR_pkey_mprotect, "pkey_mprotect"},
    {__NR_wait4, "wait4"},
    {__NR_waitid, "waitid"},
    {__NR_pipe2, "pipe2"},
    {__NR_eventfd2, "eventfd2"},
    {__NR_signalfd4, "signalfd4"},
    {__NR_epoll_create1, "epoll_create1"},
    {__NR_sendto, "sendto"},
    {__NR_recvfrom, "recvfrom"},
    {__NR_sendmsg, "sendmsg"},
    {__NR_recvmsg, "recvmsg"},
    {__NR_ftruncate, "ftruncate"},
    {__NR_fchmod, "fchmod"},
    {__NR_fchown, "fchown"},
    {__NR_utimensat, "utimensat"},
    {__NR_mlock, "mlock"},
    {__NR_mincore, "mincore"},
    {__NR_mbind, "mbind"},
    {__NR_set_mempolicy, "set_mempolicy"},
    {__NR_move_pages, "move_pages"},
    {__NR_migrate_pages, "migrate_pages"},
    {__NR_sched_setattr, "sched_setattr"},
    {__NR_sched_setscheduler, "sched_setscheduler"},
    {__NR_setpriority, "setpriority"},
    {__NR_pwrite64, "pwrite64"},
    {__NR_sendfile, "sendfile"},
    {__NR_splice, "splice"},
    {__NR_copy_file_range, "copy_file_range"},
    {__NR_fsync, "fsync"},
#if defined(__x86_64__)
    {__NR_alarm, "alarm"},
    {__NR_pipe, "pipe"},
    {__NR_modify_ldt, "modify_ldt"},
#endif
};

int g_result_fd = -1;

template <size_t N>
const char* Find(const Named (&table)[N], long nr) {
  for (const auto& d : table) {
    if (d.nr == nr) return d.name;
  }
  return nullptr;
}

const char* KnownName(long nr) {
  if (nr == __NR_clone3) return "clone3";
  if (nr == __NR_openat2) return "openat2";
  if (const char* n = Find(kConditional, nr)) return n;
  if (const char* n = Find(kDenied, nr)) return n;
  if (const char* n = Find(kDeniedStrict, nr)) return n;
  if (const char* n = Find(kOtherNames, nr)) return n;
  return Find(kAllowed, nr);
}

// Appends s to buf[*n] without passing size - 1. Async-signal-safe.
void Append(char* buf, unsigned size, unsigned* n, const char* s) {
  while (*s && *n + 1 < size) buf[(*n)++] = *s++;
  buf[*n] = '\0';
}

// The trapped call's argument i (0, 1, 2 or 3) from the registers it was made with.
unsigned long Arg(void* context, int i) {
  const auto* uc = static_cast<const ucontext_t*>(context);
#if defined(__x86_64__)
  const int regs[] = {REG_RDI, REG_RSI, REG_RDX, REG_R10};
  return static_cast<unsigned long>(uc->uc_mcontext.gregs[regs[i]]);
#else
  return static_cast<unsigned long>(uc->uc_mcontext.regs[i]);
#endif
}

// Async-signal-safe: only write() and exit_group.
void OnSigsys(int, siginfo_t* info, void* context) {
  char name[96];
  // The only clone with CLONE_THREAD and the only mmap of a stack that trap are the ones the
  // task's no-threads rule forbids.
  const bool thread = (info->si_syscall == __NR_clone && (Arg(context, 0) & CLONE_THREAD)) ||
                      (info->si_syscall == __NR_mmap && (Arg(context, 3) & MAP_STACK));
  if (thread) {
    unsigned n = 0;
    name[0] = '\0';
    Append(name, sizeof(name), &n, "clone (a thread: this task forbids threads)");
  } else {
    SyscallName(info->si_syscall, name, sizeof(name));
  }
  char buf[256];
  unsigned n = 0;
  Append(buf, sizeof(buf), &n, "{\"ok\":false,\"violation\":\"");
  Append(buf, sizeof(buf) - 4, &n, name);
  Append(buf, sizeof(buf), &n, "\"}\n");
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
constexpr unsigned kArgHi(int i) { return kArgLo(i) + 4; }

void LoadNr(Prog& p) { Stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)); }

// Emits: if (nr == this) return action.
void Return(Prog& p, long nr, unsigned action) {
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1);
  Stmt(p, BPF_RET | BPF_K, action);
}

// Emits: if (nr == this) { load arg; if (arg & mask) trap; else allow }.
void TrapIfArgHasBits(Prog& p, long nr, int arg, unsigned mask) {
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 4);
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgLo(arg));
  Jump(p, BPF_JMP | BPF_JSET | BPF_K, mask, 0, 1);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  LoadNr(p);  // for the next test
}

// Emits: if (nr == this && (arg & mask)) trap; otherwise on to the next test.
void TrapIfArgHasBitsElseContinue(Prog& p, long nr, int arg, unsigned mask) {
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 3);
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgLo(arg));
  Jump(p, BPF_JMP | BPF_JSET | BPF_K, mask, 0, 1);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  LoadNr(p);
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
  LoadNr(p);
}

Prog BuildProgram(const FilterOptions& o, unsigned self) {
  const bool allow_list = o.profile == FilterProfile::kAllowList;
  const bool strict = o.profile != FilterProfile::kDenyList;
  Prog p;
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
  LoadNr(p);
#if defined(__x86_64__)
  Jump(p, BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);  // the x32 ABI
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
#endif
  if (!allow_list) {
    for (const auto& d : kDenied) Return(p, d.nr, SECCOMP_RET_TRAP);
  }
  if (o.profile == FilterProfile::kDenyStrict) {
    for (const auto& d : kDeniedStrict) Return(p, d.nr, SECCOMP_RET_TRAP);
  }
  // clone3 hides its flags in memory the filter cannot read: make glibc fall back to clone.
  Return(p, __NR_clone3, SECCOMP_RET_ERRNO | ENOSYS);
  if (o.threads) {
    // clone: threads only (a new process lacks CLONE_THREAD).
    Jump(p, BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4);
    Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgLo(0));
    Jump(p, BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 1, 0);
    Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
    Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    LoadNr(p);
  } else {
    Return(p, __NR_clone, SECCOMP_RET_TRAP);
    // pthread_create blocks every signal around its clone, and a trap while SIGSYS is blocked
    // kills the worker unreported: refuse the thread earlier, at the mmap of its stack.
    TrapIfArgHasBitsElseContinue(p, __NR_mmap, 3, MAP_STACK);
  }
  if (strict) {
    const unsigned kWriteFlags = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
    TrapIfArgHasBits(p, __NR_openat, 2, kWriteFlags);
#if defined(__x86_64__)
    TrapIfArgHasBits(p, __NR_open, 1, kWriteFlags);
#endif
    // openat2 carries its flags in memory too.
    Return(p, __NR_openat2, SECCOMP_RET_ERRNO | ENOSYS);
    TrapIfArgHasBits(p, __NR_mprotect, 2, PROT_EXEC);
    Return(p, __NR_pkey_mprotect, SECCOMP_RET_ERRNO | EPERM);
    // mmap of executable memory is fine for files (the loader maps libraries so) but not anonymous.
    Jump(p, BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 6);
    Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgLo(2));
    Jump(p, BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 3);
    Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgLo(3));
    Jump(p, BPF_JMP | BPF_JSET | BPF_K, MAP_ANONYMOUS, 0, 1);
    Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
    Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    LoadNr(p);
  }
  TrapUnlessArgIn(p, __NR_kill, 0, {0u, self});
  TrapUnlessArgIn(p, __NR_tgkill, 0, {self});
  // Nobody may take SIGSYS away from the reporter.
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, __NR_rt_sigaction, 0, 4);
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgLo(0));
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, SIGSYS, 0, 1);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  LoadNr(p);
  if (!allow_list) {
    Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    return p;
  }
  if (!strict) return p;  // unreachable: the allow-list is always strict
  // ioctl: terminal queries only (isatty, the window size, bytes waiting); TIOCSTI and friends on
  // a terminal the worker inherited without bubblewrap would type into the user's shell.
  TrapUnlessArgIn(p, __NR_ioctl, 1, {TCGETS, TIOCGWINSZ, FIONREAD});
  // prlimit64: reading limits only (pid 0, no new limit).
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, __NR_prlimit64, 0, 8);
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgLo(0));
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 4);
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgLo(2));
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2);
  Stmt(p, BPF_LD | BPF_W | BPF_ABS, kArgHi(2));
  Jump(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  LoadNr(p);
  for (const auto& a : kAllowed) Return(p, a.nr, SECCOMP_RET_ALLOW);
  Stmt(p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  return p;
}

}  // namespace

void SyscallName(long nr, char* buf, unsigned size) {
  if (size == 0) return;
  unsigned n = 0;
  buf[0] = '\0';
  if (const char* known = KnownName(nr)) {
    Append(buf, size, &n, known);
    return;
  }
  char digits[24];
  int d = 0;
  unsigned long v = nr < 0 ? 0 : static_cast<unsigned long>(nr);
  do {
    digits[d++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v && d < 23);
  char number[24];
  for (int i = 0; i < d; ++i) number[i] = digits[d - 1 - i];
  number[d] = '\0';
  Append(buf, size, &n, "system call ");
  Append(buf, size, &n, number);
}

bool InstallSeccompFilter(int result_fd, const FilterOptions& options) {
  g_result_fd = result_fd;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = OnSigsys;
  sa.sa_flags = SA_SIGINFO;
  if (sigaction(SIGSYS, &sa, nullptr) != 0) return false;

  Prog p = BuildProgram(options, static_cast<unsigned>(getpid()));
  sock_fprog prog;
  prog.len = static_cast<unsigned short>(p.size());
  prog.filter = p.data();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
}

}  // namespace kf::worker
