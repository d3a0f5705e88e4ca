// Turning results into answers: the JSON bodies, error answers and status codes every part of the
// fleet service gives (docs/fleet-api.md, "Errors"), and the checks of request bodies they share.
//
// Stateless; any thread.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "fleet/http_message.h"

namespace ironseal::fleet {

HttpResponse json_response(int status, const nlohmann::json& body);
// {"error": CODE, "message": MESSAGE}, plus "reason": REASON when the toolkit's Error
// (core/result.h) names a finer reason than CODE (e.g. "revoked" under "forbidden"). A client
// reads `reason` if present, else `error`: the same token either way as the CLI's --json.
HttpResponse error_response(int status, std::string_view code, std::string_view message,
                            std::string_view reason = {});
// The answer for an error: 400, 403, 404, 409; anything else is 500, logged and not shown (the
// message may name server paths).
HttpResponse from_error(const Error& e);
// 405 with Allow.
HttpResponse method_not_allowed(const char* allow);

// 200 {"KEY": [each element of `list` as JSON]}, or the store's error.
template <typename T, typename ToJson>
HttpResponse list_response(const Result<std::vector<T>>& list, const char* key, ToJson to_json) {
  if (!list) return from_error(list.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : *list) out.push_back(to_json(item));
  return json_response(200, nlohmann::json{{key, std::move(out)}});
}

// A name the service stores and puts in paths: letters, digits and . _ - (not "." or "..").
bool valid_name(const std::string& s, std::size_t max = 128);
// The body as a JSON object, or an error answer in *error (415 unless it is declared JSON, 400
// when it is no JSON object).
std::optional<nlohmann::json> parse_object(const HttpRequest& r, HttpResponse* error);
// The string at `key`, or nullopt when missing or not a string.
std::optional<std::string> string_field(const nlohmann::json& j, const char* key);

}  // namespace ironseal::fleet
