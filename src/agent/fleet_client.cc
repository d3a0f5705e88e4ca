#include "agent/fleet_client.h"

#include <curl/curl.h>

#include "net/curl_body.h"

namespace ironseal::agent {

Result<std::unique_ptr<FleetClient>> FleetClient::create(std::string server, net::TlsClient tls,
                                                         FleetLimits limits) {
  if (!net::curl_global()) return fail(ErrorCode::kIo, "libcurl initialisation failed");
  if (server.rfind("https://", 0) != 0) {
    return fail(ErrorCode::kInvalidArgument, "the fleet server must be an https:// URL, not ",
                server);
  }
  while (!server.empty() && server.back() == '/') server.pop_back();
  CURL* c = curl_easy_init();
  if (c == nullptr) return fail(ErrorCode::kIo, "libcurl handle creation failed");
  return std::unique_ptr<FleetClient>(new FleetClient(std::move(server), std::move(tls), limits, c));
}

FleetClient::FleetClient(std::string server, net::TlsClient tls, FleetLimits limits, void* curl)
    : server_(std::move(server)), tls_(std::move(tls)), limits_(limits), curl_(curl) {}

FleetClient::~FleetClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

void FleetClient::set_tls(net::TlsClient tls) {
  tls_ = std::move(tls);
  // A fresh handle: no kept-alive connection authenticated with the old certificate survives.
  if (CURL* fresh = curl_easy_init(); fresh != nullptr) {
    curl_easy_cleanup(static_cast<CURL*>(curl_));
    curl_ = fresh;
  }
}

Result<FleetClient::Response> FleetClient::request(const std::string& method,
                                                   const std::string& path,
                                                   const std::string& content_type,
                                                   const std::string& body) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);  // keeps the connection cache: the TLS session is reused (keep-alive)
  Response out;
  net::BoundedBody<std::string> sink{&out.body, limits_.max_response_bytes};
  char error_text[CURL_ERROR_SIZE] = {};
  const std::string url = server_ + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &net::BoundedBody<std::string>::write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, limits_.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, limits_.total_timeout_s);
  net::apply(c, tls_);
  curl_slist* headers = nullptr;
  if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  } else if (method != "GET") {
    return fail(ErrorCode::kInvalidArgument, "unsupported method ", method);
  }
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (sink.too_large) {
    return fail(ErrorCode::kMalformed, url, ": the answer is larger than ",
                std::to_string(limits_.max_response_bytes), " bytes");
  }
  if (rc != CURLE_OK) {
    const std::string why = error_text[0] ? error_text : curl_easy_strerror(rc);
    // Trust refusals, either way round, are not "try again later": the server does not trust
    // this device's certificate (a TLS alert: revoked, unknown CA, expired, none), or the device
    // does not trust the server's.
    if (rc == CURLE_PEER_FAILED_VERIFICATION) {
      return fail(ErrorCode::kNotTrusted, url, ": the server's certificate is not trusted: ", why);
    }
    if (why.find("alert") != std::string::npos) {
      return fail(ErrorCode::kNotTrusted, url,
                  ": the server refused this device's certificate: ", why);
    }
    return fail(ErrorCode::kIo, url, ": ", why);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  char* ct = nullptr;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
  if (ct != nullptr) out.content_type = ct;
  return out;
}

Result<nlohmann::json> FleetClient::post_json(const std::string& path, const nlohmann::json& body) {
  auto r = request("POST", path, "application/json", body.dump());
  if (!r) return std::unexpected(r.error());
  nlohmann::json answer = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (r->status < 200 || r->status > 299) {
    std::string code = "http_" + std::to_string(r->status);
    std::string message;
    if (answer.is_object()) {
      if (answer.contains("error") && answer["error"].is_string()) code = answer["error"];
      if (answer.contains("message") && answer["message"].is_string()) message = answer["message"];
    }
    const ErrorCode ec = r->status == 401 || r->status == 403 ? ErrorCode::kNotTrusted
                         : r->status >= 500                   ? ErrorCode::kIo
                                                              : ErrorCode::kInvalidArgument;
    return fail(ec, "fleet server refused ", path, " (", std::to_string(r->status), " ", code,
                message.empty() ? "" : ": ", message, ")");
  }
  if (answer.is_discarded() || !answer.is_object()) {
    return fail(ErrorCode::kMalformed, server_, path, ": the answer is not a JSON object");
  }
  return answer;
}

Result<nlohmann::json> FleetClient::checkin(const nlohmann::json& state) {
  return post_json("/api/v1/device/checkin", state);
}

Result<std::int64_t> FleetClient::report(const std::string& step, const std::string& target,
                                         const std::string& reason, const nlohmann::json& detail) {
  nlohmann::json body{{"step", step}, {"detail", detail}};
  if (!target.empty()) body["target"] = target;
  if (!reason.empty()) body["reason"] = reason;
  auto r = post_json("/api/v1/device/reports", body);
  if (!r) return std::unexpected(r.error());
  if (!r->contains("id") || !(*r)["id"].is_number_integer()) {
    return fail(ErrorCode::kMalformed, "the report was not acknowledged with an id");
  }
  return (*r)["id"].get<std::int64_t>();
}

}  // namespace ironseal::agent
