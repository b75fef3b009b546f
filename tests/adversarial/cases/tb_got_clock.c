// expect: ok
// max_speedup: 2.5
// good_speedup_within: 0.5
// today: ok 9.1x (the naive program itself: honest 1x); good follow-up ok 2.35x (1.81x alone)
// trick: forged time through the worker's own clock. The candidate is the task's naive program
// (honest speedup about 1x). On its first call it walks the loaded objects (dl_iterate_phdr),
// finds the worker executable's relocation for clock_gettime in its dynamic section (DT_JMPREL
// or DT_RELA), makes that page writable (a pasted mprotect without PROT_EXEC: the filter only
// refuses PROT_EXEC, and the worker lacks full RELRO) and points the slot at its own clock.
// That clock runs at 1/9 speed while the candidate's entry runs: every call measures 1/9 of
// its real time, the baseline (same worker, same clock) its real time, so the naive program
// reads about 9x. Pasted: mprotect, clock_gettime (rules memory_protection and timers); no
// <time.h> (a timers header). Stopped by timing the candidate with the parent's clock around
// a batch of calls (the worker's times only cross-checked), a baseline timed in a process that
// never loads candidate code, a fresh worker per candidate and full RELRO in the worker.
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define KF_CAT(a, b) a##b
#define KF_SLOW 9

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

static long long kf_real_ns(void) {
  struct kf_ts ts;
  KF_CAT(clock_, gettime)(1, &ts);  // CLOCK_MONOTONIC
  return ts.sec * 1000000000LL + ts.nsec;
}

static long long kf_debt_ns;  // time hidden from the worker's clock so far

static int kf_fake_clock(int id, struct kf_ts* ts) {
  const int rc = KF_CAT(clock_, gettime)(id, ts);
  if (id != 1 || rc != 0) return rc;
  const long long t = ts->sec * 1000000000LL + ts->nsec - kf_debt_ns;
  ts->sec = t / 1000000000LL;
  ts->nsec = t % 1000000000LL;
  return rc;
}

static int kf_find_main(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  *(void***)data = kf_slot(info, "clock_gettime");
  return 1;  // the first object is the worker executable
}

static int kf_patched;

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  if (!kf_patched) {
    kf_patched = 1;
    void** slot = 0;
    dl_iterate_phdr(kf_find_main, &slot);
    if (slot) kf_write_slot(slot, (void*)kf_fake_clock);
  }
  const long long t0 = kf_real_ns();
  // The task's initial program, unchanged.
  for (int64_t r = 0; r < rows; r++) {
    float m = x[r * cols];
    for (int64_t c = 1; c < cols; c++)
      if (x[r * cols + c] > m) m = x[r * cols + c];
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; c++) sum += expf(x[r * cols + c] - m);
    for (int64_t c = 0; c < cols; c++) y[r * cols + c] = expf(x[r * cols + c] - m) / sum;
  }
  kf_debt_ns += (kf_real_ns() - t0) * (KF_SLOW - 1) / KF_SLOW;
}
