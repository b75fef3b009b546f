#include "llm/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "util/subprocess.h"

namespace kf::llm {
namespace {

constexpr size_t kMaxErrorBody = 1 << 20;

struct Transfer {
  const BodySink* sink = nullptr;
  CURL* curl = nullptr;
  HttpResponse response;
  double start = 0;
  double last_byte = 0;
  bool got_byte = false;
  bool stopped_by_sink = false;
  std::string timeout_reason;  // set when a first-byte or idle deadline aborted the transfer
  Timeouts timeouts;

  void Byte() {
    last_byte = MonotonicSeconds();
    if (!got_byte) response.first_byte_s = last_byte - start;
    got_byte = true;
  }
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->Byte();
  std::string line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new response (after 100 Continue, say)
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string value = line.substr(colon + 1);
  value.erase(0, value.find_first_not_of(" \t"));
  t->response.headers[name] = value;
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->Byte();
  const size_t bytes = size * n;
  if (t->response.status == 0) {
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    t->response.status = static_cast<int>(code);
  }
  const bool ok = t->response.status >= 200 && t->response.status < 300;
  if (ok && t->sink && *t->sink) {
    if (!(*t->sink)(std::string_view(data, bytes))) {
      t->stopped_by_sink = true;
      return 0;  // aborts the transfer
    }
    return bytes;
  }
  if (t->response.body.size() < kMaxErrorBody) {
    t->response.body.append(data, std::min(bytes, kMaxErrorBody - t->response.body.size()));
  }
  return bytes;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  const double now = MonotonicSeconds();
  if (!t->got_byte && now - t->start > t->timeouts.first_byte_s) {
    t->timeout_reason = "no reply within " + std::to_string(t->timeouts.first_byte_s).substr(0, 6) +
                        " s (first-byte deadline)";
    return 1;
  }
  if (t->got_byte && now - t->last_byte > t->timeouts.idle_s) {
    t->timeout_reason = "the reply stalled: nothing for " +
                        std::to_string(t->timeouts.idle_s).substr(0, 6) + " s (idle deadline)";
    return 1;
  }
  return 0;
}

std::string HostOf(const std::string& url) {
  size_t b = url.find("://");
  b = b == std::string::npos ? 0 : b + 3;
  size_t e = url.find_first_of("/?#", b);
  return url.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::variant<HttpResponse, Error> HttpSend(const HttpRequest& request, const BodySink& on_body) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  CURL* curl = curl_easy_init();
  if (!curl) return Error{Error::Kind::kConnect, "libcurl could not start a transfer", 0, -1};
  Transfer t;
  t.sink = &on_body;
  t.curl = curl;
  t.timeouts = request.timeouts;
  char curl_error[CURL_ERROR_SIZE] = {0};

  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.timeouts.connect_s * 1000));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeouts.total_s * 1000));
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "kforge");

  t.start = MonotonicSeconds();
  const CURLcode rc = curl_easy_perform(curl);
  t.response.seconds = MonotonicSeconds() - t.start;
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  if (t.response.status == 0) t.response.status = static_cast<int>(code);
  curl_off_t connect_us = 0;
  curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);

  if (rc == CURLE_OK) return t.response;
  const std::string host = HostOf(request.url);
  const std::string detail = curl_error[0] ? curl_error : curl_easy_strerror(rc);
  auto fail = [&](Error::Kind kind, std::string message) {
    return Error{kind, std::move(message), t.response.status, -1};
  };
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return fail(Error::Kind::kDns, "cannot resolve host '" + host + "' (" + detail + ")");
    case CURLE_COULDNT_CONNECT:
      return fail(Error::Kind::kConnect, "cannot connect to " + host + " (" + detail + ")");
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_USE_SSL_FAILED:
      return fail(Error::Kind::kTls, "TLS with " + host + " failed (" + detail + ")");
    case CURLE_OPERATION_TIMEDOUT:
      if (connect_us == 0 && !t.got_byte) {
        return fail(Error::Kind::kTimeout,
                    "connecting to " + host + " took longer than " +
                        std::to_string(request.timeouts.connect_s).substr(0, 6) +
                        " s (connect deadline)");
      }
      return fail(Error::Kind::kTimeout, "no complete reply from " + host + " within " +
                                             std::to_string(request.timeouts.total_s).substr(0, 6) +
                                             " s (total deadline)");
    case CURLE_ABORTED_BY_CALLBACK:
      if (!t.timeout_reason.empty()) {
        return fail(Error::Kind::kTimeout, host + ": " + t.timeout_reason);
      }
      return fail(Error::Kind::kCancelled, "stopped");
    case CURLE_WRITE_ERROR:
      if (t.stopped_by_sink) return fail(Error::Kind::kCancelled, "stopped by the reader");
      return fail(Error::Kind::kConnect, host + ": " + detail);
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP2:
      if (t.got_byte) {
        return fail(Error::Kind::kCutOff,
                    host + " closed the connection mid-reply (" + detail + ")");
      }
      return fail(Error::Kind::kConnect, host + ": " + detail);
    case CURLE_GOT_NOTHING:
      return fail(Error::Kind::kConnect, host + " closed the connection without replying");
    case CURLE_SEND_ERROR:
      return fail(Error::Kind::kConnect, host + ": sending the request failed (" + detail + ")");
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return fail(Error::Kind::kConfig, "bad URL '" + request.url + "' (" + detail + ")");
    default:
      return fail(Error::Kind::kConnect, host + ": " + detail);
  }
}

double ParseRetryAfter(const std::map<std::string, std::string>& headers) {
  if (auto it = headers.find("retry-after-ms"); it != headers.end()) {
    char* end = nullptr;
    const double ms = std::strtod(it->second.c_str(), &end);
    if (end != it->second.c_str() && ms >= 0) return ms / 1000;
  }
  auto it = headers.find("retry-after");
  if (it == headers.end()) return -1;
  const std::string& v = it->second;
  char* end = nullptr;
  const double s = std::strtod(v.c_str(), &end);
  if (end != v.c_str() && *end == '\0' && s >= 0) return s;
  const time_t when = curl_getdate(v.c_str(), nullptr);
  if (when < 0) return -1;
  return std::max(0.0, std::difftime(when, std::time(nullptr)));
}

std::string ApiErrorMessage(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded()) {
    // OpenAI and compatibles: {"error": {"message": ...}}; some: {"error": "text"};
    // Anthropic: {"type": "error", "error": {"type": ..., "message": ...}}; others: {"message"}.
    if (j.is_object() && j.contains("error")) {
      const auto& e = j["error"];
      if (e.is_string()) return e.get<std::string>();
      if (e.is_object() && e.contains("message") && e["message"].is_string()) {
        return e["message"].get<std::string>();
      }
    }
    if (j.is_object() && j.contains("message") && j["message"].is_string()) {
      return j["message"].get<std::string>();
    }
    if (j.is_object() && j.contains("detail") && j["detail"].is_string()) {
      return j["detail"].get<std::string>();
    }
  }
  std::string s = body.substr(0, 300);
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

Error ErrorFromStatus(const HttpResponse& response, const std::string& url,
                      const std::string& key_env) {
  const int status = response.status;
  const std::string api = ApiErrorMessage(response.body);
  const std::string where = "HTTP " + std::to_string(status) + " from " + HostOf(url);
  const std::string said = api.empty() ? "" : ": " + api;
  Error e{Error::Kind::kBadRequest, where + said, status, ParseRetryAfter(response.headers)};
  const std::string low = Lower(api);
  const bool context = low.find("context length") != std::string::npos ||
                       low.find("context_length") != std::string::npos ||
                       low.find("maximum context") != std::string::npos ||
                       low.find("context window") != std::string::npos ||
                       low.find("prompt is too long") != std::string::npos ||
                       low.find("input is too long") != std::string::npos ||
                       low.find("too many tokens") != std::string::npos ||
                       low.find("reduce the length") != std::string::npos ||
                       low.find("exceeds the context") != std::string::npos;
  if (status == 401 || status == 403) {
    e.kind = Error::Kind::kAuth;
    const char* key = key_env.empty() ? nullptr : std::getenv(key_env.c_str());
    if (key_env.empty()) {
      e.message += " (the server wants a key: set one with api_key_env in the config)";
    } else if (!key || !*key) {
      e.message += " (" + key_env + " is not set)";
    } else {
      e.message += " (check the key in " + key_env + ")";
    }
  } else if (status == 429) {
    e.kind = Error::Kind::kRateLimited;
    // Some APIs answer 429 for a spent quota: waiting will not help, but the caller decides.
  } else if (status == 408) {
    e.kind = Error::Kind::kTimeout;
  } else if (status >= 500) {
    e.kind = Error::Kind::kServer;
  } else if (status == 413 || ((status == 400 || status == 422) && context)) {
    e.kind = Error::Kind::kContextLength;
    e.message += " (the prompt is too long for the model: shorten it)";
  }
  return e;
}

}  // namespace kf::llm
