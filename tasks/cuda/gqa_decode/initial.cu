// kforge-launch: kernel=gqa_decode_naive grid=batch*16 block=128
// Initial (naive) CUDA gqa_decode: correct but slow. One block per (sequence, query head), one
// thread per head dimension, one cached token at a time: each token's score is a block-wide sum
// (two barriers per token), followed by an online-softmax update of the thread's output
// element. The two query heads of a KV head each read that head's K and V from memory, and a
// batch-1 call keeps only 16 of the GPU's multiprocessors busy.
#include <cuda_bf16.h>

#include <cstdint>

__global__ void gqa_decode_naive(const __nv_bfloat16* q, const __nv_bfloat16* k_cache,
                                 const __nv_bfloat16* v_cache, const int32_t* seq_lens,
                                 __nv_bfloat16* out, int64_t batch, int64_t ctx) {
  __shared__ float partial[4];
  const int64_t b = blockIdx.x / 16;
  const int64_t h = blockIdx.x % 16;
  const int d = threadIdx.x;
  const float qd = __bfloat162float(q[(b * 16 + h) * 128 + d]);
  const __nv_bfloat16* kh = k_cache + (b * 8 + h / 2) * ctx * 128;
  const __nv_bfloat16* vh = v_cache + (b * 8 + h / 2) * ctx * 128;
  const int64_t len = seq_lens[b] < ctx ? seq_lens[b] : ctx;
  const float scale = 0.08838834764831845f;  // 1 / sqrt(128)
  float m = -INFINITY, l = 0.0f, acc = 0.0f;
  for (int64_t t = 0; t < len; t++) {
    float s = qd * __bfloat162float(kh[t * 128 + d]);
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if ((d & 31) == 0) partial[d >> 5] = s;
    __syncthreads();
    s = (partial[0] + partial[1] + partial[2] + partial[3]) * scale;
    __syncthreads();
    const float mn = fmaxf(m, s);
    const float c = expf(m - mn);
    const float p = expf(s - mn);
    l = l * c + p;
    acc = acc * c + p * __bfloat162float(vh[t * 128 + d]);
    m = mn;
  }
  out[(b * 16 + h) * 128 + d] = __float2bfloat16(acc / l);
}
