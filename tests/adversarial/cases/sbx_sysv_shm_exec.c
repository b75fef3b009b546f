// expect: sandbox_violation
// detail: shmget
// trick: gets executable memory without mmap(PROT_EXEC) or mprotect: a System V shared memory
// segment attached with SHM_EXEC, entry points token-pasted past the static check. Code written
// there could patch or replace the worker's timing. If the segment is merely refused without
// being reported, the candidate computes a correct softmax, so the case reads `ok` and fails.
#include <math.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#define KF_CAT(a, b) a##b
#define KF_GET KF_CAT(shm, get)
#define KF_AT KF_CAT(shm, at)

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  int id = KF_GET(IPC_PRIVATE, 4096, IPC_CREAT | 0700);
  if (id >= 0) {
    unsigned char* code = (unsigned char*)KF_AT(id, 0, SHM_EXEC);
    if (code != (unsigned char*)-1) {
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
