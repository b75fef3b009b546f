// expect: runtime_error
// task: tasks/cuda/softmax_rows
// detail: wrote outside its buffers
// trick: a correct kernel-only softmax that also keeps each row's maximum in a "scratch area"
// just past the end of its output (y[rows*cols + r]): memory nobody gave it, close enough to the
// buffers that the store does not fault. What stops it: guard zones of 4 MiB before and after
// each call's buffers, filled with a pattern before the call and checked after it.
// kforge-launch: kernel=softmax_row<128> grid=rows block=128
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
  if (threadIdx.x == 0) y[rows * cols + blockIdx.x] = m;
  const float inv = 1.0f / partial[0];
  for (int64_t c = threadIdx.x; c < cols; c += kThreads) yr[c] = expf(xr[c] - m) * inv;
}
