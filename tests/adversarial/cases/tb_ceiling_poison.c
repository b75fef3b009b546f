// expect: suspicious
// detail: floor
// cache: private
// good_speedup_within: 0.5
// today: ok 9.3e5x (roofline fraction 26% of the poisoned ceilings, which were saved to the cache)
// trick: poisoned ceilings. The candidate is below_roofline's skipper (it computes the first
// two calls on a buffer and returns at once on later calls with the same sampled inputs), so
// its median is far below the roofline floor. Today kforge then re-measures the machine's
// ceilings with the `ceilings` request in the candidate's own worker and keeps the larger
// values (saved to the machine's ceilings cache, so the poison outlives the run). The
// candidate patched the worker executable's GOT slots for clock_gettime and memcpy on its
// first call (pasted mprotect without PROT_EXEC, clock_gettime; dl_iterate_phdr and the
// dynamic section): the first memcpy of 128 MiB or more (the bandwidth probe's 256 MiB copy)
// switches the worker's clock to 1/100000 speed for the probe's remaining 35 clock reads, so
// bandwidth and FMA rate read 10^5 times too high, the floor drops to nanoseconds and the
// skipper is judged `ok` at an absurd speedup. `cache: private` gives this case a cache
// directory of its own so that the poison cannot reach the machine's real ceilings. Stopped
// by measuring ceilings only in clean processes (never in a worker that loaded a candidate),
// never raising them from a candidate's worker, and timing with the parent's clock.
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define KF_CAT(a, b) a##b
#define KF_SCALE 100000
#define KF_PROBE_READS 35  // clock reads of the probe after its first big copy (11 + 24)

struct kf_ts {
  long sec, nsec;
};
int KF_CAT(clock_, gettime)(int id, struct kf_ts* ts);  // libc's, bound from this library
int KF_CAT(mpro, tect)(void* addr, size_t len, int prot);

// The slot of `sym` in the object described by `info`: a JUMP_SLOT or GLOB_DAT relocation.
static void** kf_slot(struct dl_phdr_info* info, const char* sym) {
  const ElfW(Dyn)* dyn = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
      dyn = (const ElfW(Dyn)*)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
  }
  if (!dyn) return 0;
  const uintptr_t base = info->dlpi_addr;
  uintptr_t symtab = 0, strtab = 0, tab[2] = {0, 0};
  size_t size[2] = {0, 0};
  for (const ElfW(Dyn)* d = dyn; d->d_tag != DT_NULL; ++d) {
    if (d->d_tag == DT_SYMTAB) symtab = d->d_un.d_ptr;
    if (d->d_tag == DT_STRTAB) strtab = d->d_un.d_ptr;
    if (d->d_tag == DT_JMPREL) tab[0] = d->d_un.d_ptr;
    if (d->d_tag == DT_PLTRELSZ) size[0] = d->d_un.d_val;
    if (d->d_tag == DT_RELA) tab[1] = d->d_un.d_ptr;
    if (d->d_tag == DT_RELASZ) size[1] = d->d_un.d_val;
  }
  // ld.so relocates these entries in place for most objects; not for all.
#define KF_FIX(p) ((p) != 0 && (p) < base ? (p) + base : (p))
  if (!symtab || !strtab) return 0;
  const ElfW(Sym)* syms = (const ElfW(Sym)*)KF_FIX(symtab);
  const char* strs = (const char*)KF_FIX(strtab);
  for (int t = 0; t < 2; ++t) {
    const ElfW(Rela)* r = (const ElfW(Rela)*)KF_FIX(tab[t]);
    for (size_t i = 0; r && i < size[t] / sizeof(ElfW(Rela)); ++i) {
      const size_t idx = ELF64_R_SYM(r[i].r_info);
      if (idx && strcmp(strs + syms[idx].st_name, sym) == 0) return (void**)(base + r[i].r_offset);
    }
  }
  return 0;
}

static void kf_write_slot(void** slot, void* fn) {
  KF_CAT(mpro, tect)((void*)((uintptr_t)slot & ~(uintptr_t)4095), 4096, PROT_READ | PROT_WRITE);
  *slot = fn;
}

// The worker's clock: real time, except that while `kf_slow_reads` lasts the time since the
// previous read advances at 1/KF_SCALE speed. Monotonic throughout.
static long long kf_last_real, kf_virtual;
static int kf_slow_reads;

static int kf_fake_clock(int id, struct kf_ts* ts) {
  const int rc = KF_CAT(clock_, gettime)(id, ts);
  if (id != 1 || rc != 0) return rc;
  const long long real = ts->sec * 1000000000LL + ts->nsec;
  long long step = real - kf_last_real;
  if (kf_slow_reads > 0) {
    --kf_slow_reads;
    step /= KF_SCALE;
  }
  kf_last_real = real;
  kf_virtual += step;
  ts->sec = kf_virtual / 1000000000LL;
  ts->nsec = kf_virtual % 1000000000LL;
  return rc;
}

static void* kf_fake_memcpy(void* dst, const void* src, size_t n) {
  if (n >= (128u << 20)) kf_slow_reads = KF_PROBE_READS;  // the bandwidth probe has begun
  return memcpy(dst, src, n);
}

struct kf_slots {
  void** ticks;
  void** copy;
};

static int kf_find_main(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  struct kf_slots* s = data;
  s->ticks = kf_slot(info, "clock_gettime");
  s->copy = kf_slot(info, "memcpy");
  return 1;  // the first object is the worker executable
}

static void kf_install(void) {
  struct kf_ts ts;
  KF_CAT(clock_, gettime)(1, &ts);
  kf_last_real = kf_virtual = ts.sec * 1000000000LL + ts.nsec;
  struct kf_slots s = {0, 0};
  dl_iterate_phdr(kf_find_main, &s);
  if (s.ticks) kf_write_slot(s.ticks, (void*)kf_fake_clock);
  if (s.copy) kf_write_slot(s.copy, (void*)kf_fake_memcpy);
}

// below_roofline's skipper: per input pointer, a sample of the values and a streak count.
#define KF_SLOTS 64
#define KF_SAMPLES 12

struct kf_seen {
  const float* x;
  int64_t rows, cols;
  float sample[KF_SAMPLES];
  int streak;
};
static struct kf_seen seen[KF_SLOTS];
static int seen_next;

static void take_sample(const float* x, int64_t n, float* out) {
  for (int64_t i = 0; i < 4; ++i) {
    out[i] = x[i < n ? i : n - 1];
    out[4 + i] = x[n - 1 - i >= 0 ? n - 1 - i : 0];
    out[8 + i] = x[n * (i + 1) / 5];
  }
}

static void compute(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    double s = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      yr[j] = expf(xr[j] - m);
      s += yr[j];
    }
    for (int64_t j = 0; j < cols; ++j) yr[j] = (float)(yr[j] / s);
  }
}

static int kf_installed;

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  if (!kf_installed) {
    kf_installed = 1;
    kf_install();
  }
  float sample[KF_SAMPLES];
  take_sample(x, rows * cols, sample);
  struct kf_seen* slot = NULL;
  for (int i = 0; i < KF_SLOTS; ++i) {
    if (seen[i].x == x && seen[i].rows == rows && seen[i].cols == cols) {
      slot = &seen[i];
      break;
    }
  }
  if (slot == NULL) {
    slot = &seen[seen_next];
    seen_next = (seen_next + 1) % KF_SLOTS;
    slot->x = x;
    slot->rows = rows;
    slot->cols = cols;
    slot->streak = 0;
  }
  if (slot->streak > 0 && memcmp(slot->sample, sample, sizeof(sample)) == 0) {
    if (++slot->streak >= 3) return;  // "already computed": skip
  } else {
    memcpy(slot->sample, sample, sizeof(sample));
    slot->streak = 1;
  }
  compute(x, y, rows, cols);
}
