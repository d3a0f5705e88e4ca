// CSAF 2.0 security advisories (profile csaf_security_advisory) for a fixed vulnerability in
// firmware built with ironseal (IEC 62443-4-1 DM-5, SUM-2). The advisory names the fixed release
// and its security counter: once a device confirms the fixed image, its anti-rollback counter
// rises to that value and the vulnerable images, whose counter is lower, no longer boot.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace ironseal::evidence {

struct AdvisoryInputs {
  std::string id;     // tracking ID, e.g. "ACME-SA-2026-001"
  std::string title;
  std::string summary;  // what is vulnerable and the impact
  std::vector<std::string> cves;  // zero or more "CVE-YYYY-NNNN"
  std::string vendor;             // publisher and product vendor
  std::string publisher_namespace;  // https:// URL of the publisher
  std::string product;              // product name, e.g. "PLC-200 firmware"
  std::string fixed_version;
  std::vector<std::string> affected_versions;  // empty: every version below fixed_version
  std::uint32_t security_counter = 0;          // the fixed image's counter (must be > 0)
  std::string cvss_vector;                     // optional CVSS:3.1/... vector
  std::optional<double> cvss_score;            // required with the vector
  std::string date;                            // RFC 3339; empty: now
};

// Refuses (kInvalidArgument, reason "bad_advisory") a missing ID, title, summary, product, fixed
// version, vendor, an http:// namespace, a malformed CVE ID, a zero counter, a CVSS vector without
// a score or a score outside 0..10.
Result<nlohmann::json> build_csaf_advisory(const AdvisoryInputs& in);

}  // namespace ironseal::evidence
