// expect: runtime_error
// detail: bad_alloc
// args: --worker-memory 1024
// trick: C++ variant of the memory hog: operator new in a loop until std::bad_alloc escapes the
// entry point. The worker's memory limit ends the loop; the worker reports the exception and is
// replaced, since its heap is full.
#include <cstdint>
#include <cstring>

namespace {
struct Chunk {
  Chunk* next;
  char bytes[(64 << 20) - sizeof(Chunk*)];
};
}  // namespace

// Reachable from a global, so nothing can be elided.
Chunk* volatile kf_hoard_head = nullptr;

extern "C" void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  (void)x;
  for (;;) {
    Chunk* c = new Chunk;
    std::memset(c->bytes, 0x5a, sizeof(c->bytes));
    c->next = kf_hoard_head;
    kf_hoard_head = c;
  }
  for (int64_t i = 0; i < rows * cols; ++i) y[i] = 1.0f / static_cast<float>(cols);
}
