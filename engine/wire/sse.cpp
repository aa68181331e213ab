#include "wire/sse.h"

#include "core/error.h"

namespace moescope {

void SseParser::feed(std::string_view bytes, const Handler& on_event) {
  for (char c : bytes) {
    if (c == '\n') {
      end_line(on_event);
      continue;
    }
    if (line_.size() + data_.size() >= max_event_bytes)
      throw EngineError("event stream: one event larger than " +
                        std::to_string(max_event_bytes >> 20) + " MiB");
    line_ += c;
  }
}

void SseParser::end_line(const Handler& on_event) {
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  if (line_.empty()) {  // the blank line that ends an event
    if (has_data_) {
      const std::string data = std::move(data_);
      data_.clear();
      has_data_ = false;
      on_event(data);
    }
    return;
  }
  if (line_.starts_with("data:")) {
    std::string_view value = std::string_view(line_).substr(5);
    if (value.starts_with(' ')) value.remove_prefix(1);
    if (has_data_) data_ += '\n';
    data_ += value;
    has_data_ = true;
  }
  line_.clear();
}

}  // namespace moescope
