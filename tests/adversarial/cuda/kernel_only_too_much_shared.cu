// expect: runtime_error
// task: tasks/cuda/softmax_rows
// detail: dynamic shared memory
// trick: none meant: asks for 512 KiB of dynamic shared memory per block, more than any GPU has.
// The driver refuses the launch configuration; kforge reports it by name instead of judging an
// output nothing wrote.
// kforge-launch: kernel=softmax_row<128> grid=rows block=128 shared=524288
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
