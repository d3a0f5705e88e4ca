// CycloneDX 1.6 software bills of materials (docs/evidence.md).
//
// build_sbom() describes one build: ironseal (version, commit) and its binaries with their
// SHA-256, every shared library those binaries load (as the dynamic loader resolves it, `ldd`),
// every header-only library compiled in (by a header file it ships), each mapped to its Debian
// package and version by dpkg, and the Cortex-M33 bootloader as its own firmware component with
// the toolchain runtime packages it links. A library that no Debian package owns is refused:
// an SBOM with a hole in it is worse than none.
//
// parse_sbom() reads the parts of an SBOM that the evidence report and the VEX matcher use, and
// refuses (reason "bad_sbom", with the file and the JSON pointer) what is not CycloneDX 1.6.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ironseal::evidence {

struct SbomInputs {
  std::string version;                          // ironseal's version
  std::string commit;                           // the source commit, or "unknown"
  std::vector<std::filesystem::path> binaries;  // ELF executables of the build
  std::vector<std::filesystem::path> headers;   // one header per header-only library compiled in
  std::optional<std::filesystem::path> firmware;     // the bootloader ELF
  std::vector<std::filesystem::path> firmware_libs;  // static runtime libraries it links
  std::string timestamp;                        // RFC 3339 UTC
};

// Calls ldd and dpkg-query; kNotFound when a file has no owning package or a tool is missing.
Result<nlohmann::json> build_sbom(const SbomInputs& inputs);

struct SbomComponent {
  std::string ref;  // bom-ref
  std::string name;
  std::string version;
  std::string type;
  std::string purl;            // empty when none
  std::string source_package;  // Debian source package ("debian:source" property), or empty
};

struct Sbom {
  std::string file;
  std::string serial;  // urn:uuid:...
  int version = 1;
  std::string product;  // metadata.component name and version
  std::string product_version;
  std::string commit;  // metadata.component property "ironseal:commit", or empty
  std::vector<SbomComponent> components;
  nlohmann::json document;
};

Result<Sbom> parse_sbom(std::string_view text, const std::string& file);
Result<Sbom> load_sbom(const std::filesystem::path& path);

// A fresh "urn:uuid:" serial number (random, version 4).
Result<std::string> new_serial_number();
// RFC 3339 UTC of now, or of SOURCE_DATE_EPOCH when set (reproducible builds).
std::string timestamp_now();

}  // namespace ironseal::evidence
