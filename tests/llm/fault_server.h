// A fault-injecting HTTP/1.1 server on loopback for the provider tests: it records every request
// and answers each connection with the next scripted response, which may be late, slow, stalled,
// cut off or wrong in any way a real model API can be. One thread per connection, so concurrent
// clients are served concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace kf::llm::fault {

struct RecordedRequest {
  std::string method;  // "" when the client did not speak HTTP (a TLS handshake, say)
  std::string path;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  // The body parsed as JSON (discarded when it is not JSON).
  nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// Bytes of the body, sent after a pause.
struct Chunk {
  double delay_s = 0;
  std::string bytes;
};

// One scripted response.
struct Script {
  enum class Mode {
    kClose,    // Connection: close; the body ends when the server closes the connection
    kChunked,  // Transfer-Encoding: chunked, one HTTP chunk per Chunk
  };
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  double delay_s = 0;                                        // pause before the status line
  std::vector<Chunk> chunks;
  Mode mode = Mode::kClose;
  bool cut = false;  // kChunked: close without the terminating zero-length chunk

  // A complete response: `status`, `body` in one chunk, `content_type`.
  static Script Body(int status, std::string body, std::string content_type = "application/json");
  // A 200 event stream sent in one chunk.
  static Script Sse(std::string body);
  Script& Header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

class FaultServer {
 public:
  FaultServer();
  ~FaultServer();
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Queues a response for the next connection. When the queue is empty, the last script played
  // is played again (before any was queued: a 404).
  void Push(Script script);
  // Every request received so far, in order of arrival.
  std::vector<RecordedRequest> requests() const;
  size_t request_count() const;
  // Connections accepted so far (a request that never completed still counts here).
  int connections() const { return connections_.load(); }

 private:
  void AcceptLoop();
  void Serve(int fd);
  Script NextScript();
  // Sleeps unless the server is stopping; false when it is.
  bool Pause(double seconds);
  bool SendAll(int fd, const std::string& bytes);

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::condition_variable stopping_cv_;
  bool stopping_ = false;
  std::deque<Script> queue_;
  std::optional<Script> last_;
  std::vector<RecordedRequest> requests_;
  std::vector<std::thread> workers_;
  std::set<int> open_fds_;
  std::atomic<int> connections_{0};
};

// OpenAI-compatible streams: each JSON object as `data: {json}\n\n`, then `data: [DONE]\n\n`
// when `done`.
std::string OpenAiSse(const std::vector<nlohmann::json>& events, bool done = true);
// One chat.completion.chunk carrying `text` as delta content (and `finish_reason` when given).
nlohmann::json OpenAiDelta(const std::string& text, const std::string& finish_reason = "");
// The final chunk of a stream with include_usage: no choices, the usage.
nlohmann::json OpenAiUsage(int prompt_tokens, int completion_tokens);
// A whole good reply: one delta per piece, a stop, the usage chunk and [DONE].
std::string OpenAiReply(const std::vector<std::string>& pieces, int prompt_tokens = 10,
                        int completion_tokens = 5);

// Anthropic streams: each (event name, JSON) as `event: NAME\ndata: {json}\n\n`.
std::string AnthropicSse(const std::vector<std::pair<std::string, nlohmann::json>>& events);
// A whole good Messages stream: message_start with input_tokens, one text_delta per piece,
// message_delta with stop_reason end_turn and output_tokens, message_stop.
std::string AnthropicReply(const std::vector<std::string>& pieces, int input_tokens = 12,
                           int output_tokens = 7);

}  // namespace kf::llm::fault
