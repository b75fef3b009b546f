// Every way a model provider can fail, played against the fault server on loopback (and, for the
// command and exchange providers, against real programs and files): each case asserts the typed
// Error kind, and where it matters how many requests the server saw, how long it took and what
// the message says.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fault_server.h"
#include "llm/call_log.h"
#include "llm/code.h"
#include "llm/ensemble.h"
#include "llm/provider.h"
#include "llm/retry.h"
#include "llm/types.h"
#include "util/subprocess.h"

namespace kf::llm {
namespace {

namespace fs = std::filesystem;
using fault::Chunk;
using fault::FaultServer;
using fault::Script;
using json = nlohmann::json;
using Kind = Error::Kind;

constexpr const char* kKey = "sk-fault-7f3a9c1e5b2d4680-SECRET";
constexpr const char* kAnthropicKey = "sk-ant-fault-0c8e2a4f6b1d3957-SECRET";

std::string KindOf(const Completion& c) {
  return c.ok() ? "ok" : std::string(KindName(c.error->kind));
}
std::string MessageOf(const Completion& c) { return c.ok() ? "" : c.error->message; }

// Deadlines far from anything a case does not exercise.
Timeouts Generous() {
  Timeouts t;
  t.connect_s = 2;
  t.first_byte_s = 5;
  t.idle_s = 5;
  t.total_s = 10;
  return t;
}

RetryPolicy Retry(int max_attempts) {
  RetryPolicy p;
  p.max_attempts = max_attempts;
  p.base_s = 0.05;
  p.max_s = 2;
  return p;
}

Request Prompt(const std::string& text = "Write a kernel.") {
  Request r;
  r.messages = {{"user", text}};
  r.max_tokens = 256;
  return r;
}

// An OpenAI-compatible spec for `base` (a server's URL, or any URL), the key in its variable.
ProviderSpec Compatible(const std::string& base, const std::string& model = "fault-model",
                        Timeouts timeouts = Generous()) {
  setenv("KFORGE_LLM_API_KEY", kKey, 1);
  auto spec = ParseSpec("openai-compatible:" + base + "/v1#" + model);
  EXPECT_TRUE(spec.ok()) << spec.status().message();
  spec->timeouts = timeouts;
  return *spec;
}

ProviderSpec Anthropic(const FaultServer& server, Timeouts timeouts = Generous()) {
  setenv("ANTHROPIC_API_KEY", kAnthropicKey, 1);
  setenv("ANTHROPIC_BASE_URL", server.url().c_str(), 1);
  auto spec = ParseSpec("anthropic:claude-fault");
  EXPECT_TRUE(spec.ok()) << spec.status().message();
  spec->timeouts = timeouts;
  return *spec;
}

ProviderSpec Spec(const std::string& text, double total_s = 5) {
  auto spec = ParseSpec(text);
  EXPECT_TRUE(spec.ok()) << spec.status().message();
  spec->timeouts.total_s = total_s;
  return *spec;
}

// One call through the retry loop, as an Ensemble makes it, with a short backoff.
Completion Call(const ProviderSpec& spec, const RetryPolicy& policy,
                const Request& request = Prompt(), const TextSink& sink = {}) {
  auto provider = MakeProvider(spec);
  EXPECT_NE(provider, nullptr);
  std::mt19937_64 rng(7);
  return CompleteWithRetry(*provider, request, sink, policy, rng, RealSleeper(nullptr));
}

class Stopwatch {
 public:
  double seconds() const { return MonotonicSeconds() - start_; }

 private:
  double start_ = MonotonicSeconds();
};

// A fresh directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kforge-llm-test-XXXXXX").string();
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A loopback port with nothing listening on it: bound, then closed.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A listening socket that never accepts, its backlog (0) filled by a dummy connection, so the
// kernel drops every further SYN: a connect to it hangs until the client gives up.
class BlackHole {
 public:
  BlackHole() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 0), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    // The first dummy completes its handshake and fills the accept queue; the second's SYN is
    // already dropped (it stays in SYN-SENT, retransmitting), which makes sure the queue is full.
    for (int i = 0; i < 2; ++i) {
      const int d = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      connect(d, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      if (i == 0) {
        pollfd p{d, POLLOUT, 0};
        EXPECT_EQ(poll(&p, 1, 2000), 1) << "the first dummy connection did not complete";
      }
      dummies_.push_back(d);
    }
  }
  ~BlackHole() {
    for (int d : dummies_) close(d);
    close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::vector<int> dummies_;
};

// ---------------------------------------------------------------------------------------------
// Transport failures

TEST(ProviderFaults, ConnectionRefusedIsRetriedUpToMaxAttempts) {
  const int port = ClosedPort();
  Completion c = Call(Compatible("http://127.0.0.1:" + std::to_string(port)), Retry(3));
  ASSERT_EQ(KindOf(c), "connect") << MessageOf(c);
  EXPECT_EQ(c.reply.attempts, 3);
  EXPECT_NE(MessageOf(c).find("after 3 attempts"), std::string::npos) << MessageOf(c);
}

TEST(ProviderFaults, DnsFailureIsNotRetried) {
  Completion c = Call(Compatible("http://kforge-test.invalid"), Retry(3));
  ASSERT_EQ(KindOf(c), "dns") << MessageOf(c);
  EXPECT_EQ(c.reply.attempts, 1);
  EXPECT_NE(MessageOf(c).find("kforge-test.invalid"), std::string::npos) << MessageOf(c);
}

TEST(ProviderFaults, TlsToPlainHttpServer) {
  FaultServer server;
  server.Push(Script::Body(400, "plain HTTP here\n", "text/plain"));
  const std::string https = "https://127.0.0.1:" + std::to_string(server.port());
  Completion c = Call(Compatible(https), Retry(3));
  ASSERT_EQ(KindOf(c), "tls") << MessageOf(c);
  EXPECT_EQ(c.reply.attempts, 1);
  EXPECT_EQ(server.connections(), 1);
  ASSERT_EQ(server.request_count(), 1u);
  EXPECT_EQ(server.requests()[0].method, "") << "the client should have sent a TLS handshake";
}

TEST(ProviderFaults, ConnectTimeoutWhenSynIsDropped) {
  BlackHole hole;
  Timeouts t = Generous();
  t.connect_s = 0.5;
  Stopwatch clock;
  Completion c =
      Call(Compatible("http://127.0.0.1:" + std::to_string(hole.port()), "m", t), Retry(1));
  const double elapsed = clock.seconds();
  ASSERT_EQ(KindOf(c), "timeout") << MessageOf(c);
  EXPECT_NE(MessageOf(c).find("connect deadline"), std::string::npos) << MessageOf(c);
  EXPECT_GE(elapsed, 0.45);
  EXPECT_LT(elapsed, 2.0);
}

TEST(ProviderFaults, FirstByteTimeout) {
  FaultServer server;
  Script s = Script::Sse(fault::OpenAiReply({"too late"}));
  s.delay_s = 4;
  server.Push(s);
  Timeouts t = Generous();
  t.first_byte_s = 0.5;
  Stopwatch clock;
  Completion c = Call(Compatible(server.url(), "fault-model", t), Retry(1));
  const double elapsed = clock.seconds();
  ASSERT_EQ(KindOf(c), "timeout") << MessageOf(c);
  EXPECT_NE(MessageOf(c).find("first-byte deadline"), std::string::npos) << MessageOf(c);
  EXPECT_GE(elapsed, 0.45);
  EXPECT_LT(elapsed, 3.0);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(ProviderFaults, IdleTimeoutMidStream) {
  FaultServer server;
  Script s;
  s.headers = {{"Content-Type", "text/event-stream"}};
  s.chunks = {{0, fault::OpenAiSse({fault::OpenAiDelta("Hel")}, false)},
              {4, fault::OpenAiReply({"lo"})}};
  server.Push(s);
  Timeouts t = Generous();
  t.idle_s = 0.5;
  std::string streamed;
  Stopwatch clock;
  Completion c = Call(Compatible(server.url(), "fault-model", t), Retry(1), Prompt(),
                      [&](std::string_view text) { streamed += text; });
  const double elapsed = clock.seconds();
  ASSERT_EQ(KindOf(c), "timeout") << MessageOf(c);
  EXPECT_NE(MessageOf(c).find("idle deadline"), std::string::npos) << MessageOf(c);
  EXPECT_EQ(streamed, "Hel");  // the first chunk did arrive
  EXPECT_LT(elapsed, 3.0);
}

TEST(ProviderFaults, TotalTimeout) {
  FaultServer server;
  Script s;
  s.headers = {{"Content-Type", "text/event-stream"}};
  for (int i = 0; i < 25; ++i) {
    s.chunks.push_back(Chunk{0.2, fault::OpenAiSse({fault::OpenAiDelta("x")}, false)});
  }
  s.chunks.push_back(Chunk{0, fault::OpenAiReply({"end"})});
  server.Push(s);
  Timeouts t = Generous();
  t.total_s = 1;
  Stopwatch clock;
  Completion c = Call(Compatible(server.url(), "fault-model", t), Retry(1));
  const double elapsed = clock.seconds();
  ASSERT_EQ(KindOf(c), "timeout") << MessageOf(c);
  EXPECT_NE(MessageOf(c).find("total deadline"), std::string::npos) << MessageOf(c);
  EXPECT_GE(elapsed, 0.95);
  EXPECT_LT(elapsed, 3.0);
}

// ---------------------------------------------------------------------------------------------
// HTTP statuses

TEST(ProviderFaults, RateLimitHonoursRetryAfter) {
  FaultServer server;
  server.Push(Script::Body(429, R"({"error": {"message": "Rate limit reached"}})")
                  .Header("Retry-After", "1"));
  server.Push(Script::Sse(fault::OpenAiReply({"after ", "the wait"})));
  Stopwatch clock;
  Completion c = Call(Compatible(server.url()), Retry(3));
  const double elapsed = clock.seconds();
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_EQ(c.reply.text, "after the wait");
  EXPECT_EQ(c.reply.attempts, 2);
  EXPECT_EQ(server.request_count(), 2u);
  EXPECT_GE(elapsed, 1.0);
  EXPECT_LT(elapsed, 3.0);
}

TEST(ProviderFaults, RateLimitWithoutRetryAfterBacksOff) {
  FaultServer server;
  server.Push(Script::Body(429, R"({"error": {"message": "Rate limit reached"}})"));
  server.Push(Script::Sse(fault::OpenAiReply({"ok"})));
  Stopwatch clock;
  Completion c = Call(Compatible(server.url()), Retry(3));
  const double elapsed = clock.seconds();
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_EQ(c.reply.attempts, 2);
  EXPECT_EQ(server.request_count(), 2u);
  EXPECT_LT(elapsed, 0.8);  // one backoff of 0.025-0.05 s
}

TEST(ProviderFaults, ServerErrorsAreRetried) {
  FaultServer server;
  server.Push(Script::Body(500, R"({"error": {"message": "internal"}})"));
  server.Push(Script::Body(502, "<html>bad gateway</html>", "text/html"));
  server.Push(Script::Body(503, R"({"error": {"message": "unavailable"}})"));
  server.Push(Script::Sse(fault::OpenAiReply({"fourth time lucky"})));
  Completion c = Call(Compatible(server.url()), Retry(6));
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_EQ(c.reply.text, "fourth time lucky");
  EXPECT_EQ(c.reply.attempts, 4);
  EXPECT_EQ(server.request_count(), 4u);
}

TEST(ProviderFaults, ServerErrorsExhaustAttempts) {
  FaultServer server;
  server.Push(Script::Body(503, R"({"error": {"message": "unavailable"}})"));  // repeated
  Completion c = Call(Compatible(server.url()), Retry(3));
  ASSERT_EQ(KindOf(c), "server_error") << MessageOf(c);
  EXPECT_EQ(c.error->http_status, 503);
  EXPECT_EQ(c.reply.attempts, 3);
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_NE(MessageOf(c).find("unavailable"), std::string::npos) << MessageOf(c);
}

TEST(ProviderFaults, AuthErrorsAreNotRetried) {
  for (int status : {401, 403}) {
    SCOPED_TRACE(status);
    FaultServer server;
    server.Push(Script::Body(status, R"({"error": {"message": "Incorrect API key provided"}})"));
    Completion c = Call(Compatible(server.url()), Retry(4));
    ASSERT_EQ(KindOf(c), "auth") << MessageOf(c);
    EXPECT_EQ(c.error->http_status, status);
    EXPECT_EQ(server.request_count(), 1u);
    EXPECT_NE(MessageOf(c).find("KFORGE_LLM_API_KEY"), std::string::npos) << MessageOf(c);
    EXPECT_NE(MessageOf(c).find("Incorrect API key provided"), std::string::npos) << MessageOf(c);
    EXPECT_EQ(MessageOf(c).find(kKey), std::string::npos) << "the key leaked into the message";
  }
}

TEST(ProviderFaults, ContextLengthIsNotRetried) {
  FaultServer server;
  const json body = {
      {"error",
       {{"message",
         "This model's maximum context length is 8192 tokens. However, your messages resulted "
         "in 9012 tokens. Please reduce the length of the messages."},
        {"type", "invalid_request_error"},
        {"param", "messages"},
        {"code", "context_length_exceeded"}}}};
  server.Push(Script::Body(400, body.dump()));
  Completion c = Call(Compatible(server.url()), Retry(4));
  ASSERT_EQ(KindOf(c), "context_length") << MessageOf(c);
  EXPECT_EQ(c.error->http_status, 400);
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_NE(MessageOf(c).find("maximum context length"), std::string::npos) << MessageOf(c);
}

TEST(ProviderFaults, OtherClientErrorIsBadRequest) {
  FaultServer server;
  server.Push(Script::Body(404, R"({"error": {"message": "The model `nope` does not exist"}})"));
  Completion c = Call(Compatible(server.url(), "nope"), Retry(4));
  ASSERT_EQ(KindOf(c), "bad_request") << MessageOf(c);
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_NE(MessageOf(c).find("does not exist"), std::string::npos) << MessageOf(c);
}

// ---------------------------------------------------------------------------------------------
// Broken streams

TEST(ProviderFaults, StreamClosedMidReplyIsCutOff) {
  FaultServer server;
  Script s;
  s.headers = {{"Content-Type", "text/event-stream"}};
  s.chunks = {{0, fault::OpenAiSse({fault::OpenAiDelta("The kernel ")}, false)},
              {0.05, fault::OpenAiSse({fault::OpenAiDelta("is")}, false)}};
  server.Push(s);  // every attempt: no finish_reason, no [DONE], then the connection closes
  Completion c = Call(Compatible(server.url()), Retry(2));
  ASSERT_EQ(KindOf(c), "cut_off") << MessageOf(c);
  EXPECT_EQ(c.reply.attempts, 2);
  EXPECT_EQ(server.request_count(), 2u);
  // A clean close, but the reply never finished: the decoder's verdict, not the transport's.
  EXPECT_NE(MessageOf(c).find("ended the stream before the reply was complete (13 characters"),
            std::string::npos)
      << MessageOf(c);
}

TEST(ProviderFaults, ChunkedStreamCutIsCutOff) {
  FaultServer server;
  Script s;
  s.mode = Script::Mode::kChunked;
  s.cut = true;
  s.headers = {{"Content-Type", "text/event-stream"}};
  s.chunks = {{0, fault::OpenAiSse({fault::OpenAiDelta("The kernel ")}, false)},
              {0.05, fault::OpenAiSse({fault::OpenAiDelta("is")}, false)}};
  server.Push(s);
  Completion c = Call(Compatible(server.url()), Retry(2));
  ASSERT_EQ(KindOf(c), "cut_off") << MessageOf(c);
  EXPECT_EQ(c.reply.attempts, 2);
  EXPECT_EQ(server.request_count(), 2u);
  // The transport saw the chunked body end early (not a clean close with an unfinished reply).
  EXPECT_NE(MessageOf(c).find("closed the connection mid-reply"), std::string::npos)
      << MessageOf(c);
}

TEST(ProviderFaults, ChunkedStreamCompleteIsOk) {
  FaultServer server;
  Script s;
  s.mode = Script::Mode::kChunked;
  s.headers = {{"Content-Type", "text/event-stream"}};
  s.chunks = {{0, fault::OpenAiSse({fault::OpenAiDelta("chunked ")}, false)},
              {0.05, fault::OpenAiReply({"fine"})}};
  server.Push(s);
  Completion c = Call(Compatible(server.url()), Retry(1));
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_EQ(c.reply.text, "chunked fine");
}

TEST(ProviderFaults, CutOffThenGoodStreamRecovers) {
  FaultServer server;
  Script cut;
  cut.headers = {{"Content-Type", "text/event-stream"}};
  cut.chunks = {{0, fault::OpenAiSse({fault::OpenAiDelta("partial")}, false)}};
  server.Push(cut);
  server.Push(Script::Sse(fault::OpenAiReply({"whole"})));
  std::string streamed;
  Completion c = Call(Compatible(server.url()), Retry(3), Prompt(),
                      [&](std::string_view t) { streamed += t; });
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_EQ(c.reply.text, "whole");  // nothing of the failed attempt
  EXPECT_EQ(c.reply.attempts, 2);
}

TEST(ProviderFaults, MalformedEventJson) {
  FaultServer server;
  server.Push(Script::Sse(fault::OpenAiSse({fault::OpenAiDelta("ok so far")}, false) +
                          "data: {\"choices\": [{\"delta\": {\"content\": \"oops\"\n\n" +
                          fault::OpenAiReply({"never read"})));
  Completion c = Call(Compatible(server.url()), Retry(1));
  ASSERT_EQ(KindOf(c), "malformed_reply") << MessageOf(c);
  EXPECT_NE(MessageOf(c).find("not a JSON object"), std::string::npos) << MessageOf(c);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(ProviderFaults, ErrorObjectInsideTheStreamIsServerError) {
  FaultServer server;
  server.Push(Script::Sse(fault::OpenAiSse(
      {fault::OpenAiDelta("hi"), json{{"error", {{"message", "model crashed"}}}}}, true)));
  Completion c = Call(Compatible(server.url()), Retry(1));
  ASSERT_EQ(KindOf(c), "server_error") << MessageOf(c);
  EXPECT_NE(MessageOf(c).find("model crashed"), std::string::npos) << MessageOf(c);
}

TEST(ProviderFaults, EmptyReply) {
  FaultServer server;
  server.Push(Script::Sse(fault::OpenAiSse({fault::OpenAiUsage(10, 0)}, true)));
  Completion c = Call(Compatible(server.url()), Retry(3));
  ASSERT_EQ(KindOf(c), "empty_reply") << MessageOf(c);
  EXPECT_EQ(server.request_count(), 1u);  // not retried
}

TEST(ProviderFaults, EmptyReplyAtTokenLimitSaysRaiseMaxTokens) {
  FaultServer server;
  server.Push(Script::Sse(
      fault::OpenAiSse({fault::OpenAiDelta("", "length"), fault::OpenAiUsage(10, 256)}, true)));
  Completion c = Call(Compatible(server.url(), "o3-mini"), Retry(3));
  ASSERT_EQ(KindOf(c), "empty_reply") << MessageOf(c);
  EXPECT_NE(MessageOf(c).find("raise max_tokens"), std::string::npos) << MessageOf(c);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(ProviderFaults, ReplyWithoutCodeAndWithCode) {
  FaultServer server;
  server.Push(Script::Sse(fault::OpenAiReply({"I would tile the loop, ", "but here is no code."})));
  server.Push(Script::Sse(fault::OpenAiReply({"Here:\n\n```cuda\n__global__ void k(float* x) {\n",
                                              "  x[threadIdx.x] = 0;\n}\n```\n", "Done."})));
  Completion prose = Call(Compatible(server.url()), Retry(1));
  ASSERT_TRUE(prose.ok()) << MessageOf(prose);
  auto none = ExtractCode(prose.reply.text, {"cuda", "cu"});
  ASSERT_TRUE(std::holds_alternative<Error>(none));
  EXPECT_EQ(std::get<Error>(none).kind, Kind::kNoCode);

  Completion code = Call(Compatible(server.url()), Retry(1));
  ASSERT_TRUE(code.ok()) << MessageOf(code);
  auto found = ExtractCode(code.reply.text, {"cuda", "cu"});
  ASSERT_TRUE(std::holds_alternative<std::string>(found));
  EXPECT_EQ(std::get<std::string>(found),
            "__global__ void k(float* x) {\n  x[threadIdx.x] = 0;\n}");
}

// ---------------------------------------------------------------------------------------------
// Good replies and what was sent

TEST(ProviderFaults, OpenAiCompatibleGoodStream) {
  FaultServer server;
  server.Push(Script::Sse(fault::OpenAiReply({"Hel", "lo", ", world"}, 21, 4)));
  Request req = Prompt("Say hello.");
  req.messages.insert(req.messages.begin(), Message{"system", "Be brief."});
  req.temperature = 0.2;
  std::vector<std::string> pieces;
  Completion c = Call(Compatible(server.url()), Retry(1), req,
                      [&](std::string_view t) { pieces.emplace_back(t); });
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_EQ(c.reply.text, "Hello, world");
  EXPECT_EQ(pieces, (std::vector<std::string>{"Hel", "lo", ", world"}));
  EXPECT_EQ(c.reply.finish_reason, "stop");
  EXPECT_EQ(c.reply.model, "fault-model");
  EXPECT_EQ(c.reply.usage.prompt_tokens, 21);
  EXPECT_EQ(c.reply.usage.completion_tokens, 4);
  EXPECT_FALSE(c.reply.usage.estimated);
  EXPECT_EQ(c.reply.attempts, 1);

  ASSERT_EQ(server.request_count(), 1u);
  const auto r = server.requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/v1/chat/completions");
  EXPECT_EQ(r.Header("authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(r.Header("content-type"), "application/json");
  const json body = r.Json();
  ASSERT_FALSE(body.is_discarded()) << r.body;
  EXPECT_EQ(body["model"], "fault-model");
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  EXPECT_EQ(body["max_tokens"], 256);
  EXPECT_FALSE(body.contains("max_completion_tokens"));
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.2);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_EQ(body["messages"][1]["content"], "Say hello.");
}

TEST(ProviderFaults, ReasoningModelBody) {
  FaultServer server;
  server.Push(Script::Sse(fault::OpenAiReply({"thought"})));
  Request req = Prompt();
  req.temperature = 0.7;
  Completion c = Call(Compatible(server.url(), "o3-mini"), Retry(1), req);
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  ASSERT_EQ(server.request_count(), 1u);
  const json body = server.requests()[0].Json();
  EXPECT_EQ(body["model"], "o3-mini");
  EXPECT_EQ(body["max_completion_tokens"], 256);
  EXPECT_FALSE(body.contains("max_tokens")) << body.dump();
  EXPECT_FALSE(body.contains("temperature")) << body.dump();
}

TEST(ProviderFaults, WholeJsonReplyToAStreamRequest) {
  FaultServer server;
  server.Push(Script::Body(200, json{{"model", "fault-model"},
                                     {"choices",
                                      {{{"index", 0},
                                        {"message", {{"role", "assistant"}, {"content", "whole"}}},
                                        {"finish_reason", "stop"}}}},
                                     {"usage", {{"prompt_tokens", 3}, {"completion_tokens", 1}}}}
                                    .dump()));
  Completion c = Call(Compatible(server.url()), Retry(1));
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_EQ(c.reply.text, "whole");
  EXPECT_EQ(c.reply.usage.prompt_tokens, 3);
}

TEST(ProviderFaults, AnthropicGoodStream) {
  FaultServer server;
  server.Push(Script::Sse(fault::AnthropicReply({"Bonjour", ", le monde"}, 12, 7)));
  Request req = Prompt("Say hello in French.");
  req.messages.insert(req.messages.begin(), Message{"system", "Be brief."});
  Completion c = Call(Anthropic(server), Retry(1), req);
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_EQ(c.reply.text, "Bonjour, le monde");
  EXPECT_EQ(c.reply.finish_reason, "end_turn");
  EXPECT_EQ(c.reply.model, "claude-fault");
  EXPECT_EQ(c.reply.usage.prompt_tokens, 12);
  EXPECT_EQ(c.reply.usage.completion_tokens, 7);

  ASSERT_EQ(server.request_count(), 1u);
  const auto r = server.requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/v1/messages");
  EXPECT_EQ(r.Header("x-api-key"), kAnthropicKey);
  EXPECT_EQ(r.Header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(r.Header("authorization"), "");
  const json body = r.Json();
  ASSERT_FALSE(body.is_discarded()) << r.body;
  EXPECT_EQ(body["model"], "claude-fault");
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["max_tokens"], 256);
  EXPECT_EQ(body["system"], "Be brief.");
  ASSERT_EQ(body["messages"].size(), 1u);
  EXPECT_EQ(body["messages"][0]["role"], "user");
  EXPECT_EQ(body["messages"][0]["content"], "Say hello in French.");
}

TEST(ProviderFaults, AnthropicOverloadedMidStreamIsRetried) {
  FaultServer server;
  server.Push(Script::Sse(fault::AnthropicSse(
      {{"message_start",
        {{"type", "message_start"},
         {"message", {{"model", "claude-fault"}, {"usage", {{"input_tokens", 12}}}}}}},
       {"content_block_delta",
        {{"type", "content_block_delta"},
         {"index", 0},
         {"delta", {{"type", "text_delta"}, {"text", "half"}}}}},
       {"error",
        {{"type", "error"},
         {"error", {{"type", "overloaded_error"}, {"message", "Overloaded"}}}}}})));
  server.Push(Script::Sse(fault::AnthropicReply({"second try"})));
  std::vector<std::string> errors;
  auto provider = MakeProvider(Anthropic(server));
  std::mt19937_64 rng(1);
  Completion c = CompleteWithRetry(
      *provider, Prompt(), {}, Retry(3), rng, RealSleeper(nullptr), [&](const Error& e, double) {
        errors.push_back(std::string(KindName(e.kind)) + ": " + e.message);
      });
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_EQ(c.reply.text, "second try");
  EXPECT_EQ(c.reply.attempts, 2);
  EXPECT_EQ(server.request_count(), 2u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("server_error", 0), 0u) << errors[0];
  EXPECT_NE(errors[0].find("overloaded_error"), std::string::npos) << errors[0];
}

TEST(ProviderFaults, AnthropicStreamErrorWhenRetriesRunOut) {
  FaultServer server;
  server.Push(Script::Sse(fault::AnthropicSse(
      {{"error",
        {{"type", "error"},
         {"error", {{"type", "overloaded_error"}, {"message", "Overloaded"}}}}}})));
  Completion c = Call(Anthropic(server), Retry(2));
  ASSERT_EQ(KindOf(c), "server_error") << MessageOf(c);
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(ProviderFaults, Anthropic529IsRetried) {
  FaultServer server;
  server.Push(Script::Body(
      529, R"({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})"));
  server.Push(Script::Sse(fault::AnthropicReply({"after 529"})));
  Completion c = Call(Anthropic(server), Retry(3));
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_EQ(c.reply.text, "after 529");
  EXPECT_EQ(c.reply.attempts, 2);
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(ProviderFaults, AnthropicAuthNamesItsVariable) {
  FaultServer server;
  server.Push(Script::Body(
      401,
      R"({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})"));
  Completion c = Call(Anthropic(server), Retry(3));
  ASSERT_EQ(KindOf(c), "auth") << MessageOf(c);
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_NE(MessageOf(c).find("ANTHROPIC_API_KEY"), std::string::npos) << MessageOf(c);
  EXPECT_NE(MessageOf(c).find("invalid x-api-key"), std::string::npos) << MessageOf(c);
}

// ---------------------------------------------------------------------------------------------
// Ensemble: log, cache, budget, concurrency

Member MemberFor(const ProviderSpec& spec, int max_concurrency = 4) {
  Member m;
  m.spec = spec;
  m.max_concurrency = max_concurrency;
  return m;
}

EnsembleConfig ConfigFor(std::vector<Member> members) {
  EnsembleConfig config;
  config.members = std::move(members);
  config.retry = Retry(2);
  return config;
}

std::unique_ptr<Ensemble> MakeEnsemble(EnsembleConfig config, std::shared_ptr<CallLog> log) {
  auto e = Ensemble::Create(std::move(config), std::move(log));
  EXPECT_TRUE(e.ok()) << e.status().message();
  return std::move(*e);
}

std::shared_ptr<CallLog> OpenLog(const fs::path& path) {
  auto log = CallLog::Open(path);
  EXPECT_TRUE(log.ok()) << log.status().message();
  return std::shared_ptr<CallLog>(std::move(*log));
}

TEST(ProviderFaults, KeysAreNeverStored) {
  TempDir dir;
  FaultServer server;
  FaultServer anthropic_server;
  server.Push(Script::Sse(fault::OpenAiReply({"stored reply text"})));
  server.Push(Script::Body(401, R"({"error": {"message": "Incorrect API key provided"}})"));
  server.Push(Script::Body(500, R"({"error": {"message": "boom"}})"));
  anthropic_server.Push(Script::Sse(fault::AnthropicReply({"anthropic stored text"})));
  {
    auto log = OpenLog(dir.path() / "calls.sqlite");
    auto ensemble = MakeEnsemble(
        ConfigFor({MemberFor(Compatible(server.url())), MemberFor(Anthropic(anthropic_server))}),
        log);
    EXPECT_TRUE(ensemble->Complete(Prompt("one"), {}, 0).ok());
    EXPECT_EQ(KindOf(ensemble->Complete(Prompt("two"), {}, 0)), "auth");
    EXPECT_EQ(KindOf(ensemble->Complete(Prompt("three"), {}, 0)), "server_error");
    EXPECT_TRUE(ensemble->Complete(Prompt("four"), {}, 1).ok());
    EXPECT_TRUE(ensemble->Complete(Prompt("one"), {}, 0).reply.cached);
    EXPECT_EQ(log->Sum()->calls, 5);
  }  // the log is closed: its WAL is folded into the database
  // The key did reach the servers...
  EXPECT_EQ(server.requests()[0].Header("authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(anthropic_server.requests()[0].Header("x-api-key"), kAnthropicKey);
  // ...and none of the files the log left holds it, or any long piece of it.
  std::string all;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    all += ReadAll(entry.path());
    ++files;
  }
  ASSERT_GE(files, 1);
  EXPECT_NE(all.find("stored reply text"), std::string::npos) << "not the log's bytes?";
  EXPECT_NE(all.find("anthropic stored text"), std::string::npos);
  for (const std::string key : {kKey, kAnthropicKey}) {
    EXPECT_EQ(all.find(key), std::string::npos) << "the key is in the log";
    EXPECT_EQ(all.find(key.substr(0, 16)), std::string::npos) << "part of the key is in the log";
  }
}

TEST(ProviderFaults, ResponseCache) {
  TempDir dir;
  FaultServer server;
  server.Push(Script::Sse(fault::OpenAiReply({"cached ", "answer"}, 30, 2)));  // repeated
  auto log = OpenLog(dir.path() / "calls.sqlite");
  auto ensemble = MakeEnsemble(ConfigFor({MemberFor(Compatible(server.url()))}), log);

  Completion first = ensemble->Complete(Prompt());
  ASSERT_TRUE(first.ok()) << MessageOf(first);
  EXPECT_FALSE(first.reply.cached);
  std::string streamed;
  Completion second = ensemble->Complete(Prompt(), [&](std::string_view t) { streamed += t; });
  ASSERT_TRUE(second.ok()) << MessageOf(second);
  EXPECT_TRUE(second.reply.cached);
  EXPECT_EQ(second.reply.text, first.reply.text);
  EXPECT_EQ(streamed, "cached answer");  // a cache hit still reaches the sink
  EXPECT_EQ(second.reply.usage.prompt_tokens, 30);
  EXPECT_EQ(second.reply.cost_usd, 0);
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_EQ(ensemble->spent().cached, 1);
  EXPECT_EQ(ensemble->spent().requests, 1);

  Request sample1 = Prompt();
  sample1.sample = 1;  // a deliberate second sample: not the first one's reply
  Completion third = ensemble->Complete(sample1);
  ASSERT_TRUE(third.ok()) << MessageOf(third);
  EXPECT_FALSE(third.reply.cached);
  EXPECT_EQ(server.request_count(), 2u);

  EnsembleConfig no_cache = ConfigFor({MemberFor(Compatible(server.url()))});
  no_cache.cache = false;
  auto uncached = MakeEnsemble(no_cache, log);
  Completion fourth = uncached->Complete(Prompt());
  ASSERT_TRUE(fourth.ok()) << MessageOf(fourth);
  EXPECT_FALSE(fourth.reply.cached);
  EXPECT_EQ(server.request_count(), 3u);
}

TEST(ProviderFaults, FailedCallsAreNotCached) {
  TempDir dir;
  FaultServer server;
  server.Push(Script::Body(400, R"({"error": {"message": "bad"}})"));
  server.Push(Script::Sse(fault::OpenAiReply({"good now"})));
  auto log = OpenLog(dir.path() / "calls.sqlite");
  auto ensemble = MakeEnsemble(ConfigFor({MemberFor(Compatible(server.url()))}), log);
  EXPECT_EQ(KindOf(ensemble->Complete(Prompt())), "bad_request");
  Completion c = ensemble->Complete(Prompt());
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_FALSE(c.reply.cached);
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(ProviderFaults, BudgetStopsBeforeTheNextRequest) {
  FaultServer server;
  server.Push(Script::Sse(fault::OpenAiReply({"expensive"}, 1000, 500)));
  Member m = MemberFor(Compatible(server.url()));
  m.price = Price{1000, 2000};  // $ per million tokens: 1000 * 1000 + 500 * 2000 = $2
  EnsembleConfig config = ConfigFor({m});
  config.budget_usd = 1.5;
  auto ensemble = MakeEnsemble(config, nullptr);
  Completion first = ensemble->Complete(Prompt("first"));
  ASSERT_TRUE(first.ok()) << MessageOf(first);
  EXPECT_DOUBLE_EQ(first.reply.cost_usd, 2.0);
  EXPECT_TRUE(ensemble->BudgetSpent());
  Completion second = ensemble->Complete(Prompt("second"));
  ASSERT_EQ(KindOf(second), "budget_spent") << MessageOf(second);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(ProviderFaults, TokenBudget) {
  FaultServer server;
  server.Push(Script::Sse(fault::OpenAiReply({"long"}, 80, 40)));
  EnsembleConfig config = ConfigFor({MemberFor(Compatible(server.url()))});
  config.budget_tokens = 100;
  auto ensemble = MakeEnsemble(config, nullptr);
  ASSERT_TRUE(ensemble->Complete(Prompt("first")).ok());
  EXPECT_EQ(KindOf(ensemble->Complete(Prompt("second"))), "budget_spent");
  EXPECT_EQ(server.request_count(), 1u);
}

// Two threads, one request each, through one member; seconds from start to both done.
double TwoAtOnce(Ensemble& ensemble, std::vector<Completion>& out) {
  out.assign(2, Completion{});
  Stopwatch clock;
  std::thread a([&] { out[0] = ensemble.Complete(Prompt("a"), {}, 0); });
  std::thread b([&] { out[1] = ensemble.Complete(Prompt("b"), {}, 0); });
  a.join();
  b.join();
  return clock.seconds();
}

TEST(ProviderFaults, ConcurrencyLimitCommand) {
  const ProviderSpec spec = Spec("command:sleep 0.4; echo hi");
  std::vector<Completion> out;
  {
    auto one = MakeEnsemble(ConfigFor({MemberFor(spec, 1)}), nullptr);
    const double elapsed = TwoAtOnce(*one, out);
    for (const auto& c : out) ASSERT_TRUE(c.ok()) << MessageOf(c);
    EXPECT_EQ(out[0].reply.text, "hi\n");
    EXPECT_GE(elapsed, 0.8);
  }
  {
    auto two = MakeEnsemble(ConfigFor({MemberFor(spec, 2)}), nullptr);
    const double elapsed = TwoAtOnce(*two, out);
    for (const auto& c : out) ASSERT_TRUE(c.ok()) << MessageOf(c);
    EXPECT_LT(elapsed, 0.7);
  }
}

TEST(ProviderFaults, ConcurrencyLimitHttp) {
  FaultServer server;
  Script slow = Script::Sse(fault::OpenAiReply({"slow"}));
  slow.delay_s = 0.4;
  server.Push(slow);
  std::vector<Completion> out;
  {
    auto one = MakeEnsemble(ConfigFor({MemberFor(Compatible(server.url()), 1)}), nullptr);
    const double elapsed = TwoAtOnce(*one, out);
    for (const auto& c : out) ASSERT_TRUE(c.ok()) << MessageOf(c);
    EXPECT_GE(elapsed, 0.8);
  }
  {
    auto two = MakeEnsemble(ConfigFor({MemberFor(Compatible(server.url()), 2)}), nullptr);
    const double elapsed = TwoAtOnce(*two, out);  // the server answers both at once
    for (const auto& c : out) ASSERT_TRUE(c.ok()) << MessageOf(c);
    EXPECT_LT(elapsed, 0.7);
  }
  EXPECT_EQ(server.request_count(), 4u);
}

TEST(ProviderFaults, StopCancelsAWaitForASlot) {
  auto ensemble =
      MakeEnsemble(ConfigFor({MemberFor(Spec("command:sleep 0.6; echo hi"), 1)}), nullptr);
  Completion first, second;
  std::thread a([&] { first = ensemble->Complete(Prompt("a"), {}, 0); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // a holds the only slot
  std::thread b([&] { second = ensemble->Complete(Prompt("b"), {}, 0); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  ensemble->Stop();
  a.join();
  b.join();
  EXPECT_TRUE(first.ok()) << MessageOf(first);  // in flight: finishes its attempt
  EXPECT_EQ(KindOf(second), "cancelled") << MessageOf(second);
}

// ---------------------------------------------------------------------------------------------
// Command provider

TEST(ProviderFaults, CommandReadsThePromptFromStdin) {
  std::string streamed;
  Completion c = Call(Spec("command:tr a-z A-Z"), Retry(1), Prompt("make it loud"),
                      [&](std::string_view t) { streamed += t; });
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_EQ(c.reply.text, "MAKE IT LOUD");
  EXPECT_EQ(streamed, "MAKE IT LOUD");
  EXPECT_TRUE(c.reply.usage.estimated);
}

TEST(ProviderFaults, CommandSeesMaxTokens) {
  Completion c = Call(Spec("command:cat >/dev/null; echo $KFORGE_MAX_TOKENS"), Retry(1));
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_EQ(c.reply.text, "256\n");
}

TEST(ProviderFaults, CommandFailureCarriesStderr) {
  Completion c =
      Call(Spec("command:cat >/dev/null; echo 'model not found: q9' >&2; exit 3"), Retry(3));
  ASSERT_EQ(KindOf(c), "command_failed") << MessageOf(c);
  EXPECT_EQ(c.reply.attempts, 1);
  EXPECT_NE(MessageOf(c).find("exited with status 3"), std::string::npos) << MessageOf(c);
  EXPECT_NE(MessageOf(c).find("model not found: q9"), std::string::npos) << MessageOf(c);
}

bool ProcessGone(pid_t pid) {
  // Killed and reparented, it may linger as a zombie until its new parent reaps it.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

TEST(ProviderFaults, CommandTimeoutKillsTheProcessGroup) {
  TempDir dir;
  const fs::path pid_file = dir.path() / "pid";
  // A background grandchild that would outlive the shell if only the shell were killed.
  const ProviderSpec spec =
      Spec("command:sleep 10 & echo $! > " + pid_file.string() + "; sleep 10", 0.5);
  Stopwatch clock;
  Completion c = Call(spec, Retry(1));
  const double elapsed = clock.seconds();
  ASSERT_EQ(KindOf(c), "timeout") << MessageOf(c);
  EXPECT_NE(MessageOf(c).find("did not finish within 0.5"), std::string::npos) << MessageOf(c);
  EXPECT_LT(elapsed, 2.0);
  const pid_t grandchild = std::stoi(ReadAll(pid_file));
  bool gone = false;
  for (int i = 0; i < 40 && !gone; ++i) {
    gone = ProcessGone(grandchild);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_TRUE(gone) << "the background sleep " << grandchild << " survived";
  if (!gone) kill(grandchild, SIGKILL);
}

TEST(ProviderFaults, CommandPrintingNothingIsEmpty) {
  Completion c = Call(Spec("command:cat >/dev/null"), Retry(3));
  ASSERT_EQ(KindOf(c), "empty_reply") << MessageOf(c);
  EXPECT_EQ(c.reply.attempts, 1);
}

TEST(ProviderFaults, CommandThatIgnoresStdinDoesNotKillTheCaller) {
  // A prompt larger than a pipe's buffer, to a program that closes its stdin unread and answers
  // later: writing the rest of the prompt fails with EPIPE while its stdout is still open. That
  // must not raise a SIGPIPE that ends the calling process.
  Completion c = Call(Spec("command:exec 0<&-; sleep 0.2; echo answered"), Retry(1),
                      Prompt(std::string(1 << 20, 'x')));
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_EQ(c.reply.text, "answered\n");
}

// ---------------------------------------------------------------------------------------------
// Exchange provider

// Answers the first request that appears in `dir` after `delay_s`: writes ID.<suffix> with
// `content` (under another name first, then renamed). Joins on destruction.
class Answerer {
 public:
  Answerer(fs::path dir, std::string suffix, std::string content, double delay_s)
      : thread_([=, this] {
          const double deadline = MonotonicSeconds() + 5;
          while (MonotonicSeconds() < deadline && !stop_) {
            std::error_code ec;
            for (const auto& entry : fs::directory_iterator(dir, ec)) {
              const std::string name = entry.path().filename().string();
              const std::string tail = ".request.json";
              if (name.size() <= tail.size() ||
                  name.compare(name.size() - tail.size(), tail.size(), tail) != 0) {
                continue;
              }
              const json req = json::parse(ReadAll(entry.path()), nullptr, false);
              id_ = req.is_object() ? req.value("id", "") : "";
              EXPECT_EQ(id_, name.substr(0, name.size() - tail.size()));
              std::this_thread::sleep_for(std::chrono::duration<double>(delay_s));
              const fs::path tmp = dir / (id_ + ".partial");
              {
                std::ofstream out(tmp, std::ios::binary);
                out << content;
              }
              fs::rename(tmp, dir / (id_ + suffix));
              return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
        }) {}
  ~Answerer() {
    stop_ = true;
    thread_.join();
  }
  std::string id() const { return id_; }

 private:
  std::atomic<bool> stop_{false};
  std::string id_;
  std::thread thread_;
};

TEST(ProviderFaults, ExchangeReplyFile) {
  TempDir dir;
  const fs::path ex = dir.path() / "exchange";
  Completion c;
  Stopwatch clock;
  {
    Answerer answer(ex, ".reply.md", "```cuda\n__global__ void k() {}\n```\n", 0.3);
    c = Call(Spec("exchange:" + ex.string(), 5), Retry(1), Prompt("exchange me"));
  }
  const double elapsed = clock.seconds();
  ASSERT_TRUE(c.ok()) << MessageOf(c);
  EXPECT_EQ(c.reply.text, "```cuda\n__global__ void k() {}\n```\n");
  EXPECT_GE(elapsed, 0.3);
  EXPECT_LT(elapsed, 3.0);
  bool prompt_found = false;
  for (const auto& entry : fs::directory_iterator(ex)) {
    if (entry.path().string().ends_with(".prompt.md")) {
      prompt_found = true;
      const std::string prompt = ReadAll(entry.path());
      EXPECT_TRUE(prompt.ends_with("\n\nexchange me")) << prompt;
      EXPECT_NE(prompt.find(", sample 0:"), std::string::npos) << prompt;
    }
  }
  EXPECT_TRUE(prompt_found);
  // The provider ended with the call: the answerer is told no more requests will come.
  EXPECT_TRUE(fs::exists(ex / "ended.txt"));
}

TEST(ProviderFaults, ExchangeNumbersTheSamplesOfOneRequestAndClearsAnOldEndMarker) {
  TempDir dir;
  const fs::path ex = dir.path() / "exchange";
  fs::create_directories(ex);
  std::ofstream(ex / "ended.txt") << "from an earlier run";
  ProviderSpec spec = Spec("exchange:" + ex.string(), 0.3);
  auto provider = MakeProvider(spec);
  EXPECT_FALSE(fs::exists(ex / "ended.txt"));
  for (int sample : {1, 2}) {
    Request r = Prompt("same prompt");
    r.sample = sample;
    (void)provider->Complete(r, {});  // unanswered: times out
  }
  std::vector<std::string> heads;
  for (const auto& entry : fs::directory_iterator(ex)) {
    if (!entry.path().string().ends_with(".prompt.md")) continue;
    const std::string prompt = ReadAll(entry.path());
    heads.push_back(prompt.substr(0, prompt.find('\n')));
  }
  ASSERT_EQ(heads.size(), 2u);
  const bool first_is_1 = heads[0].find(", sample 1:") != std::string::npos;
  EXPECT_NE(heads[first_is_1 ? 0 : 1].find(", sample 1:"), std::string::npos) << heads[0];
  EXPECT_NE(heads[first_is_1 ? 1 : 0].find(", sample 2:"), std::string::npos) << heads[1];
  provider.reset();
  EXPECT_TRUE(fs::exists(ex / "ended.txt"));
}

TEST(ProviderFaults, ExchangeWithoutReplyTimesOut) {
  TempDir dir;
  Stopwatch clock;
  Completion c = Call(Spec("exchange:" + (dir.path() / "ex").string(), 0.5), Retry(1));
  const double elapsed = clock.seconds();
  ASSERT_EQ(KindOf(c), "timeout") << MessageOf(c);
  EXPECT_NE(MessageOf(c).find("no reply at"), std::string::npos) << MessageOf(c);
  EXPECT_LT(elapsed, 2.0);
}

TEST(ProviderFaults, ExchangeErrorFileDeclines) {
  TempDir dir;
  const fs::path ex = dir.path() / "exchange";
  Completion c;
  {
    Answerer answer(ex, ".error.txt", "not today", 0.1);
    c = Call(Spec("exchange:" + ex.string(), 5), Retry(3));
  }
  ASSERT_EQ(KindOf(c), "command_failed") << MessageOf(c);
  EXPECT_EQ(c.reply.attempts, 1);
  EXPECT_NE(MessageOf(c).find("not today"), std::string::npos) << MessageOf(c);
}

}  // namespace
}  // namespace kf::llm
