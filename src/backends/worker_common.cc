#include "backends/worker_common.h"

#include <dlfcn.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <map>

namespace kf::worker {
namespace {

constexpr size_t kMaxArgs = 20;
std::map<int, void*> g_entries;  // handle -> entry point
int g_next_handle = 1;

void WriteReply(const json& j) {
  const std::string s = j.dump() + "\n";
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    const ssize_t n = write(kReplyFd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(3);
    p += n;
    left -= static_cast<size_t>(n);
  }
}

bool ReadLine(std::string* line) {
  static std::string buffer;
  for (;;) {
    const size_t nl = buffer.find('\n');
    if (nl != std::string::npos) {
      *line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      return true;
    }
    char chunk[65536];
    const ssize_t n = read(kRequestFd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // the orchestrator is gone: so are we
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

// Every argument of a candidate entry is a pointer or a 64-bit integer: on x86_64 and aarch64
// both travel in the same integer registers, so one pointer type per arity calls any entry.
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

}  // namespace

double NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

std::string ParseCall(const json& req, unsigned char* base, size_t size,
                      const std::vector<intptr_t>& trailing, Call* call) {
  auto it = g_entries.find(req.value("handle", -1));
  if (it == g_entries.end()) return "unknown handle";
  call->fn = it->second;
  return ParseArgs(req, base, size, trailing, &call->sets);
}

std::string ParseArgs(const json& req, unsigned char* base, size_t size,
                      const std::vector<intptr_t>& trailing,
                      std::vector<std::vector<intptr_t>>* sets) {
  const auto& ints = req.at("ints");
  for (const auto& set : req.at("sets")) {
    std::vector<Arg> args;
    for (const auto& off : set) {
      const uint64_t o = off.get<uint64_t>();
      if (o >= size) return "buffer offset outside the arena";
      args.push_back(reinterpret_cast<Arg>(base + o));
    }
    for (const auto& v : ints) args.push_back(static_cast<Arg>(v.get<int64_t>()));
    args.insert(args.end(), trailing.begin(), trailing.end());
    if (args.size() > kMaxArgs) return "too many arguments";
    sets->push_back(std::move(args));
  }
  if (sets->empty()) return "no buffer sets";
  return "";
}

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

int Serve(const std::function<json(const std::string& op, const json& req)>& handler) {
  std::string line;
  while (ReadLine(&line)) {
    json reply;
    try {
      const json req = json::parse(line);
      const std::string op = req.at("op");
      if (op == "load") {
        reply = DoLoad(req);
      } else {
        reply = handler(op, req);
        if (reply.is_null()) reply = {{"ok", false}, {"error", "unknown op '" + op + "'"}};
      }
    } catch (const CandidateThrew& e) {
      // The worker's state after an escaped exception is suspect: report, then leave.
      std::fflush(stdout);
      WriteReply({{"ok", false},
                  {"fatal", true},
                  {"error", "the program threw " + e.what + " out of its entry point"}});
      _exit(0);
    } catch (const std::exception& e) {
      reply = {{"ok", false}, {"error", std::string("bad request: ") + e.what()}};
    }
    std::fflush(stdout);
    std::fflush(stderr);
    WriteReply(reply);
  }
  return 0;
}

}  // namespace kf::worker
