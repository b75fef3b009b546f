// expect: runtime_error
// task: tasks/cuda/softmax_rows
// detail: is 0 at
// trick: none meant, a common slip: one block per 4 rows with a truncating division, so tables
// of fewer than 4 rows launch an empty grid and leave the output unwritten. kforge evaluates the
// declared grid at every checked size and names the size at which it is empty.
// kforge-launch: kernel=softmax_row<128> grid=rows/4 block=128
#include <cstdint>

template <int kThreads>
__global__ void softmax_row(const float* x, float* y, int64_t rows, int64_t cols) {
  __shared__ float partial[kThreads];
  const float* xr = x + blockIdx.x * cols;
  float* yr = y + blockIdx.x * cols;
  float m = -INFINITY;
  for (int64_t c = threadIdx.x; c < cols; c += kThreads) m = fmaxf(m, xr[c]);
  partial[threadIdx.x] = m;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s /= 2) {
    if (threadIdx.x < s)
      partial[threadIdx.x] = fmaxf(partial[threadIdx.x], partial[threadIdx.x + s]);
    __syncthreads();
  }
  m = partial[0];
  __syncthreads();
  float sum = 0;
  for (int64_t c = threadIdx.x; c < cols; c += kThreads) sum += expf(xr[c] - m);
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  const float inv = 1.0f / partial[0];
  for (int64_t c = threadIdx.x; c < cols; c += kThreads) yr[c] = expf(xr[c] - m) * inv;
}
