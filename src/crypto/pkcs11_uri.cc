// RFC 7512 PKCS#11 URIs (pkcs11.h): parsing and checking, with no PKCS#11 module involved. Only
// the attributes ironseal acts on are accepted; any other is refused, since ignoring one would
// widen which key matches.
#include <map>
#include <string>

#include "crypto/pkcs11.h"

namespace ironseal::crypto::pkcs11 {
namespace {

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// p-char (path) and q-char (query) of RFC 7512 section 2.3, minus pct-encoded.
bool is_pchar(char c) {
  return is_unreserved(c) || std::string_view(":[]@!$'()*+,=&").find(c) != std::string_view::npos;
}
bool is_qchar(char c) {
  return is_unreserved(c) || std::string_view(":[]@!$'()*+,=/?|").find(c) != std::string_view::npos;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> percent_decode(std::string_view name, std::string_view value, bool query) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '%') {
      const int hi = i + 2 < value.size() ? hex_digit(value[i + 1]) : -1;
      const int lo = i + 2 < value.size() ? hex_digit(value[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return fail(ErrorCode::kInvalidArgument, "PKCS#11 URI: bad percent-encoding in '", name,
                    "'");
      }
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else if (query ? is_qchar(c) : is_pchar(c)) {
      out.push_back(c);
    } else {
      return fail(ErrorCode::kInvalidArgument, "PKCS#11 URI: character '", std::string(1, c),
                  "' in '", name, "' must be percent-encoded");
    }
  }
  return out;
}

// Names RFC 7512 defines that ironseal does not act on: refused rather than silently ignored,
// since ignoring one would widen which key matches.
bool is_rfc7512_unused(std::string_view name) {
  static constexpr std::string_view kNames[] = {"library-description",
                                                "library-manufacturer",
                                                "library-version",
                                                "slot-description",
                                                "slot-id",
                                                "slot-manufacturer",
                                                "module-name"};
  for (auto n : kNames) {
    if (n == name) return true;
  }
  return false;
}

// Sets attribute `name` (path attribute, or query attribute when `is_query`) of `uri`, or says why
// it is refused.
Result<void> set_attribute(Uri& uri, const std::string& name, const std::string& value,
                           bool is_query) {
  if (!is_query && name == "token") {
    uri.token = value;
  } else if (!is_query && name == "manufacturer") {
    uri.manufacturer = value;
  } else if (!is_query && name == "serial") {
    uri.serial = value;
  } else if (!is_query && name == "model") {
    uri.model = value;
  } else if (!is_query && name == "object") {
    uri.object = value;
  } else if (!is_query && name == "id") {
    uri.id = Bytes(value.begin(), value.end());
  } else if (!is_query && name == "type") {
    if (value != "private" && value != "public") {
      return fail(ErrorCode::kInvalidArgument, "PKCS#11 URI: type=", value,
                  " is not a key (expected private or public)");
    }
    uri.type = value;
  } else if (is_query && name == "pin-source") {
    if (!value.starts_with("file:") || value.size() == 5) {
      return fail(ErrorCode::kInvalidArgument,
                  "PKCS#11 URI: pin-source must be a file: URI (pin-source=file:/path)");
    }
    uri.pin_source = value;
  } else if (is_query && name == "module-path") {
    if (value.empty()) {
      return fail(ErrorCode::kInvalidArgument, "PKCS#11 URI: module-path is empty");
    }
    uri.module_path = value;
  } else if (name == "pin-value") {
    return fail(ErrorCode::kInvalidArgument,
                "PKCS#11 URI: pin-value is refused: a PIN never goes on the command line "
                "(use IRONSEAL_PKCS11_PIN or pin-source=file:/path)");
  } else if (!is_query && (name == "module-path" || name == "pin-source")) {
    return fail(ErrorCode::kInvalidArgument, "PKCS#11 URI: ", name,
                " is a query attribute: put it after '?'");
  } else if (is_query && (name == "token" || name == "object" || name == "id" || name == "type" ||
                          name == "serial")) {
    return fail(ErrorCode::kInvalidArgument, "PKCS#11 URI: ", name,
                " is a path attribute: put it before '?', separated by ';'");
  } else if (is_rfc7512_unused(name)) {
    return fail(ErrorCode::kInvalidArgument, "PKCS#11 URI: attribute '", name,
                "' is not supported by ironseal (use token, serial, object, id)");
  } else {
    return fail(ErrorCode::kInvalidArgument, "PKCS#11 URI: unknown attribute '", name, "'");
  }
  return {};
}

// Parses the attributes of the path (`sep` ';') or the query (`sep` '&') into `uri`; `seen`
// spans both, so that no attribute is given twice.
Result<void> parse_attributes(std::string_view part, char sep, bool is_query, Uri& uri,
                              std::map<std::string, bool>& seen) {
  if (part.empty()) return {};
  std::size_t start = 0;
  while (true) {
    const std::size_t end = part.find(sep, start);
    const std::string_view attr =
        part.substr(start, end == std::string_view::npos ? part.npos : end - start);
    const std::size_t eq = attr.find('=');
    if (attr.empty() || eq == std::string_view::npos || eq == 0) {
      return fail(ErrorCode::kInvalidArgument, "PKCS#11 URI: '", attr,
                  "' is not an attribute (name=value)");
    }
    const std::string name(attr.substr(0, eq));
    auto value = percent_decode(name, attr.substr(eq + 1), is_query);
    if (!value) return std::unexpected(value.error());
    if (seen[name]) {
      return fail(ErrorCode::kInvalidArgument, "PKCS#11 URI: attribute '", name, "' given twice");
    }
    seen[name] = true;
    if (auto ok = set_attribute(uri, name, *value, is_query); !ok) return ok;
    if (end == std::string_view::npos) return {};
    start = end + 1;
  }
}

}  // namespace

Result<Uri> parse_uri(std::string_view text) {
  if (!text.starts_with("pkcs11:")) {
    return fail(ErrorCode::kInvalidArgument, "not a PKCS#11 URI (expected pkcs11:...)");
  }
  text.remove_prefix(7);
  std::string_view path = text, query;
  if (auto q = text.find('?'); q != std::string_view::npos) {
    path = text.substr(0, q);
    query = text.substr(q + 1);
  }
  Uri uri;
  std::map<std::string, bool> seen;
  if (auto ok = parse_attributes(path, ';', false, uri, seen); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = parse_attributes(query, '&', true, uri, seen); !ok) {
    return std::unexpected(ok.error());
  }
  return uri;
}

}  // namespace ironseal::crypto::pkcs11
