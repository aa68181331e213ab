// A chat template: any source gives a rendering of a fixed conversation or an EngineError.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<moescope::ChatMessage> messages = {
      {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", "Why?"}};
  try {
    const moescope::ChatTemplate t(std::string(reinterpret_cast<const char*>(data), size));
    (void)t.render(messages, true);
  } catch (const moescope::EngineError&) {
  }
  return 0;
}
