// `kforge mcp`: the Model Context Protocol server (src/mcp/mcp_server.h) on stdin and stdout.
#include <unistd.h>

#include <cstdio>

#include "cli/cli_app.h"
#include "cli/commands.h"
#include "mcp/mcp_server.h"

namespace kf::cli {

int RunMcp(const std::vector<std::string>& args) {
  mcp::ServerOptions o;
  std::vector<std::string> tasks;
  std::string runs = o.runs_dir.string();
  auto app = NewCommandApp(
      "mcp",
      "A Model Context Protocol server over stdio (JSON-RPC 2.0, a message a line): tools to "
      "list and describe tasks, judge programs (eval), profile them and read what was judged "
      "(history), so a coding agent can drive kforge (docs/mcp.md).\n"
      "  kforge mcp [--tasks DIR ...] [--runs DIR] [evaluation options]");
  app->add_option("--tasks", tasks,
                  "directories of tasks or PyTorch problem files to offer (repeatable; default: "
                  "the built-in tasks)")
      ->type_name("DIR");
  app->add_option("--runs", runs, "where each task's run store goes (default runs)")
      ->type_name("DIR");
  AddEvalOptions(app.get(), &o.eval);
  if (auto stop = ParseArgs(app.get(), args)) return Finish(*stop);
  for (const auto& t : tasks) o.task_roots.push_back(t);
  if (o.task_roots.empty()) o.task_roots.push_back(BuiltinTasksDir());
  o.runs_dir = runs;
  // stdout carries the protocol alone: whatever else writes to fd 1 goes to stderr instead.
  const int protocol_fd = dup(1);
  std::FILE* out = protocol_fd >= 0 ? fdopen(protocol_fd, "w") : nullptr;
  if (!out) {
    std::fprintf(stderr, "kforge mcp: cannot open stdout\n");
    return 2;
  }
  std::fflush(stdout);
  dup2(2, 1);
  mcp::Server server(o);
  const int rc = server.Serve(stdin, out);
  std::fclose(out);
  return rc;
}

}  // namespace kf::cli
