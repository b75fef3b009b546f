// 02_softmax: out[b, :] = softmax(x[b, :]) over the last dimension.
//
// Design: one 256-thread block per row. Fast path (dim % 4 == 0, 16-byte aligned pointers,
// dim <= 256*4*V for V in {1,2,4,8}): the row is read once with float4 loads into registers
// (V float4 per thread), then block max -> exp(x - max) in registers -> block sum -> divide
// and store with float4, so global memory is touched exactly once each way. Generic path (any
// dim/alignment): three passes over the row in global memory (max, sum of exp, write), which
// stay L1/L2 resident. Reductions are warp shuffles (xor butterfly) then a fixed-order pass
// over the per-warp partials in shared memory, so results are bitwise deterministic.
// expf (full precision, not __expf) and an IEEE division are used.
#include <cuda_runtime.h>

#include <cfloat>
#include <cmath>
#include <cstdint>

namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Block-wide reductions; every thread gets the result. `scratch` holds kWarps + 1 floats.
__device__ __forceinline__ float block_max(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_max(v);
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float t = lane < kWarps ? scratch[lane] : -INFINITY;
    t = warp_max(t);
    if (lane == 0) scratch[kWarps] = t;
  }
  __syncthreads();
  return scratch[kWarps];
}

__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float t = lane < kWarps ? scratch[lane] : 0.0f;
    t = warp_sum(t);
    if (lane == 0) scratch[kWarps] = t;
  }
  __syncthreads();
  return scratch[kWarps];
}

template <int V>
__global__ void __launch_bounds__(kThreads)
    softmax_vec_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t dim) {
  __shared__ float scratch[kWarps + 1];
  const int64_t row = blockIdx.x;
  const int64_t nq = dim >> 2;
  const float4* __restrict__ xr = reinterpret_cast<const float4*>(x + row * dim);
  float4* __restrict__ orow = reinterpret_cast<float4*>(out + row * dim);

  float4 v[V];
  float m = -INFINITY;
#pragma unroll
  for (int i = 0; i < V; ++i) {
    const int64_t q = threadIdx.x + (int64_t)i * kThreads;
    if (q < nq) {
      v[i] = __ldg(xr + q);
      m = fmaxf(m, fmaxf(fmaxf(v[i].x, v[i].y), fmaxf(v[i].z, v[i].w)));
    } else {
      v[i] = make_float4(0.f, 0.f, 0.f, 0.f);
    }
  }
  m = block_max(m, scratch);

  float s = 0.0f;
#pragma unroll
  for (int i = 0; i < V; ++i) {
    const int64_t q = threadIdx.x + (int64_t)i * kThreads;
    if (q < nq) {
      v[i].x = expf(v[i].x - m);
      v[i].y = expf(v[i].y - m);
      v[i].z = expf(v[i].z - m);
      v[i].w = expf(v[i].w - m);
      s += (v[i].x + v[i].y) + (v[i].z + v[i].w);
    }
  }
  s = block_sum(s, scratch);

#pragma unroll
  for (int i = 0; i < V; ++i) {
    const int64_t q = threadIdx.x + (int64_t)i * kThreads;
    if (q < nq) {
      float4 r;
      r.x = v[i].x / s;
      r.y = v[i].y / s;
      r.z = v[i].z / s;
      r.w = v[i].w / s;
      orow[q] = r;
    }
  }
}

__global__ void __launch_bounds__(kThreads)
    softmax_generic_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t dim) {
  __shared__ float scratch[kWarps + 1];
  const int64_t row = blockIdx.x;
  const float* __restrict__ xr = x + row * dim;
  float* __restrict__ orow = out + row * dim;

  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < dim; j += kThreads) m = fmaxf(m, __ldg(xr + j));
  m = block_max(m, scratch);

  float s = 0.0f;
  for (int64_t j = threadIdx.x; j < dim; j += kThreads) s += expf(__ldg(xr + j) - m);
  s = block_sum(s, scratch);

  for (int64_t j = threadIdx.x; j < dim; j += kThreads) orow[j] = expf(__ldg(xr + j) - m) / s;
}

}  // namespace

extern "C" void forward(const float* x, float* out, int64_t batch_size, int64_t dim,
                        cudaStream_t stream) {
  if (batch_size <= 0 || dim <= 0) return;
  const bool aligned =
      ((reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(out)) & 15) == 0;
  const bool vec = aligned && (dim % 4 == 0);
  const int64_t nq = dim / 4;
  const dim3 grid((unsigned)batch_size);
  if (vec && nq <= kThreads * 1)
    softmax_vec_kernel<1><<<grid, kThreads, 0, stream>>>(x, out, dim);
  else if (vec && nq <= kThreads * 2)
    softmax_vec_kernel<2><<<grid, kThreads, 0, stream>>>(x, out, dim);
  else if (vec && nq <= kThreads * 4)
    softmax_vec_kernel<4><<<grid, kThreads, 0, stream>>>(x, out, dim);
  else if (vec && nq <= kThreads * 8)
    softmax_vec_kernel<8><<<grid, kThreads, 0, stream>>>(x, out, dim);
  else
    softmax_generic_kernel<<<grid, kThreads, 0, stream>>>(x, out, dim);
}
