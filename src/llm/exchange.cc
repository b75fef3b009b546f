// The exchange provider: requests and replies as files in a directory, for an agent, a person or
// a batch API to answer. For each request kforge writes
//   DIR/ID.prompt.md      the conversation as text (RenderAsText)
//   DIR/ID.request.json   the request as JSON (messages, max_tokens, ...)
// and waits up to spec.timeouts.total_s for DIR/ID.reply.md, whose whole content is the reply
// (write it under another name and rename it, or kforge waits until its size stops changing).
// DIR/ID.error.txt instead declines the request. ID is derived from the request, so a resumed
// run finds replies already written. prompt.md opens with the request's id and sample number,
// so identical prompts of one batch (several samples of one request) are told apart. When the
// provider is ended (the run is over, whatever the reason) it writes DIR/ended.txt, so an
// answerer knows no more requests will come; a new provider on the directory removes it.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "llm/provider.h"
#include "util/files.h"
#include "util/sha256.h"
#include "util/subprocess.h"

namespace kf::llm {
namespace fs = std::filesystem;

namespace {

constexpr char kEnded[] = "ended.txt";

bool WriteAtomically(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) return false;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  return !ec;
}

class ExchangeProvider : public Provider {
 public:
  explicit ExchangeProvider(ProviderSpec spec) : Provider(std::move(spec)) {
    std::error_code ec;
    fs::remove(fs::path(spec_.dir) / kEnded, ec);
  }

  ~ExchangeProvider() override {
    std::error_code ec;
    if (fs::is_directory(spec_.dir, ec)) {
      (void)WriteAtomically(fs::path(spec_.dir) / kEnded,
                            "The run has ended: no more requests will come.\n");
    }
  }

  Completion Complete(const Request& request, const TextSink& sink) override {
    const fs::path dir = spec_.dir;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir)) {
      return Completion::Fail(Error::Kind::kConfig, "exchange directory '" + spec_.dir +
                                                        "' cannot be created: " + ec.message());
    }
    nlohmann::json req = request.ToJson();
    const std::string id = Sha256Hex(req.dump()).substr(0, 16);
    req["id"] = id;
    const fs::path reply = dir / (id + ".reply.md");
    const fs::path error = dir / (id + ".error.txt");
    const double start = MonotonicSeconds();
    if (!fs::exists(reply) && !fs::exists(error)) {
      const std::string head = "<!-- kforge request " + id + ", sample " +
                               std::to_string(request.sample) +
                               ": answer each sample of a request on its own -->\n\n";
      if (!WriteAtomically(dir / (id + ".prompt.md"), head + RenderAsText(request.messages)) ||
          !WriteAtomically(dir / (id + ".request.json"), req.dump(2) + "\n")) {
        return Completion::Fail(Error::Kind::kConfig,
                                "cannot write the request into '" + spec_.dir + "'");
      }
    }
    std::uintmax_t last_size = static_cast<std::uintmax_t>(-1);
    while (true) {
      if (fs::exists(error, ec)) {
        return Completion::Fail(Error::Kind::kCommandFailed, "the request was declined in " +
                                                                 error.string() + ": " +
                                                                 ReadFile(error).substr(0, 500));
      }
      if (fs::exists(reply, ec)) {
        const auto size = fs::file_size(reply, ec);
        if (!ec && size == last_size) break;  // stable over one poll
        last_size = ec ? last_size : size;
      }
      if (MonotonicSeconds() - start > spec_.timeouts.total_s) {
        return Completion::Fail(Error::Kind::kTimeout,
                                "no reply at " + reply.string() + " after " +
                                    std::to_string(spec_.timeouts.total_s).substr(0, 6) +
                                    " s (the request stays in " + spec_.dir + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    Completion c;
    c.reply.text = ReadFile(reply);
    if (c.reply.text.find_first_not_of(" \t\r\n") == std::string::npos) {
      return Completion::Fail(Error::Kind::kEmpty, reply.string() + " is empty");
    }
    if (sink) sink(c.reply.text);
    c.reply.model = "exchange";
    c.reply.finish_reason = "stop";
    c.reply.latency_s = MonotonicSeconds() - start;
    c.reply.first_token_s = c.reply.latency_s;
    c.reply.usage = {static_cast<int64_t>(RenderAsText(request.messages).size() / 4),
                     static_cast<int64_t>(c.reply.text.size() / 4), true};
    return c;
  }
};

}  // namespace

std::unique_ptr<Provider> MakeExchangeProvider(const ProviderSpec& spec) {
  return std::make_unique<ExchangeProvider>(spec);
}

}  // namespace kf::llm
