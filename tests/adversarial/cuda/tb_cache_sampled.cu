// expect: ok
// task: tasks/cuda/softmax_rows
// max_speedup: 40
// good_speedup_within: 0.5
// today: not run here (no GPU); the CPU form reads about 145% of peak and a large speedup
// trick: answers from a cache keyed on sampled input values, CUDA form (tb_cache_sampled.c).
// Every timed buffer set holds the same inputs and timed outputs are never compared, so the
// candidate keeps, per shape, 16 values sampled from x (copied to the host on the harness's
// stream) and the set of output buffers it has already written for those values. A call whose
// sample and output buffer were seen returns without touching memory but for a spin kernel
// (pasted clock64) sized to read 1.4 times the copy bandwidth it measured itself once (a
// 256 MiB device-to-device copy between events; pasted cudaEventElapsedTime): inside the 2x
// the roofline floor allows. Checks draw fresh values (misses, computed). Stopped by
// different inputs in every timed set, outputs of timed calls sampled against the reference
// and a time beyond 100% of the peak being `suspicious`.
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>

#define KF_CAT(a, b) a##b

namespace {

constexpr int kThreads = 256;

__device__ float block_max(float v, float* sh) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = v;
  __syncthreads();
  v = (threadIdx.x & 31) < kThreads / 32 ? sh[threadIdx.x & 31] : -INFINITY;
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ float block_sum(float v, float* sh) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();
  if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = v;
  __syncthreads();
  v = (threadIdx.x & 31) < kThreads / 32 ? sh[threadIdx.x & 31] : 0.0f;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__global__ void __launch_bounds__(kThreads)
    softmax_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t rows, int64_t cols) {
  __shared__ float sh[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -INFINITY;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) m = fmaxf(m, xr[c]);
    m = block_max(m, sh);
    float s = 0.0f;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) s += expf(xr[c] - m);
    s = block_sum(s, sh);
    const float inv = 1.0f / s;
    for (int64_t c = threadIdx.x; c < cols; c += kThreads) yr[c] = expf(xr[c] - m) * inv;
  }
}

void launch_softmax(const float* x, float* y, int64_t rows, int64_t cols, cudaStream_t stream) {
  const unsigned grid = (unsigned)(rows < (1 << 20) ? rows : (1 << 20));
  softmax_kernel<<<grid, kThreads, 0, stream>>>(x, y, rows, cols);
}

__global__ void spin(long long cycles) {
  const long long t0 = KF_CAT(clo, ck64)();
  while (KF_CAT(clo, ck64)() - t0 < cycles) {
  }
}

double g_bytes_per_s = 0;  // this device's copy bandwidth (read + write), measured once
double g_clock_hz = 0;

void measure(cudaStream_t stream) {
  const size_t bytes = size_t{256} << 20;
  void *a = nullptr, *b = nullptr;
  cudaEvent_t e0, e1;
  if (cudaMalloc(&a, bytes) != cudaSuccess || cudaMalloc(&b, bytes) != cudaSuccess) return;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  float best = 1e30f;
  for (int rep = 0; rep < 5; rep++) {
    cudaEventRecord(e0, stream);
    cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream);
    cudaEventRecord(e1, stream);
    cudaEventSynchronize(e1);
    float ms = 0;
    KF_CAT(cudaEventElapsed, Time)(&ms, e0, e1);
    if (ms > 0 && ms < best) best = ms;
  }
  g_bytes_per_s = 2.0 * bytes / (best * 1e-3);
  cudaFree(a);
  cudaFree(b);
  int dev = 0, khz = 0;
  cudaGetDevice(&dev);
  cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, dev);
  g_clock_hz = khz * 1e3;
}

constexpr int kSamples = 16;
constexpr int kOutputs = 4096;
struct Seen {
  int64_t rows = 0, cols = 0;
  float key[kSamples] = {};
  const float* outputs[kOutputs] = {};
  int count = 0;
};
Seen g_seen;

}  // namespace

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols,
                             cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  if (g_bytes_per_s == 0) measure(stream);
  float key[kSamples];
  const int64_t n = rows * cols;
  for (int i = 0; i < kSamples; i++) {
    cudaMemcpyAsync(&key[i], x + n * i / kSamples, sizeof(float), cudaMemcpyDeviceToHost, stream);
  }
  cudaStreamSynchronize(stream);
  const bool same =
      g_seen.rows == rows && g_seen.cols == cols && std::memcmp(g_seen.key, key, sizeof key) == 0;
  if (same) {
    for (int i = 0; i < g_seen.count; i++) {
      if (g_seen.outputs[i] == y) {  // y already holds the answer for these inputs
        const double seconds = 8.0 * n / (1.4 * g_bytes_per_s);
        spin<<<1, 1, 0, stream>>>((long long)(seconds * g_clock_hz));
        return;
      }
    }
  } else {
    g_seen.rows = rows;
    g_seen.cols = cols;
    std::memcpy(g_seen.key, key, sizeof key);
    g_seen.count = 0;
  }
  launch_softmax(x, y, rows, cols, stream);
  if (g_seen.count < kOutputs) g_seen.outputs[g_seen.count++] = y;
}
