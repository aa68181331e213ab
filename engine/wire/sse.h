#pragma once
// Server-sent events as the OpenAI-compatible servers stream them: "data: <payload>"
// lines, events separated by a blank line. Bytes arrive in arbitrary pieces.
#include <functional>
#include <string>
#include <string_view>

namespace moescope {

class SseParser {
 public:
  using Handler = std::function<void(std::string_view data)>;

  // Calls `on_event` with the data of every event `bytes` completes (multi-line
  // data joined with '\n'); comments and other fields are skipped. Throws
  // EngineError naming `source` when an event grows past `max_event_bytes`.
  void feed(std::string_view bytes, const Handler& on_event);
  // Bytes of an event that never ended (a stream cut off mid-event).
  bool has_partial_event() const { return !line_.empty() || !data_.empty(); }

  static constexpr std::size_t max_event_bytes = std::size_t(1) << 30;

 private:
  void end_line(const Handler& on_event);
  std::string line_;
  std::string data_;
  bool has_data_ = false;
};

}  // namespace moescope
