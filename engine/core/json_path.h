#pragma once
// Where nlohmann's parser is in a document ("tokens[3].layers[0].scores[2]"), followed
// through its parser callback, so an error it throws without a place (a number too large
// for a double, 1e400) can still name the field.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moescope {

class JsonPathTracker {
 public:
  void follow(nlohmann::json::parse_event_t event, const nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        frames_.push_back({event == Event::array_start, 0, {}});
        return;
      case Event::object_end:
      case Event::array_end:
        frames_.pop_back();
        element_done();
        return;
      case Event::key:
        frames_.back().key = parsed.get<std::string>();
        return;
      case Event::value:
        element_done();
        return;
    }
  }

  // The field being read; empty at the top level.
  std::string path() const {
    std::string out;
    for (const Frame& f : frames_)
      out += f.array ? "[" + std::to_string(f.index) + "]" : (out.empty() ? "" : ".") + f.key;
    return out;
  }

 private:
  struct Frame {
    bool array;
    std::size_t index;  // arrays: the element being read (elements finished so far)
    std::string key;    // objects: the member being read
  };

  void element_done() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
  }

  std::vector<Frame> frames_;
};

}  // namespace moescope
