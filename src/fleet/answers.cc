// Answers and body checks shared by the fleet service's parts (answers.h).
#include "fleet/answers.h"

#include <algorithm>
#include <cstdio>

#include "fleet/request_parse.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;

int status_of(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kMalformed: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kNotTrusted:
    case ErrorCode::kPermission: return 403;
    case ErrorCode::kConflict:
    case ErrorCode::kUnsupported: return 409;  // as before kConflict existed
    case ErrorCode::kIo:
    case ErrorCode::kCrypto: return 500;
  }
  return 500;
}

}  // namespace

HttpResponse json_response(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump() + "\n";
  return r;
}

HttpResponse error_response(int status, std::string_view code, std::string_view message,
                            std::string_view reason) {
  Json body{{"error", code}, {"message", message}};
  if (!reason.empty() && reason != code) body["reason"] = reason;
  return json_response(status, body);
}

HttpResponse from_error(const Error& e) {
  const int status = status_of(e);
  const char* code = status == 400   ? "bad_request"
                     : status == 404 ? "not_found"
                     : status == 403 ? "forbidden"
                     : status == 409 ? "conflict"
                                     : "internal";
  // Internal errors are logged, not shown: they may name server paths.
  if (status == 500) {
    std::fprintf(stderr, "ironseal-server: internal error: %s\n", e.message.c_str());
    return error_response(500, code, "internal error (see the server log)");
  }
  return error_response(status, code, e.message, e.reason_or_code());
}

HttpResponse method_not_allowed(const char* allow) {
  HttpResponse r = error_response(405, "method_not_allowed", std::string("use ") + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

bool valid_name(const std::string& s, std::size_t max) {
  return !s.empty() && s.size() <= max && s != "." && s != ".." &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
         });
}

std::optional<Json> parse_object(const HttpRequest& r, HttpResponse* error) {
  if (!is_json_media_type(r.content_type)) {
    *error = error_response(415, "unsupported_media_type",
                            "send the body as Content-Type: application/json");
    return std::nullopt;
  }
  Json j = Json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *error = error_response(400, "malformed_json", "the request body is not a JSON object");
    return std::nullopt;
  }
  return j;
}

std::optional<std::string> string_field(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace ironseal::fleet
