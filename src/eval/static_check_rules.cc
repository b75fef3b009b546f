#include "eval/static_check_rules.h"

namespace kf::eval::static_check {

// The identifier lists go a little beyond the names in the spec where a sibling does the same
// thing (execvpe, open64, wordexp, which runs a shell, pthread_exit, getrusage).
const std::vector<Rule>& Rules() {
  static const std::vector<Rule> kRules = {
      {"process",
       {"fork",   "vfork", "clone",       "clone3",       "__clone", "execl",    "execle",
        "execlp", "execv", "execve",      "execvp",       "execvpe", "execveat", "fexecve",
        "system", "popen", "posix_spawn", "posix_spawnp", "wordexp", "ptrace"}},
      {"exit",
       {"exit", "_exit", "_Exit", "quick_exit", "atexit", "at_quick_exit", "on_exit",
        "pthread_exit", "thrd_exit"}},
      {"threads", {"pthread_create", "thrd_create", "omp"}},
      {"timers",
       {"clock_gettime", "gettimeofday", "clock", "time", "times", "ftime", "timespec_get",
        "getrusage", "rdtsc", "__rdtsc", "__rdtscp", "__builtin_ia32_rdtsc",
        "__builtin_ia32_rdtscp", "__builtin_readcyclecounter", "chrono",
        // CUDA: the device's cycle counters and the host's event timer.
        "clock64", "cudaEventElapsedTime", "cuEventElapsedTime"}},
      {"environment",
       {"getenv", "secure_getenv", "setenv", "putenv", "unsetenv", "clearenv", "environ",
        "__environ"}},
      {"network",
       {"socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "getaddrinfo",
        "gethostbyname", "sendto", "recvfrom", "sendmsg", "recvmsg"}},
      {"files",
       {"fopen",   "fopen64",  "freopen",  "fdopen",    "tmpfile",  "tmpfile64", "open",
        "open64",  "openat",   "openat64", "creat",     "creat64",  "unlink",    "unlinkat",
        "remove",  "rename",   "renameat", "renameat2", "mkdir",    "mkdirat",   "rmdir",
        "mkstemp", "mkostemp", "tmpnam",   "symlink",   "ifstream", "ofstream",  "fstream"}},
      {"asm", {"asm", "__asm__", "__asm"}},
      {"memory_protection",
       {"mprotect", "pkey_mprotect", "PROT_EXEC", "dlopen", "dlmopen", "dlsym", "dlvsym",
        "__libc_dlopen_mode", "__libc_dlsym"}},
      {"signals",
       {"signal", "sigaction", "sigaltstack", "sigprocmask", "pthread_sigmask", "kill", "tgkill",
        "pthread_kill", "alarm", "ualarm", "setitimer"}},
      {"syscall", {"syscall"}},
      // CUDA: what a kernel entry never needs. Streams of its own (work the harness's stream
      // does not order or time), host callbacks (a thread by another name), graphs (launch work
      // later, or capture the harness's launches), and device-wide settings that outlive the
      // call or undo the harness's cold-cache setup (persisting-L2 windows and limits, cache
      // configuration, switching or resetting the device). The driver API's twins too.
      // cudaMemcpyAsync, cudaMemsetAsync and cudaFuncSetAttribute stay allowed.
      {"streams",
       {"cudaStreamCreate",
        "cudaStreamCreateWithFlags",
        "cudaStreamCreateWithPriority",
        "cudaStreamDestroy",
        "cudaStreamSetAttribute",
        "cudaStreamAddCallback",
        "cudaLaunchHostFunc",
        "cudaStreamBeginCapture",
        "cudaStreamEndCapture",
        "cudaGraphInstantiate",
        "cudaGraphInstantiateWithFlags",
        "cudaGraphLaunch",
        "cudaDeviceSetLimit",
        "cudaDeviceSetCacheConfig",
        "cudaDeviceSetSharedMemConfig",
        "cudaCtxResetPersistingL2Cache",
        "cudaAccessPolicyWindow",
        "accessPolicyWindow",
        "cudaAccessPropertyPersisting",
        "cudaLimitPersistingL2CacheSize",
        "cudaStreamAttributeAccessPolicyWindow",
        "cudaLaunchAttributeAccessPolicyWindow",
        "cudaSetDevice",
        "cudaSetDeviceFlags",
        "cudaDeviceReset",
        "cuStreamCreate",
        "cuStreamCreateWithPriority",
        "cuStreamDestroy",
        "cuStreamSetAttribute",
        "cuStreamAddCallback",
        "cuLaunchHostFunc",
        "cuStreamBeginCapture",
        "cuGraphLaunch",
        "cuCtxSetLimit",
        "cuCtxSetCacheConfig",
        "cuCtxResetPersistingL2Cache",
        "cuCtxCreate",
        "cuCtxSetCurrent",
        "cuCtxPushCurrent",
        "cuDevicePrimaryCtxReset"}},
      // Calls into prebuilt vendor kernels or frameworks where the task asks for a hand-written
      // kernel. Identifiers by prefix (kPrefixRules) and headers (kHeaderRules).
      {"vendor_libraries", {}},
  };
  return kRules;
}

const std::unordered_map<std::string_view, std::string_view>& RuleOfIdentifier() {
  static const auto* kMap = [] {
    auto* map = new std::unordered_map<std::string_view, std::string_view>();
    for (const Rule& rule : Rules()) {
      for (std::string_view id : rule.identifiers) map->emplace(id, rule.name);
    }
    return map;
  }();
  return *kMap;
}

}  // namespace kf::eval::static_check
