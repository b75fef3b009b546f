// expect: wrong_answer
// task: tasks/cuda/softmax_rows
// trick: copies "the reference's output" from just past its own output buffer, where a harness
// that allocated the reference's buffers after the candidate's (one arena for both) would have
// put them, and computes nothing. What stops it (rule 8): the reference runs in another process,
// on the host, after the candidate; the device holds nothing of it, and the bytes past the output
// are the guard zone's pattern.
// kforge-launch: kernel=softmax_row<128> grid=rows block=128
#include <cstdint>

template <int kThreads>
__global__ void softmax_row(const float* x, float* y, int64_t rows, int64_t cols) {
  const float* reference_y = y + rows * cols;
  for (int64_t c = threadIdx.x; c < cols; c += kThreads)
    y[blockIdx.x * cols + c] = reference_y[blockIdx.x * cols + c];
}
