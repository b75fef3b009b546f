// The command provider: a program is the model. The conversation goes to its stdin as text
// (RenderAsText), the reply is its stdout, streamed as it comes; it gets spec.timeouts.total_s
// to finish, then its whole process group is killed. So `llm -m MODEL`, `ollama run MODEL` or a
// coding agent's CLI can answer kforge's requests.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "llm/provider.h"
#include "util/subprocess.h"

namespace kf::llm {
namespace {

constexpr size_t kMaxOutput = 8 << 20;

class CommandProvider : public Provider {
 public:
  explicit CommandProvider(ProviderSpec spec) : Provider(std::move(spec)) {}

  Completion Complete(const Request& request, const TextSink& sink) override {
    const std::string input = RenderAsText(request.messages);
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) != 0) return Fail(std::string("pipe: ") + std::strerror(errno));
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      return Fail(std::string("pipe: ") + std::strerror(errno));
    }
    // Everything the child needs is built before fork: a threaded parent's child may not allocate.
    std::vector<std::string> env_strings = {"KFORGE_MAX_TOKENS=" +
                                            std::to_string(request.max_tokens)};
    for (char** e = environ; *e; ++e) {
      if (std::strncmp(*e, "KFORGE_MAX_TOKENS=", 18) != 0) env_strings.emplace_back(*e);
    }
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    const char* argv[] = {"sh", "-c", spec_.command.c_str(), nullptr};
    // A program that exits or closes stdin before reading the whole prompt makes the write below
    // fail with EPIPE, which is handled; the SIGPIPE that comes with it must not end this process.
    signal(SIGPIPE, SIG_IGN);
    const double start = MonotonicSeconds();
    const pid_t pid = fork();
    if (pid < 0) return Fail(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
      setpgid(0, 0);
      signal(SIGPIPE, SIG_DFL);  // an ignored signal stays ignored across execve
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      execve("/bin/sh", const_cast<char* const*>(argv), envp.data());
      _exit(127);
    }
    setpgid(pid, pid);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    fcntl(in[1], F_SETFL, O_NONBLOCK);

    std::string stdout_text, stderr_text;
    size_t written = 0;
    bool in_open = true, out_open = true, err_open = true, timed_out = false;
    double first_text = -1;
    if (input.empty()) {
      close(in[1]);
      in_open = false;
    }
    while (out_open || err_open) {
      const double left = spec_.timeouts.total_s - (MonotonicSeconds() - start);
      if (left <= 0) {
        timed_out = true;
        break;
      }
      pollfd fds[3];
      int n = 0;
      if (out_open) fds[n++] = {out[0], POLLIN, 0};
      if (err_open) fds[n++] = {err[0], POLLIN, 0};
      if (in_open) fds[n++] = {in[1], POLLOUT, 0};
      const int ready = poll(fds, n, static_cast<int>(std::min(left, 1.0) * 1000) + 1);
      if (ready < 0 && errno != EINTR) break;
      for (int i = 0; i < n && ready > 0; ++i) {
        if (!fds[i].revents) continue;
        if (fds[i].fd == in[1]) {
          const ssize_t w = write(in[1], input.data() + written, input.size() - written);
          if (w > 0) written += static_cast<size_t>(w);
          if (w < 0 && errno != EAGAIN) written = input.size();  // the program closed stdin
          if (written == input.size()) {
            close(in[1]);
            in_open = false;
          }
          continue;
        }
        char buf[65536];
        const ssize_t r = read(fds[i].fd, buf, sizeof(buf));
        if (r <= 0) {
          if (r < 0 && errno == EINTR) continue;
          (fds[i].fd == out[0] ? out_open : err_open) = false;
          continue;
        }
        if (fds[i].fd == out[0]) {
          if (stdout_text.size() < kMaxOutput) stdout_text.append(buf, static_cast<size_t>(r));
          if (first_text < 0) first_text = MonotonicSeconds() - start;
          if (sink) sink(std::string_view(buf, static_cast<size_t>(r)));
        } else if (stderr_text.size() < 65536) {
          stderr_text.append(buf, static_cast<size_t>(r));
        }
      }
    }
    if (in_open) close(in[1]);
    close(out[0]);
    close(err[0]);
    if (timed_out) kill(-pid, SIGKILL);
    int status = 0;
    // After both pipes closed the program is exiting; a grandchild holding them open was killed
    // with the group.
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!timed_out) kill(-pid, SIGKILL);  // anything it left behind
    const double seconds = MonotonicSeconds() - start;
    std::string tail =
        stderr_text.size() > 500 ? stderr_text.substr(stderr_text.size() - 500) : stderr_text;
    if (timed_out) {
      return Completion::Fail(Error::Kind::kTimeout,
                              "'" + spec_.command + "' did not finish within " +
                                  std::to_string(spec_.timeouts.total_s).substr(0, 6) + " s");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ExitInfo info;
      info.signaled = WIFSIGNALED(status);
      info.code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
      info.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      return Completion::Fail(
          Error::Kind::kCommandFailed,
          "'" + spec_.command + "' " + info.Describe() + (tail.empty() ? "" : ": " + tail));
    }
    if (stdout_text.find_first_not_of(" \t\r\n") == std::string::npos) {
      return Completion::Fail(Error::Kind::kEmpty,
                              "'" + spec_.command + "' printed nothing" +
                                  (tail.empty() ? "" : " (stderr: " + tail + ")"));
    }
    Completion c;
    c.reply.text = stdout_text;
    c.reply.model = spec_.command;
    c.reply.finish_reason = "stop";
    c.reply.latency_s = seconds;
    c.reply.first_token_s = first_text < 0 ? seconds : first_text;
    c.reply.usage = {static_cast<int64_t>(input.size() / 4),
                     static_cast<int64_t>(stdout_text.size() / 4), true};
    return c;
  }

 private:
  Completion Fail(const std::string& why) {
    return Completion::Fail(Error::Kind::kCommandFailed, "'" + spec_.command + "': " + why);
  }
};

}  // namespace

std::unique_ptr<Provider> MakeCommandProvider(const ProviderSpec& spec) {
  return std::make_unique<CommandProvider>(spec);
}

}  // namespace kf::llm
