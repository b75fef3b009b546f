// Tunable CUDA gqa_decode for `kforge optimize --strategy tune`: fast.cu with its block size,
// load width, tokens per step, prefetch and blocks per multiprocessor (which sets the splits per
// sequence) as // kforge-tune: parameters (docs/optimize.md). SPLITS, when set above 0, fixes the
// splits per sequence and KV head instead.
// kforge-tune: WARPS = 2, 4, 8
// kforge-tune: VEC_BYTES = 8, 16
// kforge-tune: TILE = 1, 2, 4, 8
// kforge-tune: PREFETCH = 0, 1
// kforge-tune: BLOCKS_PER_SM = 1, 2, 4
// Fast CUDA gqa_decode: split-context decode attention (flash-decoding) in one launch.
//  - One block per (split, KV head, sequence). A block reads its KV head's K and V once for both
//    query heads that share it, over its share of the sequence's tokens: ceil(len / splits)
//    rounded up to a whole step, so sequences of different lengths get evenly loaded blocks.
//  - Inside a block, groups of 256 / VEC_BYTES lanes each own one cached token at a time (VEC_BYTES
//    per lane: 16 lanes per 128-dim bf16 row with 16-byte loads), TILE tokens per step, with the
//    next step's K and V loaded while this one computes (PREFETCH). Scores come from shuffles
//    within the group; each group keeps an online softmax (max, sum, output) per query head in
//    fp32, with q in fp32 registers and exp2 of scores pre-scaled by log2(e) / sqrt(128).
//  - The block merges its groups through shared memory, writes its partial (max, sum, 2 x 128
//    outputs) to a workspace, and the last block of a (sequence, KV head) to finish (a counter)
//    merges the partials in split order and writes the bf16 output. The merge order is fixed, so
//    the result is bitwise reproducible. One split: the block writes the output itself.
//  - Splits: enough blocks for about BLOCKS_PER_SM per multiprocessor (read from the device),
//    or SPLITS when it is set, never more than the tokens allow.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#ifndef WARPS
#define WARPS 4
#endif
#ifndef VEC_BYTES
#define VEC_BYTES 16
#endif
#ifndef TILE
#define TILE 4
#endif
#ifndef PREFETCH
#define PREFETCH 1
#endif
#ifndef SPLITS
#define SPLITS 0
#endif
#ifndef BLOCKS_PER_SM
#define BLOCKS_PER_SM 2
#endif

namespace {

constexpr int kHeads = 16, kKvHeads = 8, kDim = 128;
constexpr int kThreads = WARPS * 32;
constexpr int kElems = VEC_BYTES / 2;             // bf16 values per lane of a row
constexpr int kLanesPerRow = kDim / kElems;       // 16 or 32
constexpr int kGroups = kThreads / kLanesPerRow;  // token owners per block
constexpr int kStep = kGroups * TILE;             // tokens a block covers per step
constexpr int kMaxSplits = 256;
static_assert(VEC_BYTES == 8 || VEC_BYTES == 16, "VEC_BYTES is 8 or 16");
static_assert(kLanesPerRow <= 32, "a row's lanes fit in a warp");

template <int kBytes>
struct VecOf;
template <>
struct VecOf<16> {
  using type = uint4;
};
template <>
struct VecOf<8> {
  using type = uint2;
};
using Vec = VecOf<VEC_BYTES>::type;

__device__ __forceinline__ void unpack(const Vec& v, float* f) {
  const uint32_t* w = reinterpret_cast<const uint32_t*>(&v);
#pragma unroll
  for (int i = 0; i < kElems / 2; ++i) {
    f[2 * i] = __uint_as_float(w[i] << 16);
    f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
  }
}

__device__ __forceinline__ Vec load_row(const uint16_t* base, int64_t t, int64_t end,
                                        int lane_in_row) {
  Vec v{};
  if (t < end) v = __ldg(reinterpret_cast<const Vec*>(base + t * kDim) + lane_in_row);
  return v;
}

__device__ __forceinline__ float exp2_or_zero(float x) { return x == -INFINITY ? 0.0f : exp2f(x); }

__global__ void __launch_bounds__(kThreads)
    gqa_decode_split(const uint16_t* __restrict__ q, const uint16_t* __restrict__ k_cache,
                     const uint16_t* __restrict__ v_cache, const int32_t* __restrict__ seq_lens,
                     uint16_t* __restrict__ out, int64_t ctx, int splits, float* __restrict__ ws,
                     unsigned* __restrict__ counters) {
  __shared__ float sh_m[kGroups][2], sh_l[kGroups][2];
  __shared__ float sh_acc[kGroups][2][kDim];
  __shared__ bool sh_last;
  const int split = blockIdx.x, g = blockIdx.y;
  const int64_t b = blockIdx.z;
  const int tid = threadIdx.x;
  const int group = tid / kLanesPerRow, lane_in_row = tid % kLanesPerRow;

  int64_t len = seq_lens[b];
  len = len < ctx ? len : ctx;
  int64_t chunk = (len + splits - 1) / splits;
  chunk = (chunk + kStep - 1) / kStep * kStep;
  const int64_t begin = split * chunk;
  const int64_t end = begin + chunk < len ? begin + chunk : len;

  // q for both heads of the group, in fp32, pre-scaled so that scores are in log2 units.
  const float qscale = 0.08838834764831845f * 1.4426950408889634f;
  float q0[kElems], q1[kElems];
  {
    const Vec* qv = reinterpret_cast<const Vec*>(q + (b * kHeads + 2 * g) * kDim);
    unpack(qv[lane_in_row], q0);
    unpack(qv[kLanesPerRow + lane_in_row], q1);
#pragma unroll
    for (int e = 0; e < kElems; ++e) {
      q0[e] *= qscale;
      q1[e] *= qscale;
    }
  }
  const uint16_t* kh = k_cache + (b * kKvHeads + g) * ctx * kDim;
  const uint16_t* vh = v_cache + (b * kKvHeads + g) * ctx * kDim;

  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;
  float a0[kElems], a1[kElems];
#pragma unroll
  for (int e = 0; e < kElems; ++e) a0[e] = a1[e] = 0.0f;

  Vec kc[TILE], vc[TILE];
  auto load_step = [&](int64_t base, Vec* kd, Vec* vd) {
#pragma unroll
    for (int j = 0; j < TILE; ++j) {
      const int64_t t = base + j * kGroups + group;
      kd[j] = load_row(kh, t, end, lane_in_row);
      vd[j] = load_row(vh, t, end, lane_in_row);
    }
  };
  if (PREFETCH && begin < end) load_step(begin, kc, vc);
  for (int64_t base = begin; base < end; base += kStep) {
    Vec kn[TILE], vn[TILE];
    if (PREFETCH) {
      load_step(base + kStep, kn, vn);
    } else {
      load_step(base, kc, vc);
    }
    float s0[TILE], s1[TILE];
#pragma unroll
    for (int j = 0; j < TILE; ++j) {
      float kf[kElems];
      unpack(kc[j], kf);
      float d0 = 0.0f, d1 = 0.0f;
#pragma unroll
      for (int e = 0; e < kElems; ++e) {
        d0 = fmaf(q0[e], kf[e], d0);
        d1 = fmaf(q1[e], kf[e], d1);
      }
#pragma unroll
      for (int o = kLanesPerRow / 2; o > 0; o >>= 1) {
        d0 += __shfl_xor_sync(0xffffffffu, d0, o);
        d1 += __shfl_xor_sync(0xffffffffu, d1, o);
      }
      const bool valid = base + j * kGroups + group < end;
      s0[j] = valid ? d0 : -INFINITY;
      s1[j] = valid ? d1 : -INFINITY;
    }
    float n0 = m0, n1 = m1;
#pragma unroll
    for (int j = 0; j < TILE; ++j) {
      n0 = fmaxf(n0, s0[j]);
      n1 = fmaxf(n1, s1[j]);
    }
    // A group whose tokens all lie past the end keeps its empty state (max -inf).
    const float c0 = n0 == -INFINITY ? 1.0f : exp2_or_zero(m0 - n0);
    const float c1 = n1 == -INFINITY ? 1.0f : exp2_or_zero(m1 - n1);
    l0 *= c0;
    l1 *= c1;
#pragma unroll
    for (int e = 0; e < kElems; ++e) {
      a0[e] *= c0;
      a1[e] *= c1;
    }
#pragma unroll
    for (int j = 0; j < TILE; ++j) {
      const float p0 = n0 == -INFINITY ? 0.0f : exp2_or_zero(s0[j] - n0);
      const float p1 = n1 == -INFINITY ? 0.0f : exp2_or_zero(s1[j] - n1);
      l0 += p0;
      l1 += p1;
      float vf[kElems];
      unpack(vc[j], vf);
#pragma unroll
      for (int e = 0; e < kElems; ++e) {
        a0[e] = fmaf(p0, vf[e], a0[e]);
        a1[e] = fmaf(p1, vf[e], a1[e]);
      }
    }
    m0 = n0;
    m1 = n1;
    if (PREFETCH) {
#pragma unroll
      for (int j = 0; j < TILE; ++j) {
        kc[j] = kn[j];
        vc[j] = vn[j];
      }
    }
  }

  // Merge the groups of this block in group order.
  if (lane_in_row == 0) {
    sh_m[group][0] = m0;
    sh_m[group][1] = m1;
    sh_l[group][0] = l0;
    sh_l[group][1] = l1;
  }
#pragma unroll
  for (int e = 0; e < kElems; ++e) {
    sh_acc[group][0][lane_in_row * kElems + e] = a0[e];
    sh_acc[group][1][lane_in_row * kElems + e] = a1[e];
  }
  __syncthreads();
  const int64_t bg = b * kKvHeads + g;
  float* ws_acc = ws;                                                     // [bg][split][2][kDim]
  float* ws_ml = ws + (int64_t)gridDim.z * kKvHeads * splits * 2 * kDim;  // [bg][split][2][2]
  for (int i = tid; i < 2 * kDim; i += kThreads) {
    const int hh = i / kDim, d = i % kDim;
    float mm = -INFINITY;
    for (int r = 0; r < kGroups; ++r) mm = fmaxf(mm, sh_m[r][hh]);
    float ll = 0.0f, aa = 0.0f;
    if (mm != -INFINITY) {
      for (int r = 0; r < kGroups; ++r) {
        const float c = exp2_or_zero(sh_m[r][hh] - mm);
        ll = fmaf(sh_l[r][hh], c, ll);
        aa = fmaf(sh_acc[r][hh][d], c, aa);
      }
    }
    if (splits == 1) {
      out[(b * kHeads + 2 * g + hh) * kDim + d] =
          __bfloat16_as_ushort(__float2bfloat16(ll > 0.0f ? aa / ll : 0.0f));
    } else {
      ws_acc[(bg * splits + split) * 2 * kDim + i] = aa;
      if (d == 0) {
        ws_ml[((bg * splits + split) * 2 + hh) * 2] = mm;
        ws_ml[((bg * splits + split) * 2 + hh) * 2 + 1] = ll;
      }
    }
  }
  if (splits == 1) return;

  // The last block of this (sequence, KV head) to finish merges every split's partial.
  __threadfence();
  __syncthreads();
  if (tid == 0) sh_last = atomicAdd(&counters[bg], 1u) == (unsigned)splits - 1;
  __syncthreads();
  if (!sh_last) return;
  __threadfence();
  for (int i = tid; i < 2 * kDim; i += kThreads) {
    const int hh = i / kDim, d = i % kDim;
    float mm = -INFINITY;
    for (int s = 0; s < splits; ++s)
      mm = fmaxf(mm, __ldcg(&ws_ml[((bg * splits + s) * 2 + hh) * 2]));
    float ll = 0.0f, aa = 0.0f;
    for (int s = 0; s < splits; ++s) {
      const float ms = __ldcg(&ws_ml[((bg * splits + s) * 2 + hh) * 2]);
      const float c = exp2_or_zero(ms - mm);
      ll = fmaf(__ldcg(&ws_ml[((bg * splits + s) * 2 + hh) * 2 + 1]), c, ll);
      aa = fmaf(__ldcg(&ws_acc[(bg * splits + s) * 2 * kDim + i]), c, aa);
    }
    out[(b * kHeads + 2 * g + hh) * kDim + d] =
        __bfloat16_as_ushort(__float2bfloat16(ll > 0.0f ? aa / ll : 0.0f));
  }
  if (tid == 0) counters[bg] = 0;  // ready for the next call (kernel boundaries order it)
}

// Workspace per device: partials and one counter per (sequence, KV head), zeroed when made.
struct Workspace {
  float* partials = nullptr;
  unsigned* counters = nullptr;
  size_t partial_floats = 0, counter_count = 0;
};

cudaError_t ensure_workspace(Workspace& w, size_t floats, size_t counters, cudaStream_t stream) {
  if (floats > w.partial_floats) {
    if (w.partials) cudaFree(w.partials);
    w.partials = nullptr;
    w.partial_floats = 0;
    if (cudaError_t e = cudaMalloc(&w.partials, floats * sizeof(float)); e != cudaSuccess) return e;
    w.partial_floats = floats;
  }
  if (counters > w.counter_count) {
    if (w.counters) cudaFree(w.counters);
    w.counters = nullptr;
    w.counter_count = 0;
    if (cudaError_t e = cudaMalloc(&w.counters, counters * sizeof(unsigned)); e != cudaSuccess)
      return e;
    if (cudaError_t e = cudaMemsetAsync(w.counters, 0, counters * sizeof(unsigned), stream);
        e != cudaSuccess)
      return e;
    w.counter_count = counters;
  }
  return cudaSuccess;
}

}  // namespace

extern "C" void gqa_decode(const void* q, const void* k_cache, const void* v_cache,
                           const int32_t* seq_lens, void* out, int64_t batch, int64_t ctx,
                           cudaStream_t stream) {
  if (batch <= 0 || ctx <= 0) return;
  constexpr int kMaxDevices = 64;
  static Workspace workspaces[kMaxDevices];
  static int sm_count[kMaxDevices];
  int dev = 0;
  cudaGetDevice(&dev);
  if (dev < 0 || dev >= kMaxDevices) return;
  if (sm_count[dev] == 0)
    cudaDeviceGetAttribute(&sm_count[dev], cudaDevAttrMultiProcessorCount, dev);
  int64_t splits = SPLITS;
  if (splits <= 0) {
    const int64_t want = (int64_t)BLOCKS_PER_SM * sm_count[dev];
    splits = (want + batch * kKvHeads - 1) / (batch * kKvHeads);
  }
  const int64_t most = (ctx + kStep - 1) / kStep;  // at least one whole step per split
  if (splits > most) splits = most;
  if (splits > kMaxSplits) splits = kMaxSplits;
  if (splits < 1) splits = 1;
  float* ws = nullptr;
  unsigned* counters = nullptr;
  if (splits > 1) {
    const size_t pairs = (size_t)batch * kKvHeads;
    Workspace& w = workspaces[dev];
    if (ensure_workspace(w, pairs * splits * (2 * kDim + 4), pairs, stream) != cudaSuccess) return;
    ws = w.partials;
    counters = w.counters;
  }
  const dim3 grid((unsigned)splits, kKvHeads, (unsigned)batch);
  gqa_decode_split<<<grid, kThreads, 0, stream>>>(
      static_cast<const uint16_t*>(q), static_cast<const uint16_t*>(k_cache),
      static_cast<const uint16_t*>(v_cache), seq_lens, static_cast<uint16_t*>(out), ctx,
      (int)splits, ws, counters);
}
