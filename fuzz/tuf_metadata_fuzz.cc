// TUF/Uptane metadata as the update client receives it (src/repo/metadata.cc): root, timestamp,
// snapshot and targets documents, the UTC time form and delegation path patterns. The first byte
// picks the parser. Invariants beyond "no crash": a parsed document keeps the bytes as received
// and has a canonical signed form; a parsed root names the four top-level roles and signature
// checks over it never crash, whatever its keys claim; a target always lists a hash; a parsed time
// formats back to the same text.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "repo/metadata.h"
#include "repo/signature.h"

using namespace ironseal;

namespace {

template <typename Parse>
void check_document(ByteView bytes, Parse parse) {
  auto md = parse(bytes);
  if (!md) return;
  if (md->canonical_signed.empty() || md->raw != Bytes(bytes.begin(), bytes.end())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const ByteView bytes(data + 1, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 6) {
    case 0: {
      auto root = repo::parse_root(bytes);
      if (!root) return 0;
      if (root->raw != Bytes(bytes.begin(), bytes.end())) std::abort();
      // The four top-level roles are present after a successful parse (role() relies on it).
      for (std::string_view name : {"root", "timestamp", "snapshot", "targets"}) {
        const repo::RoleKeys& role = root->role.role(name);
        (void)repo::verify_threshold(name, role, root->role.keys, root->signatures,
                                     root->canonical_signed);
      }
      break;
    }
    case 1: check_document(bytes, repo::parse_timestamp); break;
    case 2: check_document(bytes, repo::parse_snapshot); break;
    case 3: {
      auto targets = repo::parse_targets(bytes);
      if (!targets) return 0;
      for (const auto& [path, file] : targets->role.targets) {
        if (file.hashes.empty()) std::abort();  // documented: never empty
        (void)file.naming_hash();
        if (targets->role.delegations) {
          for (const auto& d : targets->role.delegations->roles) (void)d.covers(path);
        }
      }
      break;
    }
    case 4: {
      auto t = repo::parse_utc_time(text);
      if (t && repo::format_utc_time(*t) != text) std::abort();
      break;
    }
    case 5: {
      const auto nul = text.find('\0');
      if (nul == std::string_view::npos) return 0;
      (void)repo::path_matches(text.substr(0, nul), text.substr(nul + 1));
      (void)repo::quote_name(text);
      break;
    }
  }
  return 0;
}
