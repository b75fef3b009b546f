#include "mcp/mcp_server.h"

#include <algorithm>
#include <fstream>

#include "search/judge.h"
#include "search/prompts.h"
#include "search/run_context.h"
#include "store/run_reader.h"
#include "task/task.h"
#include "util/files.h"
#include "util/sha256.h"
#include "util/subprocess.h"

namespace kf::mcp {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The protocol revisions this server speaks (initialize handshake); the newest is offered to a
// client that asks for another.
const char* const kVersions[] = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"};

json RpcError(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json Tool(const std::string& name, const std::string& description, json properties,
          std::vector<std::string> required) {
  return {{"name", name},
          {"description", description},
          {"inputSchema",
           {{"type", "object"}, {"properties", std::move(properties)}, {"required", required}}}};
}

json TextContent(const std::string& text, json structured, bool is_error = false) {
  json r = {{"content", json::array({{{"type", "text"}, {"text", text}}})}, {"isError", is_error}};
  if (!structured.is_null()) r["structuredContent"] = std::move(structured);
  return r;
}

std::string ExtensionFor(const std::string& language, const std::string& fallback) {
  if (language == "c") return ".c";
  if (language == "cpp" || language == "c++" || language == "cc") return ".cc";
  if (language == "cuda" || language == "cu") return ".cu";
  if (language == "python" || language == "modelnew" || language == "py") return ".py";
  return fallback;
}

}  // namespace

// One task an agent works on: the task, and the run that records what it judged.
struct Server::TaskSession {
  search::RunContext ctx;
  std::unique_ptr<search::Judge> profiler;  // with Nsight Compute, on first `profile`
};

Server::Server(ServerOptions options) : options_(std::move(options)) {}
Server::~Server() = default;

std::map<std::string, fs::path> Server::TaskPaths() const {
  std::map<std::string, fs::path> out;
  for (const auto& root : options_.task_roots) {
    std::error_code ec;
    if (fs::is_regular_file(root, ec)) {
      out[root.filename().string()] = root;
      continue;
    }
    for (const auto& dir : task::FindTaskDirs(root)) {
      out[fs::relative(dir, root, ec).string()] = dir;
    }
    for (auto it = fs::directory_iterator(root, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      if (it->path().extension() == ".py") out[it->path().filename().string()] = it->path();
    }
  }
  return out;
}

json Server::Tools() const {
  const json task = {{"type", "string"}, {"description", "a task's name, as list_tasks gives it"}};
  const json code = {{"type", "string"}, {"description", "the whole program"}};
  const json language = {
      {"type", "string"},
      {"description", "c, cpp, cuda or python (a ModelNew); default: the task's own language"}};
  return json::array(
      {Tool("list_tasks", "The tasks kforge can judge programs for: name, backend, description.",
            json::object(), {}),
       Tool("describe_task",
            "What a program for the task must do: the description, the entry point's signature "
            "and calling convention, sizes, tolerance, the reference and the initial program.",
            {{"task", task}}, {"task"}),
       Tool("eval",
            "Judge a program for a task with kforge's evaluator (static checks, compile, "
            "correctness on hidden inputs, timing against the baselines): the verdict, the time "
            "and speedups, and the feedback a model gets in kforge's own search.",
            {{"task", task}, {"code", code}, {"language", language}}, {"task", "code"}),
       Tool("profile",
            "Judge a program and return its profile: timings with their spread, the roofline "
            "position, resource use and, on a GPU, Nsight Compute's summary.",
            {{"task", task}, {"code", code}, {"language", language}}, {"task", "code"}),
       Tool("history",
            "The programs judged for a task so far (this session and earlier ones), fastest "
            "correct first, or one of them in full with its code and feedback.",
            {{"task", task},
             {"id", {{"type", "integer"}, {"description", "one candidate in full"}}}},
            {"task"})});
}

std::optional<json> Server::Handle(const json& m) {
  if (!m.is_object() || m.value("jsonrpc", "") != "2.0" || !m.contains("method") ||
      !m["method"].is_string()) {
    return RpcError(m.is_object() && m.contains("id") ? m["id"] : json(), -32600,
                    "invalid request");
  }
  const std::string method = m["method"];
  if (!m.contains("id")) return std::nullopt;  // a notification: nothing to answer
  const json id = m["id"];
  const json params = m.value("params", json::object());
  json result;
  if (method == "initialize") {
    std::string version = kVersions[std::size(kVersions) - 1];
    const std::string asked = params.is_object() ? params.value("protocolVersion", "") : "";
    for (const char* v : kVersions) version = asked == v ? asked : version;
    result = {{"protocolVersion", version},
              {"capabilities", {{"tools", {{"listChanged", false}}}}},
              {"serverInfo", {{"name", "kforge"}, {"version", "1"}}},
              {"instructions",
               "kforge judges GPU and CPU kernels. list_tasks, then describe_task; write a "
               "program and judge it with eval; read the feedback and try again. Programs are "
               "checked on hidden inputs and timed against the task's baselines."}};
  } else if (method == "ping") {
    result = json::object();
  } else if (method == "tools/list") {
    result = {{"tools", Tools()}};
  } else if (method == "tools/call") {
    const std::string name = params.is_object() ? params.value("name", "") : "";
    const json args = params.is_object() ? params.value("arguments", json::object()) : json();
    bool known = false;
    for (const auto& t : Tools()) known = known || t["name"] == name;
    if (!known) return RpcError(id, -32602, "unknown tool '" + name + "'");
    auto called = Call(name, args.is_object() ? args : json::object());
    result = called.ok() ? *called : TextContent(called.status().message(), nullptr, true);
  } else {
    return RpcError(id, -32601, "method not found: " + method);
  }
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", result}};
}

Result<json> Server::Call(const std::string& tool, const json& args) {
  if (tool == "list_tasks") return ListTasks();
  if (tool == "describe_task") return DescribeTask(args);
  if (tool == "eval") return Eval(args, false);
  if (tool == "profile") return Eval(args, true);
  return History(args);
}

Result<json> Server::ListTasks() {
  json tasks = json::array();
  std::string text;
  for (const auto& [name, path] : TaskPaths()) {
    auto t = task::LoadTask(path);
    json row = {{"name", name}};
    if (t.ok()) {
      row["backend"] = backends::BackendName(t->backend);
      row["description"] = t->description;
      row["pytorch"] = t->torch.has_value();
    } else {
      row["error"] = t.status().message();
    }
    const std::string backend = t.ok() ? backends::BackendName(t->backend) : "";
    text += name +
            (t.ok() ? " (" + backend + "): " + t->description.substr(0, 120)
                    : ": cannot be loaded: " + t.status().message()) +
            "\n";
    tasks.push_back(row);
  }
  return TextContent(text, {{"tasks", tasks}});
}

Result<Server::TaskSession*> Server::Session(const std::string& name) {
  if (auto it = sessions_.find(name); it != sessions_.end()) return it->second.get();
  const auto paths = TaskPaths();
  auto it = paths.find(name);
  if (it == paths.end()) return Status::Error("no task '" + name + "' (list_tasks names them)");
  auto t = task::LoadTask(it->second);
  if (!t.ok()) return t.status();
  auto s = std::make_unique<TaskSession>();
  search::RunContext& ctx = s->ctx;
  ctx.task = *t;
  std::string safe = name;
  std::replace(safe.begin(), safe.end(), '/', '_');
  ctx.options.run_dir = options_.runs_dir / ("mcp-" + safe);
  ctx.options.task_dir = t->dir;
  ctx.options.strategy = "mcp";
  ctx.options.budget_evals = 0;
  ctx.options.eval = options_.eval;
  auto store = search::RunStore::Open(ctx.options.run_dir);
  if (!store.ok()) return store.status();
  ctx.store = std::move(*store);
  const json recorded = {{"task_dir", fs::absolute(t->dir).string()},
                         {"strategy", "mcp"},
                         {"llm", json::array()},
                         {"budget_evals", 0},
                         {"budget_cost_usd", 0},
                         {"budget_time_s", 0}};
  if (Status st = ctx.store->SetMeta("options", recorded.dump()); !st.ok()) return st;
  const backends::Backend& backend = backends::GetBackend(t->backend);
  const std::string initial_ext = t->torch ? "" : t->initial.extension().string();
  ctx.extension = backend.ProgramExtension(initial_ext);
  ctx.lang = backend.FenceTag(ctx.extension);
  ctx.judge = std::make_unique<search::EvaluatorJudge>(ctx.task, options_.eval);
  ctx.start_time = MonotonicSeconds();
  TaskSession* raw = s.get();
  sessions_[name] = std::move(s);
  return raw;
}

Result<json> Server::DescribeTask(const json& args) {
  auto s = Session(args.value("task", ""));
  if (!s.ok()) return s.status();
  const task::Task& t = (*s)->ctx.task;
  std::string text = "# " + t.name + "\n\n" + t.description +
                     "\n\nBackend: " + backends::BackendName(t.backend) +
                     ". Write the program in " + (*s)->ctx.lang + ".\n\n" + search::TaskAbi(t);
  if (t.torch) {
    text +=
        "\n\n## The PyTorch module (the reference; eager and torch.compile are the "
        "baselines)\n\n```python\n" +
        t.torch->source + "\n```\n";
  } else {
    text += "\n\n## task.yaml\n\n```yaml\n" + ReadFile(t.dir / "task.yaml") +
            "```\n\n## The reference\n\n```c\n" + ReadFile(t.reference) +
            "```\n\n## The initial program (the baseline)\n\n```" + (*s)->ctx.lang + "\n" +
            ReadFile(t.initial) + "```\n";
  }
  return TextContent(text, {{"task", args.value("task", "")},
                            {"backend", backends::BackendName(t.backend)},
                            {"language", (*s)->ctx.lang},
                            {"entry", t.entry}});
}

Result<json> Server::Eval(const json& args, bool profile) {
  auto s = Session(args.value("task", ""));
  if (!s.ok()) return s.status();
  search::RunContext& ctx = (*s)->ctx;
  if (!args.contains("code") || !args["code"].is_string() || args["code"].empty()) {
    return Status::Error("eval needs the program as `code`");
  }
  const std::string code = args["code"];
  const std::string ext = ExtensionFor(args.value("language", ""), ctx.extension);
  if (profile) {
    if (!(*s)->profiler) {
      eval::EvalOptions o = options_.eval;
      o.ncu = backends::GetBackend(ctx.task.backend).HasProfiler();
      (*s)->profiler = std::make_unique<search::EvaluatorJudge>(ctx.task, o);
    }
    std::swap(ctx.judge, (*s)->profiler);
  }
  search::Candidate extra;
  extra.origin = profile ? "profile" : "agent";
  extra.strategy = "mcp";
  auto c = ctx.Judge(code + (profile ? "\n// kforge: profiled\n" : ""), extra, ext);
  if (profile) std::swap(ctx.judge, (*s)->profiler);
  if (!c.ok()) return c.status();
  json structured = {{"id", c->id},
                     {"verdict", c->verdict},
                     {"time_ms", c->time_ms},
                     {"speedup", c->speedup},
                     {"baseline", search::BaselineLabel(c->result)},
                     {"feedback", c->feedback}};
  std::string text =
      "candidate #" + std::to_string(c->id) + ": " + search::SummaryText(*c) + "\n\n" + c->feedback;
  if (profile) {
    structured["time"] = c->result.value("time_ms", json());  // median, p10, p90, runs, CI
    for (const char* key : {"baseline", "baselines", "roofline", "profile"}) {
      if (c->result.contains(key)) structured[key] = c->result[key];
    }
    const json detail = c->result.value("detail", json::object());
    for (const char* key : {"resources", "ncu", "nsight"}) {
      if (detail.is_object() && detail.contains(key)) structured[key] = detail[key];
    }
    if (!backends::GetBackend(ctx.task.backend).HasProfiler()) {
      structured["note"] = "CPU: timings and the roofline position; no hardware counters";
    }
    text += "\n\nprofile:\n" + structured.dump(2);
  }
  return TextContent(text, structured);
}

Result<json> Server::History(const json& args) {
  auto s = Session(args.value("task", ""));
  if (!s.ok()) return s.status();
  auto reader = store::RunReader::Open((*s)->ctx.options.run_dir);
  if (!reader.ok()) return reader.status();
  if (args.contains("id") && args["id"].is_number_integer()) {
    auto c = (*reader)->GetCandidate(args["id"].get<int64_t>());
    if (!c.ok()) return c.status();
    if (!*c) return Status::Error("no candidate #" + args["id"].dump());
    const auto& got = **c;
    return TextContent("candidate #" + std::to_string(got.id) + ": " + search::SummaryText(got) +
                           "\n\n" + got.feedback + "\n\n```\n" + got.code + "\n```",
                       {{"id", got.id},
                        {"verdict", got.verdict},
                        {"time_ms", got.time_ms},
                        {"speedup", got.speedup},
                        {"code", got.code},
                        {"feedback", got.feedback}});
  }
  auto rows = (*reader)->Attempts();
  if (!rows.ok()) return rows.status();
  std::vector<store::AttemptRow> sorted = *rows;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    const bool ao = a.verdict == "ok", bo = b.verdict == "ok";
    if (ao != bo) return ao;
    return ao && a.time_ms < b.time_ms;
  });
  json list = json::array();
  std::string text;
  for (const auto& r : sorted) {
    list.push_back(
        {{"id", r.id}, {"verdict", r.verdict}, {"time_ms", r.time_ms}, {"speedup", r.speedup}});
    char line[160];
    std::snprintf(line, sizeof(line), "#%lld %s %.4f ms %.2fx\n", static_cast<long long>(r.id),
                  r.verdict.c_str(), r.time_ms, r.speedup);
    text += line;
  }
  return TextContent(text.empty() ? "nothing judged yet\n" : text, {{"candidates", list}});
}

int Server::Serve(std::FILE* in, std::FILE* out) {
  char* line = nullptr;
  size_t cap = 0;
  while (getline(&line, &cap, in) > 0) {
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.empty()) continue;
    json reply;
    const json m = json::parse(text, nullptr, false);
    if (m.is_discarded()) {
      reply = RpcError(nullptr, -32700, "parse error");
    } else {
      try {
        auto r = Handle(m);
        if (!r) continue;
        reply = *r;
      } catch (const std::exception& e) {
        reply = RpcError(m.is_object() && m.contains("id") ? m["id"] : json(), -32603,
                         std::string("internal error: ") + e.what());
      }
    }
    const std::string s = reply.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    std::fwrite(s.data(), 1, s.size(), out);
    std::fflush(out);
  }
  free(line);
  return 0;
}

}  // namespace kf::mcp
