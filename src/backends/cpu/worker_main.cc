// kforge-cpu-worker: runs untrusted CPU candidates for the orchestrator, one request at a time.
//
// Started by kforge with: fd 3 = requests (JSON lines), fd 4 = replies (JSON lines), fd 5 = the
// shared arena (a memfd the orchestrator also maps), stdout/stderr = a capture file. The worker
// installs its system-call filter before it loads any candidate, and exits when fd 3 closes.
// It never judges a candidate: it calls entry points on arena memory and reports times; the
// orchestrator compares outputs itself. Protocol: docs/architecture.md ("Worker protocol").
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <string>

#include "backends/seccomp_filter.h"
#include "backends/worker_common.h"

namespace {

using kf::worker::json;

unsigned char* g_arena = nullptr;
size_t g_arena_size = 0;

json DoMap(const json& req) {
  const size_t size = req.at("size").get<size_t>();
  if (g_arena) munmap(g_arena, g_arena_size);
  g_arena = nullptr;
  g_arena_size = 0;
  const int populate = req.value("populate", false) ? MAP_POPULATE : 0;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | populate,
                 kf::worker::kArenaFd, 0);
  if (p == MAP_FAILED)
    return {{"ok", false}, {"error", std::string("mmap arena: ") + strerror(errno)}};
  g_arena = static_cast<unsigned char*>(p);
  g_arena_size = size;
  return {{"ok", true}};
}

json DoCall(const json& req) {
  kf::worker::Call c;
  if (auto err = kf::worker::ParseCall(req, g_arena, g_arena_size, {}, &c); !err.empty()) {
    return {{"ok", false}, {"error", err}};
  }
  const double t0 = kf::worker::NowNs();
  kf::worker::Invoke(c, 0);
  return {{"ok", true}, {"ns", kf::worker::NowNs() - t0}};
}

// {"op":"run", ..., "calls":N, "first":k}: N calls back to back, rotating over the sets from
// set k. The orchestrator times the request by its own clock; "ns" is only cross-checked.
json DoRun(const json& req) {
  kf::worker::Call c;
  if (auto err = kf::worker::ParseCall(req, g_arena, g_arena_size, {}, &c); !err.empty()) {
    return {{"ok", false}, {"error", err}};
  }
  const size_t calls = req.at("calls").get<size_t>();
  const size_t first = req.value("first", size_t{0});
  const double t0 = kf::worker::NowNs();
  for (size_t i = 0; i < calls; ++i) kf::worker::Invoke(c, first + i);
  return {{"ok", true}, {"ns", kf::worker::NowNs() - t0}};
}

size_t LastLevelCacheBytes() {
  size_t best = 0;
  for (int i = 0; i < 8; ++i) {
    std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/size");
    std::string s;
    if (!(in >> s) || s.empty()) continue;
    size_t mult = 1;
    if (s.back() == 'K') mult = 1024;
    if (s.back() == 'M') mult = 1024 * 1024;
    if (mult != 1) s.pop_back();
    try {
      best = std::max(best, std::stoul(s) * mult);
    } catch (const std::exception&) {
    }
  }
  return best ? best : 32u << 20;
}

}  // namespace

json MeasureCeilings(size_t footprint);  // ceilings.cc

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGPIPE, SIG_IGN);
  bool want_filter = true;
  kf::worker::FilterOptions filter;  // the allow-list
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--no-seccomp") want_filter = false;
    if (std::string(argv[i]) == "--no-threads") filter.threads = false;
  }
  const size_t cache_bytes = LastLevelCacheBytes();  // before the filter: it reads /sys
  const bool filtered =
      want_filter && kf::worker::InstallSeccompFilter(kf::worker::kReplyFd, filter);
  return kf::worker::Serve([&](const std::string& op, const json& req) -> json {
    if (op == "hello") {
      return {{"ok", true},       {"protocol", kf::worker::kProtocolVersion},
              {"pid", getpid()},  {"seccomp", filtered},
              {"backend", "cpu"}, {"cache_bytes", cache_bytes}};
    }
    if (op == "map") return DoMap(req);
    if (op == "call") return DoCall(req);
    if (op == "run") return DoRun(req);
    if (op == "ceilings") return MeasureCeilings(2 * cache_bytes);
    return nullptr;
  });
}
