// What every kforge worker executable shares: the JSON-lines protocol on the harness's
// descriptors, loading candidate libraries, calling entry points of any arity. A backend supplies
// its own ops (map, call, run, ceilings) through Serve's handler; times are the orchestrator's
// (eval/batch_timing.h), never taken here.
// Protocol: docs/architecture.md ("Worker protocol").
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace kf::worker {

using json = nlohmann::json;

constexpr int kRequestFd = 3;
constexpr int kReplyFd = 4;
constexpr int kArenaFd = 5;
constexpr int kProtocolVersion = 1;

double NowNs();

// A C++ exception escaping a candidate's entry point.
struct CandidateThrew {
  std::string what;
};

// Entry point plus one argument list per buffer set.
struct Call {
  void* fn = nullptr;
  std::vector<std::vector<intptr_t>> sets;
};

// Reads sets (arena offsets) and ints from a request into one argument list per set: each
// offset becomes base + offset, then the ints, then `trailing` (for example a CUDA stream).
// Returns an error or "".
std::string ParseArgs(const json& req, unsigned char* base, size_t size,
                      const std::vector<intptr_t>& trailing,
                      std::vector<std::vector<intptr_t>>* sets);

// ParseArgs, and the entry point of the request's handle (from DoLoad).
std::string ParseCall(const json& req, unsigned char* base, size_t size,
                      const std::vector<intptr_t>& trailing, Call* call);

// Calls the entry with buffer set `set % sets`; throws CandidateThrew.
void Invoke(const Call& call, size_t set);

// {"op":"load"}: dlopen + dlsym; the handle is valid for ParseCall.
json DoLoad(const json& req);

// Answers requests until the request descriptor closes. `handler` returns the reply for an op
// it knows, or null for "unknown op". Exceptions from candidates end the worker after a reply.
int Serve(const std::function<json(const std::string& op, const json& req)>& handler);

}  // namespace kf::worker
