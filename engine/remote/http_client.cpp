#include "remote/http_client.h"

#include <curl/curl.h>

#include <exception>
#include <memory>

namespace moescope {
namespace {

struct Transfer {
  const BodyHandler* on_body = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  CURL* curl = nullptr;
  HttpResult* result = nullptr;
  std::exception_ptr failure;
};

bool cancelled(const Transfer& t) {
  return t.cancel && t.cancel->load(std::memory_order_relaxed);
}

std::size_t on_write(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (cancelled(t)) return 0;  // CURLE_WRITE_ERROR: the transfer stops here
  long status = 0;
  curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300 && *t.on_body) {
    t.result->received_any = true;
    try {
      (*t.on_body)(std::string_view(data, bytes));
    } catch (...) {
      t.failure = std::current_exception();
      return 0;
    }
    return bytes;
  }
  if (status >= 200 && status < 300) t.result->received_any = true;
  t.result->body.append(data, bytes);
  return bytes;
}

// Called about every second even while nothing arrives, so a cancel is seen then.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return cancelled(*static_cast<Transfer*>(user)) ? 1 : 0;
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct ListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

std::string describe(CURLcode code, const char* detail) {
  std::string what = curl_easy_strerror(code);
  if (detail[0]) what += std::string(": ") + detail;
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return "the server is unreachable (" + what + ")";
    case CURLE_OPERATION_TIMEDOUT:
      return "the server did not answer in time (" + what + ")";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
      return "TLS failed (" + what + ")";
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
      return "the connection dropped (" + what + ")";
    default:
      return what;
  }
}

}  // namespace

HttpResult http_request(const HttpRequest& request, const BodyHandler& on_body,
                        const std::atomic<bool>* cancel) {
  static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  HttpResult result;
  std::unique_ptr<CURL, CurlDeleter> curl(initialised ? curl_easy_init() : nullptr);
  if (!curl) {
    result.error = "libcurl could not be initialised";
    return result;
  }
  Transfer transfer{&on_body, cancel, curl.get(), &result, nullptr};
  char detail[CURL_ERROR_SIZE] = "";
  std::unique_ptr<curl_slist, ListDeleter> headers;
  const auto add_header = [&](const std::string& line) {
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  };
  add_header("Accept: application/json, text/event-stream");
  if (!request.api_key.empty()) add_header("Authorization: Bearer " + request.api_key);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS, long(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, request.connect_timeout_seconds);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, request.stall_timeout_seconds);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  if (!request.json_body.empty()) {
    add_header("Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.json_body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.json_body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());

  const CURLcode code = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.status);
  if (transfer.failure) std::rethrow_exception(transfer.failure);
  if (cancelled(transfer) && (code == CURLE_ABORTED_BY_CALLBACK || code == CURLE_WRITE_ERROR)) {
    result.cancelled = true;
    result.error = "cancelled";
  } else if (code != CURLE_OK) {
    result.error = describe(code, detail);
  }
  return result;
}

}  // namespace moescope
