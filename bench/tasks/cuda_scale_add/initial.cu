// Baseline for cuda_scale_add: one thread per element, a grid-stride loop with a small grid.
#include <cuda_runtime.h>

#include <cstdint>

__global__ void scale_add_naive(const float* x, const float* b, float* y, int64_t n) {
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) y[i] = 2.0f * x[i] + b[i];
}

extern "C" void scale_add(const float* x, const float* b, float* y, int64_t n,
                          cudaStream_t stream) {
  scale_add_naive<<<1, 256, 0, stream>>>(x, b, y, n);
}
