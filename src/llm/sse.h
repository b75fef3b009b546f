// Server-sent events, parsed incrementally as bytes arrive (the WHATWG event-stream format):
// lines end with LF, CRLF or CR; `data:` lines accumulate, `event:` names the event, lines
// starting with `:` are comments, and a blank line dispatches the event.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace kf::llm {

struct SseEvent {
  std::string event;  // "" when the stream did not name it ("message" by the spec)
  std::string data;   // data lines joined by '\n'
};

class SseParser {
 public:
  using Handler = std::function<void(const SseEvent&)>;
  explicit SseParser(Handler on_event) : on_event_(std::move(on_event)) {}

  // Bytes in any split; events are dispatched as soon as their blank line arrives.
  void Feed(std::string_view bytes);
  // The stream ended: an event without its blank line is dispatched (servers often omit it).
  void Finish();

  int events() const { return events_; }

 private:
  void Line(std::string_view line);
  void Dispatch();

  Handler on_event_;
  std::string line_;
  bool last_was_cr_ = false;
  SseEvent pending_;
  bool has_data_ = false;
  int events_ = 0;
};

}  // namespace kf::llm
