#pragma once
// Errors are values the front ends can show: the engine never aborts or exits.
#include <stdexcept>
#include <string>

namespace moescope {

class EngineError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace moescope
