#pragma once
// HTTP through libcurl for talking to a serving engine: one request, its body
// handed over as it arrives (for event streams), timeouts, TLS, and a cancel flag
// that stops the transfer within a fraction of a second.
#include <atomic>
#include <functional>
#include <string>
#include <string_view>

namespace moescope {

struct HttpRequest {
  std::string url;
  std::string json_body;  // empty: GET; else POST with Content-Type: application/json
  std::string api_key;    // sent as "Authorization: Bearer <key>" when not empty
  long connect_timeout_seconds = 10;
  // The server may think for a long time before the first byte (a long prompt);
  // a transfer that moves nothing for this long has stalled.
  long stall_timeout_seconds = 300;
};

struct HttpResult {
  long status = 0;    // 0 when no answer came
  std::string body;   // whatever on_body did not take (all of it for a non-2xx answer)
  std::string error;  // empty, or how the transfer failed (unreachable, TLS, dropped)
  bool cancelled = false;
  bool received_any = false;  // some of a 2xx body arrived
};

// Bytes of a 2xx body as they arrive; may throw (the transfer stops and the exception
// propagates). Without a handler, the body is collected in HttpResult::body.
using BodyHandler = std::function<void(std::string_view bytes)>;

// Never throws for network trouble (that is HttpResult::error); throws what on_body throws.
HttpResult http_request(const HttpRequest& request, const BodyHandler& on_body = {},
                        const std::atomic<bool>* cancel = nullptr);

}  // namespace moescope
