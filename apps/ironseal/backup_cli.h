// Shared by cmd_backup.cc and cmd_backup_restore.cc: the arguments of `ironseal backup` and the
// trust inputs (CA root and CRL) both verify and restore read.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "backup/archive.h"
#include "pki/certificate.h"

namespace ironseal::cli {

struct BackupArgs {
  std::string device;
  std::string archive;
  std::vector<std::string> to;  // recipients' public backup keys
  std::string out, public_out, type = "x25519";
  std::string key;  // an operator's private backup key
  std::string ca, crl;
  bool replacement = false;
  std::string record_out, record, ca_dir;
  long long power_cut_after = -1;
  bool json = false;
};

// backup::load_trust over --ca/--crl; `fallback_anchors` when --ca is not given (a device's
// anchors.pem).
Result<backup::Trust> trust_inputs(const BackupArgs& a,
                                   const std::filesystem::path& fallback_anchors,
                                   const std::string& kind = "device");

pki::UnixTime backup_now();

void register_backup_restore(CLI::App& backup, CLI::App& app, const std::shared_ptr<BackupArgs>& a);

}  // namespace ironseal::cli
