// expect: wrong_answer
// task: tasks/cuda/softmax_rows
// trick: launches nothing and returns at once, betting that the output buffer on the device
// still holds a right answer from an earlier call (its own, or whatever the harness left
// there), and that a harness which times only its stream's events sees a blazing kernel.
// What stops it (rule 6): the output is poisoned (NaN) in the host arena before every call and
// the whole span, outputs included, is copied to the device before the entry runs, so an
// unwritten output reads back as the poison.
#include <cuda_runtime.h>

#include <cstdint>

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols,
                             cudaStream_t stream) {
  (void)x;
  (void)y;
  (void)rows;
  (void)cols;
  (void)stream;
}
