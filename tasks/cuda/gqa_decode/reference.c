/* Reference for gqa_decode: plain double-precision attention of one query token per sequence
 * over its first seq_lens[b] cached tokens (reference ABI: the bf16 buffers arrive as double).
 * Query head h reads key/value head h / 2 (repeat_kv's order). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

enum { kHeads = 16, kKvHeads = 8, kDim = 128 };

void gqa_decode(const double* q, const double* k_cache, const double* v_cache,
                const int32_t* seq_lens, double* out, int64_t batch, int64_t ctx) {
  const double scale = 1.0 / sqrt((double)kDim);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t h = 0; h < kHeads; h++) {
      int64_t len = seq_lens[b];
      if (len > ctx) len = ctx;
      const double* qh = q + (b * kHeads + h) * kDim;
      const double* kh = k_cache + (b * kKvHeads + h / 2) * ctx * kDim;
      const double* vh = v_cache + (b * kKvHeads + h / 2) * ctx * kDim;
      double* o = out + (b * kHeads + h) * kDim;
      double* s = malloc(sizeof(double) * (size_t)(len > 0 ? len : 1));
      double m = -INFINITY;
      for (int64_t t = 0; t < len; t++) {
        double dot = 0;
        for (int d = 0; d < kDim; d++) dot += qh[d] * kh[t * kDim + d];
        s[t] = dot * scale;
        if (s[t] > m) m = s[t];
      }
      double sum = 0;
      for (int64_t t = 0; t < len; t++) {
        s[t] = exp(s[t] - m);
        sum += s[t];
      }
      for (int d = 0; d < kDim; d++) o[d] = 0;
      for (int64_t t = 0; t < len; t++) {
        const double p = s[t] / sum;
        for (int d = 0; d < kDim; d++) o[d] += p * vh[t * kDim + d];
      }
      free(s);
    }
  }
}
