// 05_layernorm: out = LayerNorm(x) over the last dim (eps = 1e-5, biased variance, affine).
//
// Design: one block per row (256 threads). Fast path (dim % 4 == 0, 16-byte aligned pointers,
// dim <= 256*4*V for V in {1,2,4,8}): the row is loaded once with float4 loads into registers;
// the mean and then the variance are computed two-pass from the registers (sum of squared
// deviations, numerically robust), and out = (x - mean) * rstd * w + b is stored with float4.
// Generic path: the same math with scalar loops over global memory (L1/L2 resident).
// Reductions: warp xor-shuffle butterflies, then a fixed-order combine of per-warp partials
// in shared memory -> bitwise deterministic. rstd = 1 / sqrtf(var + eps) (IEEE ops).
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr float kEps = 1e-5f;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Block-wide sum; every thread gets the result. `scratch` holds kWarps + 1 floats.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous reduction
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
    layernorm_vec_kernel(const float* __restrict__ x, const float* __restrict__ w,
                         const float* __restrict__ b, float* __restrict__ out, int64_t dim) {
  __shared__ float scratch[kWarps + 1];
  const int64_t row = blockIdx.x;
  const int64_t nq = dim >> 2;
  const float4* __restrict__ xr = reinterpret_cast<const float4*>(x + row * dim);
  const float4* __restrict__ w4 = reinterpret_cast<const float4*>(w);
  const float4* __restrict__ b4 = reinterpret_cast<const float4*>(b);
  float4* __restrict__ orow = reinterpret_cast<float4*>(out + row * dim);

  float4 v[V];
  float s = 0.0f;
#pragma unroll
  for (int i = 0; i < V; ++i) {
    const int64_t q = threadIdx.x + (int64_t)i * kThreads;
    if (q < nq) {
      v[i] = __ldg(xr + q);
      s += (v[i].x + v[i].y) + (v[i].z + v[i].w);
    } else {
      v[i] = make_float4(0.f, 0.f, 0.f, 0.f);
    }
  }
  const float mean = block_sum(s, scratch) / (float)dim;

  float ss = 0.0f;
#pragma unroll
  for (int i = 0; i < V; ++i) {
    const int64_t q = threadIdx.x + (int64_t)i * kThreads;
    if (q < nq) {
      v[i].x -= mean;
      v[i].y -= mean;
      v[i].z -= mean;
      v[i].w -= mean;
      ss += (v[i].x * v[i].x + v[i].y * v[i].y) + (v[i].z * v[i].z + v[i].w * v[i].w);
    }
  }
  const float var = block_sum(ss, scratch) / (float)dim;
  const float rstd = 1.0f / sqrtf(var + kEps);

#pragma unroll
  for (int i = 0; i < V; ++i) {
    const int64_t q = threadIdx.x + (int64_t)i * kThreads;
    if (q < nq) {
      const float4 g = __ldg(w4 + q), bb = __ldg(b4 + q);
      float4 r;
      r.x = fmaf(v[i].x * rstd, g.x, bb.x);
      r.y = fmaf(v[i].y * rstd, g.y, bb.y);
      r.z = fmaf(v[i].z * rstd, g.z, bb.z);
      r.w = fmaf(v[i].w * rstd, g.w, bb.w);
      orow[q] = r;
    }
  }
}

__global__ void __launch_bounds__(kThreads)
    layernorm_generic_kernel(const float* __restrict__ x, const float* __restrict__ w,
                             const float* __restrict__ b, float* __restrict__ out, int64_t dim) {
  __shared__ float scratch[kWarps + 1];
  const int64_t row = blockIdx.x;
  const float* __restrict__ xr = x + row * dim;
  float* __restrict__ orow = out + row * dim;

  float s = 0.0f;
  for (int64_t j = threadIdx.x; j < dim; j += kThreads) s += __ldg(xr + j);
  const float mean = block_sum(s, scratch) / (float)dim;

  float ss = 0.0f;
  for (int64_t j = threadIdx.x; j < dim; j += kThreads) {
    const float d = __ldg(xr + j) - mean;
    ss = fmaf(d, d, ss);
  }
  const float var = block_sum(ss, scratch) / (float)dim;
  const float rstd = 1.0f / sqrtf(var + kEps);

  for (int64_t j = threadIdx.x; j < dim; j += kThreads)
    orow[j] = fmaf((__ldg(xr + j) - mean) * rstd, __ldg(w + j), __ldg(b + j));
}

}  // namespace

extern "C" void forward(const float* x, const float* weight, const float* bias, float* out,
                        int64_t batch_size, int64_t dim, cudaStream_t stream) {
  if (batch_size <= 0 || dim <= 0) return;
  const uintptr_t bits = reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(weight) |
                         reinterpret_cast<uintptr_t>(bias) | reinterpret_cast<uintptr_t>(out);
  const bool vec = (bits & 15) == 0 && (dim % 4 == 0);
  const int64_t nq = dim / 4;
  const dim3 grid((unsigned)batch_size);
  if (vec && nq <= kThreads * 1)
    layernorm_vec_kernel<1><<<grid, kThreads, 0, stream>>>(x, weight, bias, out, dim);
  else if (vec && nq <= kThreads * 2)
    layernorm_vec_kernel<2><<<grid, kThreads, 0, stream>>>(x, weight, bias, out, dim);
  else if (vec && nq <= kThreads * 4)
    layernorm_vec_kernel<4><<<grid, kThreads, 0, stream>>>(x, weight, bias, out, dim);
  else if (vec && nq <= kThreads * 8)
    layernorm_vec_kernel<8><<<grid, kThreads, 0, stream>>>(x, weight, bias, out, dim);
  else
    layernorm_generic_kernel<<<grid, kThreads, 0, stream>>>(x, weight, bias, out, dim);
}
