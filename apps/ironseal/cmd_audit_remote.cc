// The remote source of `ironseal audit verify|show|export https://SERVER` (audit_cli.h): the
// server's trail fetched through the operator client into a 0700 temporary directory.
#include <stdlib.h>

#include <system_error>

#include "audit_cli.h"
#include "net/audit_mirror.h"
#include "net/operator_client.h"

namespace ironseal::cli {
namespace fs = std::filesystem;

RemoteTrail::~RemoteTrail() {
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string RemoteTrail::shown(const std::string& file) const {
  const std::string prefix = dir_.string() + "/";
  if (!file.starts_with(prefix)) return file;
  return url_ + " segment " + file.substr(prefix.size());
}

bool is_remote(const std::string& path) {
  return path.starts_with("https://") || path.starts_with("http://");
}

Result<std::unique_ptr<RemoteTrail>> fetch_remote_trail(const std::string& url,
                                                        const std::string& token,
                                                        const std::string& cacert) {
  std::string base = url;
  while (base.ends_with("/")) base.pop_back();
  if (base.ends_with("/api/v1/audit")) base.resize(base.size() - 13);
  // The URL on the command line is the server; the environment only fills in token and CA.
  auto endpoint = net::endpoint_with_environment({"", token, cacert});
  endpoint.url = base;
  auto client = net::OperatorClient::create(std::move(endpoint));
  if (!client) return std::unexpected(client.error());
  auto trail = std::unique_ptr<RemoteTrail>(new RemoteTrail);
  trail->url_ = base;
  std::string pattern = (fs::temp_directory_path() / "ironseal-audit-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return fail(ErrorCode::kIo, "cannot create a temporary directory in ",
                fs::temp_directory_path().string());
  }
  trail->dir_ = pattern;  // mkdtemp makes it 0700
  auto copied = net::mirror_audit_trail(*client, trail->dir_);
  if (!copied) return fail_in(copied.error(), base, ": audit trail: ");
  return trail;
}

}  // namespace ironseal::cli
