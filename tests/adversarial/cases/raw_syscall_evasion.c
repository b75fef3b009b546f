// expect: sandbox_violation
// detail: socket
// trick: issues the socket system call directly with a `syscall` / `svc` instruction, through
// inline assembly whose keyword (__asm__) is built by token pasting: no libc function, no
// forbidden identifier, nothing for an LD_PRELOAD shim to catch. Only a kernel-level filter
// (seccomp) stops it. x86-64 and aarch64.
#include <math.h>
#include <stdint.h>

#define KF_CAT(a, b) a##b
#define KF_INLINE_ASM KF_CAT(__as, m__)

static long kf_raw_call3(long nr, long a, long b, long c) {
  long ret;
#if defined(__x86_64__)
  KF_INLINE_ASM volatile("syscall"
                         : "=a"(ret)
                         : "a"(nr), "D"(a), "S"(b), "d"(c)
                         : "rcx", "r11", "memory");
#elif defined(__aarch64__)
  register long x8 KF_INLINE_ASM("x8") = nr;
  register long x0 KF_INLINE_ASM("x0") = a;
  register long x1 KF_INLINE_ASM("x1") = b;
  register long x2 KF_INLINE_ASM("x2") = c;
  KF_INLINE_ASM volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  ret = x0;
#else
#error "raw_syscall_evasion.c supports x86-64 and aarch64 only"
#endif
  return ret;
}

#if defined(__x86_64__)
enum { kNrSocket = 41, kNrClose = 3 };
#else
enum { kNrSocket = 198, kNrClose = 57 };
#endif

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  long fd = kf_raw_call3(kNrSocket, 2 /* AF_INET */, 1 /* SOCK_STREAM */, 0);
  if (fd >= 0) kf_raw_call3(kNrClose, fd, 0, 0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    double s = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      yr[j] = expf(xr[j] - m);
      s += yr[j];
    }
    for (int64_t j = 0; j < cols; ++j) yr[j] = (float)(yr[j] / s);
  }
}
