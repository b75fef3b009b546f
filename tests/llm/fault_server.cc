#include "fault_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace kf::llm::fault {

using json = nlohmann::json;

namespace {

constexpr double kReadDeadlineS = 10;  // a client that never finishes its request

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") + 1 - b);
}

const char* Reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 529:
      return "Overloaded";
    default:
      return "Status";
  }
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Script Script::Body(int status, std::string body, std::string content_type) {
  Script s;
  s.status = status;
  s.headers.emplace_back("Content-Type", std::move(content_type));
  s.chunks.push_back(Chunk{0, std::move(body)});
  return s;
}

Script Script::Sse(std::string body) { return Body(200, std::move(body), "text/event-stream"); }

FaultServer::FaultServer() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 64) != 0) {
    close(listen_fd_);
    throw std::runtime_error("bind/listen on 127.0.0.1 failed");
  }
  socklen_t len = sizeof(addr);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FaultServer::~FaultServer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);  // wakes reads and sends
  }
  stopping_cv_.notify_all();  // wakes pauses
  shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  close(listen_fd_);
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
}

void FaultServer::Push(Script script) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(std::move(script));
}

std::vector<RecordedRequest> FaultServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t FaultServer::request_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

Script FaultServer::NextScript() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!queue_.empty()) {
    last_ = std::move(queue_.front());
    queue_.pop_front();
  }
  if (last_) return *last_;
  return Script::Body(404, R"({"error": {"message": "the fault server has no script"}})");
}

bool FaultServer::Pause(double seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  return !stopping_cv_.wait_for(lock, std::chrono::duration<double>(seconds),
                                [&] { return stopping_; });
}

bool FaultServer::SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

void FaultServer::AcceptLoop() {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    pollfd p{listen_fd_, POLLIN, 0};
    const int ready = poll(&p, 1, 100);
    if (ready <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      close(fd);
      return;
    }
    ++connections_;
    open_fds_.insert(fd);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void FaultServer::Serve(int fd) {
  // The request: headers up to the blank line, then Content-Length bytes of body.
  RecordedRequest req;
  std::string in;
  size_t header_end = std::string::npos;
  size_t content_length = 0;
  bool http = true, complete = false, continued = false;
  const double deadline = Now() + kReadDeadlineS;
  while (Now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    if (header_end != std::string::npos && in.size() >= header_end + 4 + content_length) {
      complete = true;
      break;
    }
    if (header_end != std::string::npos && !continued &&
        Lower(req.Header("expect")) == "100-continue") {
      continued = true;
      SendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n");
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[65536];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
    if (!std::isupper(static_cast<unsigned char>(in[0]))) {
      http = false;  // not a request line: answer at once, whatever it was
      break;
    }
    if (header_end == std::string::npos) {
      header_end = in.find("\r\n\r\n");
      if (header_end == std::string::npos) continue;
      const std::string head = in.substr(0, header_end);
      size_t eol = head.find("\r\n");
      const std::string request_line = head.substr(0, eol);
      const size_t sp1 = request_line.find(' ');
      const size_t sp2 = request_line.find(' ', sp1 + 1);
      req.method = request_line.substr(0, sp1);
      req.path = request_line.substr(sp1 + 1, sp2 == std::string::npos ? sp2 : sp2 - sp1 - 1);
      while (eol != std::string::npos) {
        const size_t next = head.find("\r\n", eol + 2);
        const std::string line =
            head.substr(eol + 2, next == std::string::npos ? std::string::npos : next - eol - 2);
        eol = next;
        const size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        req.headers[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
      }
      content_length = std::strtoull(req.Header("content-length").c_str(), nullptr, 10);
    }
  }
  if (complete || !http) {
    if (complete) req.body = in.substr(header_end + 4, content_length);
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(req);
    }
    const Script s = NextScript();
    bool alive = Pause(s.delay_s);
    if (alive) {
      std::string head = "HTTP/1.1 " + std::to_string(s.status) + " " + Reason(s.status) + "\r\n";
      for (const auto& [name, value] : s.headers) head += name + ": " + value + "\r\n";
      head += s.mode == Script::Mode::kChunked ? "Transfer-Encoding: chunked\r\n"
                                               : "Connection: close\r\n";
      head += "\r\n";
      alive = SendAll(fd, head);
    }
    for (const auto& chunk : s.chunks) {
      if (!alive) break;
      alive = Pause(chunk.delay_s);
      if (!alive) break;
      if (s.mode == Script::Mode::kChunked) {
        if (chunk.bytes.empty()) continue;  // a zero-length chunk would end the body
        char size[32];
        std::snprintf(size, sizeof(size), "%zx\r\n", chunk.bytes.size());
        alive = SendAll(fd, size + chunk.bytes + "\r\n");
      } else {
        alive = SendAll(fd, chunk.bytes);
      }
    }
    if (alive && s.mode == Script::Mode::kChunked && !s.cut) SendAll(fd, "0\r\n\r\n");
  }
  std::lock_guard<std::mutex> lock(mu_);
  shutdown(fd, SHUT_WR);
  open_fds_.erase(fd);
  close(fd);
}

std::string OpenAiSse(const std::vector<json>& events, bool done) {
  std::string out;
  for (const auto& e : events) out += "data: " + e.dump() + "\n\n";
  if (done) out += "data: [DONE]\n\n";
  return out;
}

json OpenAiDelta(const std::string& text, const std::string& finish_reason) {
  json choice = {{"index", 0}, {"delta", {{"content", text}}}};
  choice["finish_reason"] = finish_reason.empty() ? json(nullptr) : json(finish_reason);
  return {{"id", "chatcmpl-fault"},
          {"object", "chat.completion.chunk"},
          {"model", "fault-model"},
          {"choices", json::array({choice})}};
}

json OpenAiUsage(int prompt_tokens, int completion_tokens) {
  return {{"id", "chatcmpl-fault"},
          {"object", "chat.completion.chunk"},
          {"model", "fault-model"},
          {"choices", json::array()},
          {"usage",
           {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"total_tokens", prompt_tokens + completion_tokens}}}};
}

std::string OpenAiReply(const std::vector<std::string>& pieces, int prompt_tokens,
                        int completion_tokens) {
  std::vector<json> events;
  for (const auto& p : pieces) events.push_back(OpenAiDelta(p));
  events.push_back(OpenAiDelta("", "stop"));
  events.push_back(OpenAiUsage(prompt_tokens, completion_tokens));
  return OpenAiSse(events);
}

std::string AnthropicSse(const std::vector<std::pair<std::string, json>>& events) {
  std::string out;
  for (const auto& [name, data] : events)
    out += "event: " + name + "\ndata: " + data.dump() + "\n\n";
  return out;
}

std::string AnthropicReply(const std::vector<std::string>& pieces, int input_tokens,
                           int output_tokens) {
  std::vector<std::pair<std::string, json>> events;
  events.emplace_back("message_start",
                      json{{"type", "message_start"},
                           {"message",
                            {{"id", "msg_fault"},
                             {"type", "message"},
                             {"role", "assistant"},
                             {"model", "claude-fault"},
                             {"content", json::array()},
                             {"usage", {{"input_tokens", input_tokens}, {"output_tokens", 1}}}}}});
  events.emplace_back("content_block_start",
                      json{{"type", "content_block_start"},
                           {"index", 0},
                           {"content_block", {{"type", "text"}, {"text", ""}}}});
  events.emplace_back("ping", json{{"type", "ping"}});
  for (const auto& p : pieces) {
    events.emplace_back("content_block_delta",
                        json{{"type", "content_block_delta"},
                             {"index", 0},
                             {"delta", {{"type", "text_delta"}, {"text", p}}}});
  }
  events.emplace_back("content_block_stop", json{{"type", "content_block_stop"}, {"index", 0}});
  events.emplace_back("message_delta",
                      json{{"type", "message_delta"},
                           {"delta", {{"stop_reason", "end_turn"}, {"stop_sequence", nullptr}}},
                           {"usage", {{"output_tokens", output_tokens}}}});
  events.emplace_back("message_stop", json{{"type", "message_stop"}});
  return AnthropicSse(events);
}

}  // namespace kf::llm::fault
