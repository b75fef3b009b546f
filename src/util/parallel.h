// Work on large buffers (gigabytes of a problem's inputs and outputs) spread over the host's
// cores. Chunk boundaries are fixed by the caller, not by the number of threads, so results
// that depend on them (a hash, a floating-point sum) are the same on every machine.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <thread>
#include <vector>

namespace kf {

// Calls fn(i) for every i in [0, chunks), on up to hardware_concurrency threads.
template <typename Fn>
void ParallelChunks(size_t chunks, Fn&& fn) {
  const size_t threads =
      std::min<size_t>(chunks, std::max(1u, std::thread::hardware_concurrency()));
  if (threads <= 1) {
    for (size_t i = 0; i < chunks; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < chunks; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

inline constexpr size_t kParallelChunkBytes = size_t{64} << 20;

// memcpy, in 64 MiB chunks on several cores when large.
inline void ParallelCopy(void* dst, const void* src, size_t bytes) {
  const size_t chunks = (bytes + kParallelChunkBytes - 1) / kParallelChunkBytes;
  ParallelChunks(chunks, [&](size_t c) {
    const size_t at = c * kParallelChunkBytes;
    std::memcpy(static_cast<char*>(dst) + at, static_cast<const char*>(src) + at,
                std::min(kParallelChunkBytes, bytes - at));
  });
}

}  // namespace kf
