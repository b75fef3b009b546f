// expect: sandbox_violation
// detail: personality
// trick: sets the READ_IMPLIES_EXEC personality (token-pasted), after which the kernel makes
// every readable mapping executable: a plain mmap(PROT_READ | PROT_WRITE) of anonymous memory
// then holds runnable code, and the filter's rule on PROT_EXEC never sees the bit. If the call
// is merely refused without being reported, the candidate computes a correct softmax, so the
// case reads `ok` and fails.
#define _DEFAULT_SOURCE  // MAP_ANONYMOUS under -std=c17
#include <math.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/personality.h>

#define KF_CAT(a, b) a##b
#define KF_PERSONA KF_CAT(person, ality)

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  if (KF_PERSONA(READ_IMPLIES_EXEC) != -1) {
    unsigned char* code = (unsigned char*)mmap(0, 4096, PROT_READ | PROT_WRITE,
                                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code != (unsigned char*)MAP_FAILED) {
#if defined(__x86_64__)
      code[0] = 0xc3;  // ret
      ((void (*)(void))code)();
#endif
    }
  }
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
