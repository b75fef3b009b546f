// `kforge mcp`: a Model Context Protocol server over stdio (JSON-RPC 2.0, one message a line),
// so that a coding agent can be the search strategy while kforge stays the judge. It answers
// initialize, ping, tools/list and tools/call; its tools list and describe the tasks, judge a
// program for a task (`eval`: the verdict and the feedback a model would get, by the same
// evaluator and rules as `kforge eval` and `optimize`), profile one (`profile`: the roofline,
// timings and, on a GPU, Nsight Compute's summary), and read what was judged (`history`).
// Every program judged is recorded in a run store per task (RUNS/mcp-TASK/run.sqlite), so
// `kforge serve` and `kforge report` show an agent's session like any run. Messages it cannot
// parse get JSON-RPC errors; a tool that fails answers with isError and the reason. Serves one
// client, one request at a time.
#pragma once

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/evaluator.h"
#include "util/status.h"

namespace kf::mcp {

struct ServerOptions {
  std::vector<std::filesystem::path> task_roots;  // directories of tasks and problem files
  std::filesystem::path runs_dir = "runs";        // where each task's run store goes
  eval::EvalOptions eval;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();

  // Serves until `in` ends. Returns 0.
  int Serve(std::FILE* in, std::FILE* out);

  // One message in, the reply out (nullopt for a notification).
  std::optional<nlohmann::json> Handle(const nlohmann::json& message);

 private:
  struct TaskSession;
  nlohmann::json Tools() const;
  Result<nlohmann::json> Call(const std::string& tool, const nlohmann::json& args);
  Result<nlohmann::json> ListTasks();
  Result<nlohmann::json> DescribeTask(const nlohmann::json& args);
  Result<nlohmann::json> Eval(const nlohmann::json& args, bool profile);
  Result<nlohmann::json> History(const nlohmann::json& args);
  // The task by name (as listed), its session opened on first use.
  Result<TaskSession*> Session(const std::string& name);
  std::map<std::string, std::filesystem::path> TaskPaths() const;

  ServerOptions options_;
  std::map<std::string, std::unique_ptr<TaskSession>> sessions_;
};

}  // namespace kf::mcp
