// kforge-cpu-worker: runs untrusted CPU candidates for the orchestrator, one request at a time.
//
// Started by kforge with: fd 3 = requests (JSON lines), fd 4 = replies (JSON lines), fd 5 = the
// shared arena (a memfd the orchestrator also maps), stdout/stderr = a capture file. The worker
// installs its system-call filter before it loads any candidate, and exits when fd 3 closes.
// It never judges a candidate: it calls entry points on arena memory and reports times; the
// orchestrator compares outputs itself. Protocol: docs/architecture.md ("Worker protocol").
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/seccomp_filter.h"

namespace {

using json = nlohmann::json;
constexpr int kRequestFd = 3;
constexpr int kReplyFd = 4;
constexpr int kArenaFd = 5;
constexpr int kProtocolVersion = 1;
constexpr size_t kMaxArgs = 16;

unsigned char* g_arena = nullptr;
size_t g_arena_size = 0;
std::map<int, void*> g_entries;  // handle -> entry point
int g_next_handle = 1;

void Reply(const json& j) {
  std::string s = j.dump() + "\n";
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    ssize_t n = write(kReplyFd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(3);
    p += n;
    left -= static_cast<size_t>(n);
  }
}

bool ReadLine(std::string* line) {
  static std::string buffer;
  for (;;) {
    size_t nl = buffer.find('\n');
    if (nl != std::string::npos) {
      *line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      return true;
    }
    char chunk[65536];
    ssize_t n = read(kRequestFd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // the orchestrator is gone: so are we
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

double NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Every argument of a candidate entry is a pointer or an int64_t: on x86_64 and aarch64 both
// travel in the same integer registers, so one pointer type per arity can call any entry.
using Arg = intptr_t;
template <size_t... I>
void CallWith(void* fn, const Arg* a, std::index_sequence<I...>) {
  using Fn = void (*)(decltype((void)I, Arg())...);
  reinterpret_cast<Fn>(fn)(a[I]...);
}
template <size_t... N>
constexpr auto MakeCallTable(std::index_sequence<N...>) {
  return std::array<void (*)(void*, const Arg*), sizeof...(N)>{
      [](void* fn, const Arg* a) { CallWith(fn, a, std::make_index_sequence<N>()); }...};
}
constexpr auto kCallTable = MakeCallTable(std::make_index_sequence<kMaxArgs + 1>());

struct Call {
  void* fn = nullptr;
  std::vector<std::vector<Arg>> sets;  // argument lists, one per buffer set
};

std::string ParseCall(const json& req, Call* call) {
  auto it = g_entries.find(req.value("handle", -1));
  if (it == g_entries.end()) return "unknown handle";
  call->fn = it->second;
  const auto& ints = req.at("ints");
  for (const auto& set : req.at("sets")) {
    std::vector<Arg> args;
    for (const auto& off : set) {
      const uint64_t o = off.get<uint64_t>();
      if (o >= g_arena_size) return "buffer offset outside the arena";
      args.push_back(reinterpret_cast<Arg>(g_arena + o));
    }
    for (const auto& v : ints) args.push_back(static_cast<Arg>(v.get<int64_t>()));
    if (args.size() > kMaxArgs) return "too many arguments";
    call->sets.push_back(std::move(args));
  }
  if (call->sets.empty()) return "no buffer sets";
  return "";
}

// A C++ exception escaping a candidate's entry point.
struct CandidateThrew {
  std::string what;
};

void Invoke(const Call& c, size_t set) {
  const auto& a = c.sets[set % c.sets.size()];
  try {
    kCallTable[a.size()](c.fn, a.data());
  } catch (const std::exception& e) {
    throw CandidateThrew{e.what()};
  } catch (...) {
    throw CandidateThrew{"an exception that is not a std::exception"};
  }
}

json DoMap(const json& req) {
  const size_t size = req.at("size").get<size_t>();
  if (g_arena) munmap(g_arena, g_arena_size);
  g_arena = nullptr;
  g_arena_size = 0;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, kArenaFd, 0);
  if (p == MAP_FAILED) return {{"ok", false}, {"error", std::string("mmap arena: ") + strerror(errno)}};
  g_arena = static_cast<unsigned char*>(p);
  g_arena_size = size;
  return {{"ok", true}};
}

json DoLoad(const json& req) {
  const std::string path = req.at("path");
  const std::string entry = req.at("entry");
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) return {{"ok", false}, {"error", std::string("cannot load: ") + dlerror()}};
  void* fn = dlsym(lib, entry.c_str());
  if (!fn) {
    return {{"ok", false},
            {"error", "the program does not define the entry point '" + entry +
                          "' with C linkage (in C++, declare it extern \"C\")"}};
  }
  const int handle = g_next_handle++;
  g_entries[handle] = fn;
  return {{"ok", true}, {"handle", handle}};
}

json DoCall(const json& req) {
  Call c;
  if (auto err = ParseCall(req, &c); !err.empty()) return {{"ok", false}, {"error", err}};
  const double t0 = NowNs();
  Invoke(c, 0);
  return {{"ok", true}, {"ns", NowNs() - t0}};
}

// Median's 95% interval half-width over the median, from order statistics.
double RelativeCi(std::vector<double> s) {
  std::sort(s.begin(), s.end());
  const double n = static_cast<double>(s.size());
  const double half = 0.98 * std::sqrt(n);
  const size_t lo = static_cast<size_t>(std::max(0.0, std::floor(n / 2 - half)));
  const size_t hi = static_cast<size_t>(std::min(n - 1, std::ceil(n / 2 + half)));
  const double median = s[s.size() / 2];
  return median > 0 ? (s[hi] - s[lo]) / (2 * median) : 0;
}

// Warm up, then time calls rotating over the buffer sets until the median is stable or a cap
// is reached (EVAL_PROTOCOL rules 11, 12, 14).
json DoTime(const json& req) {
  Call c;
  if (auto err = ParseCall(req, &c); !err.empty()) return {{"ok", false}, {"error", err}};
  const int warmup_runs = req.value("warmup_runs", 3);
  const double warmup_ns = req.value("warmup_seconds", 0.02) * 1e9;
  const size_t min_runs = req.value("min_runs", 10);
  const size_t max_runs = req.value("max_runs", 10000);
  const double max_ns = req.value("max_seconds", 1.0) * 1e9;
  const double target = req.value("target_rel_ci", 0.01);
  size_t set = 0;
  const double w0 = NowNs();
  for (int i = 0; i < warmup_runs || NowNs() - w0 < warmup_ns; ++i) Invoke(c, set++);
  std::vector<double> samples;
  const double start = NowNs();
  size_t next_check = min_runs;
  double ci = 1;
  while (samples.size() < max_runs) {
    const double t0 = NowNs();
    Invoke(c, set++);
    const double t1 = NowNs();
    samples.push_back(t1 - t0);
    if (samples.size() >= next_check) {
      ci = RelativeCi(samples);
      if (ci <= target) break;
      next_check = samples.size() + std::max<size_t>(5, samples.size() / 8);
    }
    if (t1 - start > max_ns && samples.size() >= 3) break;
  }
  return {{"ok", true}, {"samples_ns", samples}, {"rel_ci", RelativeCi(samples)}};
}

}  // namespace

json MeasureCeilings();  // ceilings.cc

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGPIPE, SIG_IGN);
  const bool want_filter = !(argc > 1 && std::string(argv[1]) == "--no-seccomp");
  const bool filtered = want_filter && kf::cpu::InstallSeccompFilter(kReplyFd);
  std::string line;
  while (ReadLine(&line)) {
    json req, reply;
    try {
      req = json::parse(line);
      const std::string op = req.at("op");
      if (op == "hello") {
        reply = {{"ok", true}, {"protocol", kProtocolVersion}, {"pid", getpid()},
                 {"seccomp", filtered}};
      } else if (op == "map") {
        reply = DoMap(req);
      } else if (op == "load") {
        reply = DoLoad(req);
      } else if (op == "call") {
        reply = DoCall(req);
      } else if (op == "time") {
        reply = DoTime(req);
      } else if (op == "ceilings") {
        reply = MeasureCeilings();
      } else {
        reply = {{"ok", false}, {"error", "unknown op '" + op + "'"}};
      }
    } catch (const CandidateThrew& e) {
      // The worker's state after an escaped exception is suspect: report, then leave.
      Reply({{"ok", false}, {"fatal", true}, {"error", "the program threw " + e.what + " out of its entry point"}});
      _exit(0);
    } catch (const std::exception& e) {
      reply = {{"ok", false}, {"error", std::string("bad request: ") + e.what()}};
    }
    fflush(stdout);
    fflush(stderr);
    Reply(reply);
  }
  return 0;
}
