#include "net/operator_client.h"

#include <curl/curl.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <sstream>

#include "net/curl_body.h"
#include "net/tls_client.h"

namespace ironseal::net {
namespace {

using Json = nlohmann::json;

// Bounds the memory an answer may take (a device list of a large fleet is some tens of MiB);
// anything larger is not the fleet service talking.
constexpr std::uint64_t kMaxReplyBytes = 256u << 20;

// Collects the answer's headers (names in lower case); a new status line starts them afresh.
std::size_t collect_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(user);
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    headers->clear();
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    headers->emplace_back(std::move(name), std::string(value));
  }
  return size * count;
}

// A query value percent-encoded (RFC 3986 unreserved characters kept).
std::string query_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      out += {'%', kHex[ch >> 4], kHex[ch & 15]};
    }
  }
  return out;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

}  // namespace

OperatorEndpoint endpoint_with_environment(OperatorEndpoint given) {
  given.url = env_or("IRONSEAL_FLEET_URL", given.url);
  if (given.token.empty()) given.token = env_or("IRONSEAL_FLEET_TOKEN", "");
  if (given.ca_file.empty()) given.ca_file = env_or("IRONSEAL_FLEET_CACERT", "");
  return given;
}

std::string OperatorReply::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

ErrorCode refusal_code(long status) {
  if (status == 401 || status == 403) return ErrorCode::kNotTrusted;
  if (status >= 400 && status < 500) return ErrorCode::kInvalidArgument;
  return ErrorCode::kIo;
}

struct OperatorClient::Curl {
  CURL* handle = nullptr;
  ~Curl() { curl_easy_cleanup(handle); }
};

OperatorClient::OperatorClient(OperatorEndpoint endpoint, std::unique_ptr<Curl> curl)
    : endpoint_(std::move(endpoint)), curl_(std::move(curl)) {}
OperatorClient::OperatorClient(OperatorClient&&) noexcept = default;
OperatorClient& OperatorClient::operator=(OperatorClient&&) noexcept = default;
OperatorClient::~OperatorClient() = default;

Result<OperatorClient> OperatorClient::create(OperatorEndpoint endpoint) {
  while (!endpoint.url.empty() && endpoint.url.back() == '/') endpoint.url.pop_back();
  if (endpoint.url.empty()) {
    return fail(ErrorCode::kInvalidArgument, "no operator API URL (https://HOST:PORT)");
  }
  if (!curl_global()) return fail(ErrorCode::kIo, "libcurl failed to initialise");
  auto curl = std::make_unique<Curl>();
  curl->handle = curl_easy_init();
  if (curl->handle == nullptr) return fail(ErrorCode::kIo, "libcurl failed to initialise");
  return OperatorClient(std::move(endpoint), std::move(curl));
}

Result<OperatorReply> OperatorClient::send(std::string_view method, std::string_view path,
                                           const Json& body) {
  CURL* c = curl_->handle;
  curl_easy_reset(c);  // keeps the connection cache: later calls reuse the TLS connection
  const std::string url = endpoint_.url + std::string(path);
  const std::string verb(method);
  const std::string payload = body.is_null() ? std::string() : body.dump();
  const std::string auth = "Authorization: Bearer " + endpoint_.token;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!endpoint_.token.empty()) headers = curl_slist_append(headers, auth.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> hold(headers, curl_slist_free_all);
  OperatorReply reply;
  BoundedBody<std::string> sink{&reply.body, kMaxReplyBytes};
  const TlsClient tls{endpoint_.ca_file, nullptr};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  apply(c, tls);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, verb.c_str());
  if (verb != "GET") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &BoundedBody<std::string>::write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &collect_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply.headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  const CURLcode rc = curl_easy_perform(c);
  if (sink.too_large) {
    return fail(ErrorCode::kIo, verb, " ", url, ": the answer exceeds ",
                std::to_string(kMaxReplyBytes), " bytes");
  }
  if (rc != CURLE_OK) return fail(ErrorCode::kIo, verb, " ", url, ": ", curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

Result<Json> OperatorClient::call(std::string_view method, std::string_view path,
                                  const Json& body) {
  auto reply = send(method, path, body);
  if (!reply) return std::unexpected(reply.error());
  Json j = Json::parse(reply->body, nullptr, false);
  if (reply->status >= 400) {
    const bool has_message = j.is_object() && j.contains("message") && j["message"].is_string();
    const std::string msg = has_message ? j["message"].get<std::string>() : reply->body;
    return fail(refusal_code(reply->status), "server refused (", std::to_string(reply->status),
                "): ", msg);
  }
  if (j.is_discarded()) return fail(ErrorCode::kMalformed, "server answered with no JSON");
  return j;
}

Result<Json> OperatorClient::login(const std::string& name, const std::string& password) {
  return call("POST", "/api/v1/login", Json{{"name", name}, {"password", password}});
}

Result<Json> OperatorClient::list_devices(const std::string& group) {
  return call("GET", "/api/v1/devices" + (group.empty() ? "" : "?group=" + group));
}

Result<Json> OperatorClient::register_device(const std::string& serial,
                                             const std::string& hardware_id,
                                             const std::string& group) {
  return call("POST", "/api/v1/devices",
              Json{{"serial", serial}, {"hardware_id", hardware_id}, {"group", group}});
}

Result<bool> OperatorClient::ensure_registered(const std::string& serial,
                                               const std::string& hardware_id,
                                               const std::string& group) {
  auto reply = send("POST", "/api/v1/devices",
                    Json{{"serial", serial}, {"hardware_id", hardware_id}, {"group", group}});
  if (!reply) return std::unexpected(reply.error());
  if (reply->status == 201 || reply->status == 200) return true;
  if (reply->status == 409) return false;
  return fail(refusal_code(reply->status), "registering ", serial, ": server refused (",
              std::to_string(reply->status), "): ", reply->body);
}

Result<Json> OperatorClient::list_releases() {
  return call("GET", "/api/v1/releases");
}

Result<Json> OperatorClient::create_release(const std::string& name, const std::string& target) {
  return call("POST", "/api/v1/releases", Json{{"name", name}, {"target", target}});
}

Result<Json> OperatorClient::create_rollout(const RolloutRequest& r) {
  return call("POST", "/api/v1/rollouts",
              Json{{"release", r.release},
                   {"group", r.group},
                   {"phases", r.phases},
                   {"max_failure_rate", r.max_failure_rate},
                   {"phase_timeout_s", r.phase_timeout_s}});
}

Result<Json> OperatorClient::steer_rollout(std::int64_t id, std::string_view verb) {
  return call("POST", "/api/v1/rollouts/" + std::to_string(id) + "/" + std::string(verb));
}

Result<Json> OperatorClient::rollout_status(std::int64_t id) {
  return call("GET",
              id == 0 ? std::string("/api/v1/rollouts") : "/api/v1/rollouts/" + std::to_string(id));
}

Result<Json> OperatorClient::audit_records(std::uint64_t after_seq, std::size_t limit,
                                           const std::string& event_prefix,
                                           const std::string& actor) {
  std::string path =
      "/api/v1/audit?after_seq=" + std::to_string(after_seq) + "&limit=" + std::to_string(limit);
  if (!event_prefix.empty()) path += "&event=" + query_escape(event_prefix);
  if (!actor.empty()) path += "&actor=" + query_escape(actor);
  return call("GET", path);
}

namespace {

// The refusal of a non-JSON call: the server's message when its answer is an error object.
std::unexpected<Error> refused(const OperatorReply& reply) {
  Json j = Json::parse(reply.body, nullptr, false);
  const bool has_message = j.is_object() && j.contains("message") && j["message"].is_string();
  return fail(refusal_code(reply.status), "server refused (", std::to_string(reply.status),
              "): ", has_message ? j["message"].get<std::string>() : reply.body);
}

}  // namespace

Result<AuditLines> OperatorClient::audit_lines(std::uint64_t after_seq, std::size_t limit) {
  auto reply = send("GET", "/api/v1/audit?format=jsonl&after_seq=" + std::to_string(after_seq) +
                               "&limit=" + std::to_string(limit));
  if (!reply) return std::unexpected(reply.error());
  if (reply->status != 200) return refused(*reply);
  AuditLines page;
  page.text = std::move(reply->body);
  page.more = reply->header("ironseal-audit-more") == "true";
  const std::string next = reply->header("ironseal-audit-next-after-seq");
  auto [ptr, ec] = std::from_chars(next.data(), next.data() + next.size(), page.next_after_seq);
  if (next.empty() || ec != std::errc() || ptr != next.data() + next.size()) {
    return fail(ErrorCode::kMalformed, "audit page without Ironseal-Audit-Next-After-Seq");
  }
  // "NAME FIRST_LINE LINES BYTES, ..."
  std::string pieces = reply->header("ironseal-audit-segments");
  for (char& ch : pieces) ch = ch == ',' ? ' ' : ch;
  std::istringstream in(pieces);
  std::uint64_t total = 0;
  AuditLines::Piece piece;
  while (in >> piece.segment >> piece.first_line >> piece.lines >> piece.bytes) {
    total += piece.bytes;
    page.pieces.push_back(piece);
  }
  if (!in.eof() || total != page.text.size()) {
    return fail(ErrorCode::kMalformed,
                "audit page: Ironseal-Audit-Segments does not describe "
                "the lines sent");
  }
  return page;
}

Result<std::optional<std::string>> OperatorClient::audit_checkpoint() {
  auto reply = send("GET", "/api/v1/audit/checkpoint");
  if (!reply) return std::unexpected(reply.error());
  if (reply->status == 200) return std::optional<std::string>(std::move(reply->body));
  Json j = Json::parse(reply->body, nullptr, false);
  if (reply->status == 404 && j.is_object() && j.contains("error") &&
      j["error"] == "no_checkpoint") {
    return std::optional<std::string>();
  }
  return refused(*reply);
}

}  // namespace ironseal::net
