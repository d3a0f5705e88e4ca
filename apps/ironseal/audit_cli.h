// Shared by `ironseal audit` (cmd_audit.cc) and its remote source (cmd_audit_remote.cc): a fleet
// server's trail, given as https://SERVER, is copied into a private temporary directory and then
// verified, shown or exported exactly like a local one.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "core/result.h"

namespace ironseal::cli {

// A trail fetched from a server's operator API (GET /api/v1/audit), removed with the object.
class RemoteTrail {
 public:
  ~RemoteTrail();
  const std::filesystem::path& dir() const { return dir_; }
  // `file` (a path in dir()) as the user should read it: "URL segment NAME".
  std::string shown(const std::string& file) const;

 private:
  friend Result<std::unique_ptr<RemoteTrail>> fetch_remote_trail(const std::string&,
                                                                 const std::string&,
                                                                 const std::string&);
  std::filesystem::path dir_;
  std::string url_;
};

// True for https:// and http:// (the latter is refused when fetched: the operator API is HTTPS).
bool is_remote(const std::string& path);

// Copies the trail of the server at `url` (https://HOST:PORT, optionally ending in /api/v1/audit)
// with a bearer token (a viewer's is enough) and the CA to trust, each also from
// IRONSEAL_FLEET_TOKEN / IRONSEAL_FLEET_CACERT. Refusals keep the server's reason: 401/403 exit 1,
// other 4xx (404 audit_not_configured) exit 2, transport exit 3.
Result<std::unique_ptr<RemoteTrail>> fetch_remote_trail(const std::string& url,
                                                        const std::string& token,
                                                        const std::string& cacert);

}  // namespace ironseal::cli
