// Cheap static checks on candidate source before it is compiled: a candidate that names fork(),
// getenv(), a timer, a thread or inline asm gets verdict static_violation with the rule, the line
// and its text, and never reaches the compiler. This is a first filter that gives the author a
// precise message; the sandbox is what enforces the rules at run time.
//
// What counts: identifiers, after comments, string and character literals are removed (line
// numbers kept). Each default rule (StaticRuleNames()) has a list of identifiers; a task's policy
// may lift rules by name (`allow`) and forbid extra identifiers (`forbid`, reported as rule
// "policy"). Identifiers match exactly: `thread_count` is not `thread`. Beyond plain identifiers:
//   - `thread`, `jthread` and `async` fire `threads` when written `std::thread` (or after
//     `using namespace std`); `std::bind` does not fire `network`.
//   - `#include` of a header that only serves a rule fires it: <pthread.h> <thread> <omp.h> ->
//     threads; <time.h> <ctime> <sys/time.h> <chrono> -> timers; <sys/socket.h> <netinet/...>
//     <arpa/inet.h> <netdb.h> -> network; <dlfcn.h> -> memory_protection; <spawn.h> -> process.
//     <unistd.h> and <sys/mman.h> are allowed (mmap is; mprotect and PROT_EXEC are not). An
//     include (or #embed) of an absolute path or one with ".." fires `files`: it would read a
//     file at compile time and show it in the compiler log.
//   - CUDA sources (.cu) go through the same check. Rule `streams` forbids what a kernel entry
//     never needs: streams of its own, host callbacks, graphs, persisting-L2 access policy
//     windows and limits, device-wide cache settings, switching or resetting the device (runtime
//     and driver API names). cudaMemcpyAsync, cudaMemsetAsync and cudaFuncSetAttribute are
//     allowed. Rule `vendor_libraries` forbids prebuilt vendor kernels and frameworks: every
//     identifier starting with cublas, cudnn, cufft, cusparse, cusolver or cutensor (or their
//     upper-case CUBLAS_... constants), and includes of their headers (cublas*.h, cudnn*.h,
//     cufft*.h, cusparse*.h, cusolver*.h, cutensor*.h and curand.h, also under a directory) and
//     of <torch/...>, <ATen/...>, <c10/...>. curand_kernel.h (device-side RNG) is allowed.
//     `timers` also covers clock64 and cudaEventElapsedTime.
//   - a string literal (adjacent literals joined, escapes decoded) naming "/proc/" fires
//     memory_protection.
//   - the string argument of _Pragma and of the symbol-naming attributes alias, weakref, ifunc and
//     symver is read as code, so `_Pragma("omp parallel")` and `weakref("fork")` fire.
//   - line splices (backslash-newline) are undone first, so `fo\<newline>rk` is `fork`.
//   - the source is lexed twice, as C17 (trigraphs) and as C++20 (raw strings, digit separators),
//     and an identifier seen by either lexing counts: text cannot hide as a literal in one
//     language while being code in the other.
// Known limits, left to the sandbox: names built by the preprocessor (`CAT(for,k)`, which also
// hides `cudaStreamCreate` or a cuBLAS call), calls through pointers found at run time, raw
// system-call instructions spelled as bytes, and `thread` after a namespace alias other than `std`.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kf::eval {

struct StaticPolicy {
  std::vector<std::string> allow;   // default rule names to lift
  std::vector<std::string> forbid;  // extra identifiers to forbid (rule "policy")
};

struct StaticViolation {
  std::string rule;        // a name from StaticRuleNames(), or "policy"
  std::string identifier;  // what matched: an identifier, a header ("sys/socket.h"), "/proc/"
  int line = 0;            // 1-based
  std::string text;        // the source line, trimmed, at most 200 characters
};

// Returns the first violation in source order, or nullopt. Unknown rule names in policy.allow are
// ignored here and reported by ValidateStaticPolicy.
std::optional<StaticViolation> RunStaticChecks(std::string_view source, const StaticPolicy& policy);

// The checks for a ModelNew candidate of a PyTorch task (python_check.cc): imports outside
// torch, triton, numpy and the pure standard modules (math, typing, functools...) are refused
// (rule "import"), and so are names that reach the process, files, the network or the harness:
// open, exec, eval, bare compile, __import__, globals, setattr, sys, os, ctypes, time,
// threading, gc, inspect... (rule "escape"), and assignments to torch's attributes (rule "patch":
// patched timers, patched comparisons). String literals and comments are not scanned (the CUDA
// of load_inline lives there; the worker's system-call filter covers it at run time).
std::optional<StaticViolation> RunPythonStaticChecks(std::string_view source);

// Checks that every `allow` entry names a rule and every `forbid` entry is an identifier.
Status ValidateStaticPolicy(const StaticPolicy& policy);

// The default rules, in a fixed order: process, exit, threads, timers, environment, network,
// files, asm, memory_protection, signals, syscall, streams, vendor_libraries.
const std::vector<std::string>& StaticRuleNames();

}  // namespace kf::eval
