// What the fleet service is handed and hands back, independent of the HTTP/TLS transport
// (http_server.h parses the wire into an HttpRequest and writes the HttpResponse), and the
// deferred form of an answer whose work is too slow for an I/O thread (a login's Argon2id check).
//
// Plain values; no thread contract beyond that of their members (a FileBody's file is shared
// read-only).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/file.h"
#include "fleet/tls.h"

namespace ironseal::fleet {

enum class Listener { kDevice = 0, kOperator = 1 };

struct HttpRequest {
  Listener listener = Listener::kOperator;
  std::string method;
  std::string target;  // path and query, as sent
  std::string authorization;
  std::string content_type;
  std::string range;
  std::string body;
  std::optional<DeviceIdentity> device;  // device listener: from the verified client certificate
  std::string peer;                      // remote address, for logs and audit
};

// A file (or part of one) to send as the body, streamed by the transport.
struct FileBody {
  std::shared_ptr<ReadOnlyFile> file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<FileBody> file;
};

// The slow part of a request, to be run off the I/O threads; it returns the answer.
using DeferredWork = std::move_only_function<HttpResponse()>;

struct Dispatch {
  // The answer; when `work` is set, the answer to give instead of running it when it cannot be
  // run now (every worker busy: 503 with Retry-After).
  HttpResponse response;
  DeferredWork work;
  // What the work is, for the busy counter (ironseal_login_busy_total counts logins only): a
  // login's password check, or a page of the audit trail.
  bool login = true;
};

using Clock = std::function<std::int64_t()>;  // unix seconds

}  // namespace ironseal::fleet
