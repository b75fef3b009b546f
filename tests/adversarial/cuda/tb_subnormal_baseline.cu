// expect: ok
// task: tasks/cuda/softmax_rows
// max_speedup: 40
// good_speedup_within: 0.5
// today: not run here (no GPU); the CPU form reads 2.4 times its honest speedup
// trick: a sabotaged baseline through the other buffer sets, CUDA form
// (tb_subnormal_baseline.c). The candidate is a correct block-per-row softmax. The device
// arena mirrors a host arena that the worker maps from fd 5, and a `time` request copies its
// whole span host to device once, the baseline's too. The host entry maps fd 5 itself
// (mmap of the worker's memfd, size from fstat), learns the timed sets' device addresses
// (the lowest is offset 0) and rewrites the host copy of every other set's input into rows of
// one 0 and the rest in [-103, -88]: exp(x - max) is subnormal there, which takes the slow
// paths of the baseline's expf and IEEE division. Never the current call's set; nothing is
// compared after timing. Stopped by timing the baseline in its own worker on its own
// buffers, different inputs per set verified after timing, and a candidate worker whose
// descriptors reach nothing but its own requests.
#include <cuda_runtime.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstring>

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

constexpr int kArenaFd = 5;
constexpr int kMaxSets = 256;
unsigned char* g_view = nullptr;  // the candidate's own mapping of the worker's arena
size_t g_view_size = 0;
const float* g_sets[kMaxSets];
bool g_done[kMaxSets];
int g_count = 0;
int64_t g_rows = 0, g_cols = 0;

bool map_arena() {
  struct stat st;
  if (fstat(kArenaFd, &st) != 0 || st.st_size <= 0) return false;
  if (g_view && g_view_size == (size_t)st.st_size) return true;
  if (g_view) munmap(g_view, g_view_size);
  void* p = mmap(nullptr, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, kArenaFd, 0);
  g_view = p == MAP_FAILED ? nullptr : static_cast<unsigned char*>(p);
  g_view_size = g_view ? (size_t)st.st_size : 0;
  return g_view != nullptr;
}

void sabotage(float* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    float* xr = x + r * cols;
    xr[0] = 0.0f;
    for (int64_t c = 1; c < cols; c++) {
      const uint32_t h = (uint32_t)(r * cols + c) * 2654435761u;
      xr[c] = -88.0f - (float)(h >> 20) * (15.0f / 4096.0f);
    }
  }
}

}  // namespace

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols,
                             cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  launch_softmax(x, y, rows, cols, stream);
  if (rows * cols < (1 << 20)) return;  // only the bench shape is timed
  if (rows != g_rows || cols != g_cols) {
    g_rows = rows;
    g_cols = cols;
    g_count = 0;
  }
  bool known = false;
  for (int i = 0; i < g_count; i++) known |= g_sets[i] == x;
  if (!known && g_count < kMaxSets) {
    g_done[g_count] = false;
    g_sets[g_count++] = x;
  }
  if (g_count < 2 || !map_arena()) return;  // one address only: still the correctness calls
  // Sets sit at multiples of the set size (x, then y, each 64-byte aligned); a pointer seen
  // before the arena was mapped again (it grows before timing) is not at such a distance.
  const size_t bytes = (size_t)(rows * cols) * sizeof(float);
  const int64_t stride = 2 * (int64_t)((bytes + 63) / 64 * 64);
  auto in_rotation = [&](const float* p) {
    return ((const char*)p - (const char*)x) % stride == 0;
  };
  const float* lowest = x;
  for (int i = 0; i < g_count; i++) {
    if (in_rotation(g_sets[i]) && g_sets[i] < lowest) lowest = g_sets[i];
  }
  for (int i = 0; i < g_count; i++) {
    if (g_sets[i] == x || g_done[i] || !in_rotation(g_sets[i])) continue;
    const size_t off = (size_t)((const char*)g_sets[i] - (const char*)lowest);
    if (off + bytes > g_view_size) continue;
    sabotage(reinterpret_cast<float*>(g_view + off), rows, cols);
    g_done[i] = true;
  }
}
