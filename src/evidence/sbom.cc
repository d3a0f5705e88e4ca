#include "evidence/sbom.h"

#include <algorithm>
#include <ctime>
#include <fstream>
#include <map>
#include <set>

#include "core/bytes.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "evidence/fields.h"
#include "evidence/process.h"
#include "evidence/text.h"

namespace ironseal::evidence {
namespace {

struct Package {
  std::string name, version, arch, source, source_version;
  std::vector<std::string> files;
};

std::string distro() {
  std::ifstream in("/etc/os-release");
  std::string line, id = "linux", version;
  while (std::getline(in, line)) {
    auto value = [&](std::string_view key) {
      std::string v = line.substr(key.size());
      if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
      return v;
    };
    if (line.starts_with("ID=")) id = value("ID=");
    if (line.starts_with("VERSION_ID=")) version = value("VERSION_ID=");
  }
  return version.empty() ? id : id + "-" + version;
}

std::string purl_of(const Package& p, const std::string& distro_name) {
  return "pkg:deb/debian/" + p.name + "@" + p.version + "?arch=" + p.arch +
         "&distro=" + distro_name;
}

// Shared libraries the loader maps for `binary`, as absolute paths (the vDSO has none).
Result<std::vector<std::string>> shared_libraries(const std::filesystem::path& binary) {
  auto out = run_capture({"ldd", binary.string()});
  if (!out) return std::unexpected(out.error());
  if (out->status != 0) {
    return fail(ErrorCode::kInvalidArgument, "ldd ", binary.string(),
                ": not a dynamically linked executable of this machine");
  }
  std::vector<std::string> libs;
  for (std::string_view view : lines_of(out->out)) {
    const std::string line(view);
    if (line.find("not found") != std::string::npos) {
      return fail(ErrorCode::kNotFound, binary.string(), ": a library is missing: ", line);
    }
    auto arrow = line.find("=> ");
    auto from = arrow != std::string::npos ? arrow + 3 : line.find_first_not_of(" \t");
    if (from == std::string::npos || from >= line.size() || line[from] != '/') continue;
    libs.push_back(line.substr(from, line.find(" (", from) - from));
  }
  return libs;
}

// Owning Debian package of each path (usr-merged: /lib and /usr/lib name the same file).
Result<std::map<std::string, std::string>> owners(const std::set<std::string>& paths) {
  std::vector<std::string> argv = {"dpkg-query", "-S"};
  std::map<std::string, std::string> alias;  // spelling asked -> path given
  for (const auto& p : paths) {
    std::error_code ec;
    std::string canonical = std::filesystem::canonical(p, ec).string();
    for (std::string q : {p, canonical}) {
      if (q.empty()) continue;
      for (std::string v : {q, q.starts_with("/usr/") ? q.substr(4) : "/usr" + q}) {
        if (alias.emplace(v, p).second) argv.push_back(v);
      }
    }
  }
  auto out = run_capture(argv);
  if (!out) return std::unexpected(out.error());
  std::map<std::string, std::string> owner;
  for (std::string_view view : lines_of(out->out)) {
    const std::string line(view);
    auto sep = line.find(": /");
    if (sep == std::string::npos || line.starts_with("diversion")) continue;
    std::string pkg = line.substr(0, sep);
    pkg = pkg.substr(0, pkg.find(','));  // several owners: the first
    pkg = pkg.substr(0, pkg.find(':'));  // drop ":amd64"
    auto it = alias.find(line.substr(sep + 2));
    if (it != alias.end()) owner.emplace(it->second, pkg);
  }
  for (const auto& p : paths) {
    if (!owner.count(p)) {
      return fail_because(ErrorCode::kNotFound, "unowned_file", p,
                          ": no Debian package owns it, so the SBOM cannot name its version");
    }
  }
  return owner;
}

Result<void> describe(std::map<std::string, Package>& packages) {
  std::vector<std::string> argv = {
      "dpkg-query", "-W",
      "-f=${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n"};
  for (const auto& [name, p] : packages) argv.push_back(name);
  auto out = run_capture(argv);
  if (!out) return std::unexpected(out.error());
  for (std::string_view view : lines_of(out->out)) {
    std::vector<std::string> f;
    const std::string line(view);
    std::size_t pos = 0;
    for (int i = 0; i < 5; ++i) {
      auto tab = line.find('\t', pos);
      f.push_back(line.substr(pos, tab == std::string::npos ? std::string::npos : tab - pos));
      pos = tab == std::string::npos ? line.size() : tab + 1;
    }
    auto it = packages.find(f[0]);
    if (it == packages.end() || f[1].empty()) continue;
    it->second.version = f[1];
    it->second.arch = f[2];
    it->second.source = f[3];
    it->second.source_version = f[4];
  }
  for (const auto& [name, p] : packages) {
    if (p.version.empty()) {
      return fail(ErrorCode::kNotFound, "dpkg-query knows no installed version of ", name);
    }
  }
  return {};
}

// Streamed: a debug build's binaries are hundreds of MiB.
Result<std::string> file_sha256(const std::filesystem::path& path) {
  auto file = ReadOnlyFile::open(path);
  if (!file) return fail_in(file.error(), "SBOM input ", path.string(), ": ");
  auto hasher = crypto::Hasher::create(crypto::HashAlgorithm::kSha256);
  if (!hasher) return std::unexpected(hasher.error());
  Bytes buf(1 << 20);
  for (std::uint64_t offset = 0; offset < file->size();) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), file->size() - offset));
    if (!file->read_at(offset, std::span<std::uint8_t>(buf.data(), n))) {
      return fail(ErrorCode::kIo, "SBOM input ", path.string(), ": read failed");
    }
    hasher->update(ByteView(buf.data(), n));
    offset += n;
  }
  return to_hex(hasher->finish());
}

nlohmann::json property(std::string_view name, std::string_view value) {
  return {{"name", name}, {"value", value}};
}

}  // namespace

namespace {

using Json = nlohmann::json;

struct Collected {
  std::map<std::string, Package> packages;               // by package name
  std::map<std::string, std::set<std::string>> users;    // package -> bom-refs that depend on it
  std::map<std::string, std::string> linkage;            // package -> shared/header-only/static
};

struct Use {
  std::string file, user, linkage;
};

// One dpkg-query for every file the build uses (each call scans dpkg's whole file database).
Result<void> resolve(const std::vector<Use>& uses, Collected& c) {
  std::set<std::string> files;
  for (const auto& u : uses) files.insert(u.file);
  if (files.empty()) return {};
  auto own = owners(files);
  if (!own) return std::unexpected(own.error());
  for (const auto& u : uses) {
    const std::string& pkg = own->at(u.file);
    auto& p = c.packages[pkg];
    p.name = pkg;
    if (std::find(p.files.begin(), p.files.end(), u.file) == p.files.end()) p.files.push_back(u.file);
    c.users[pkg].insert(u.user);
    c.linkage.emplace(pkg, u.linkage);
  }
  return {};
}

Json package_component(const Package& p, const std::string& linkage, const std::string& os) {
  Json props = Json::array();
  props.push_back(property("ironseal:linkage", linkage));
  for (const auto& f : p.files) props.push_back(property("ironseal:file", f));
  if (!p.source.empty()) props.push_back(property("debian:source", p.source));
  if (!p.source_version.empty()) props.push_back(property("debian:source_version", p.source_version));
  auto purl = purl_of(p, os);
  return {{"type", "library"}, {"bom-ref", purl}, {"name", p.name}, {"version", p.version},
          {"purl", purl}, {"scope", "required"}, {"properties", props}};
}

Result<Json> file_component(const std::filesystem::path& file, const std::string& type,
                            const std::string& ref, const std::string& version) {
  auto hash = file_sha256(file);
  if (!hash) return std::unexpected(hash.error());
  return Json{{"type", type},
              {"bom-ref", ref},
              {"name", file.filename().string()},
              {"version", version},
              {"hashes", Json::array({{{"alg", "SHA-256"}, {"content", *hash}}})},
              {"properties", Json::array({property("ironseal:origin", "built from this commit")})}};
}

}  // namespace

Result<std::string> new_serial_number() {
  auto r = crypto::random_bytes(16);
  if (!r) return std::unexpected(r.error());
  Bytes& b = *r;
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  std::string h = to_hex(b);
  return "urn:uuid:" + h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
         h.substr(16, 4) + "-" + h.substr(20);
}

std::string timestamp_now() {
  std::time_t t = std::time(nullptr);
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch != nullptr && *epoch != 0) {
    t = static_cast<std::time_t>(std::strtoll(epoch, nullptr, 10));
  }
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<Json> build_sbom(const SbomInputs& in) {
  if (in.binaries.empty()) return fail(ErrorCode::kInvalidArgument, "SBOM: no --binary given");
  const std::string os = distro();
  Collected c;
  Json components = Json::array();
  Json dependencies = Json::array();
  Json product_deps = Json::array();
  std::vector<Use> uses;
  for (const auto& bin : in.binaries) {
    std::string ref = "ironseal-binary:" + bin.filename().string();
    auto comp = file_component(bin, "application", ref, in.version);
    if (!comp) return std::unexpected(comp.error());
    components.push_back(*comp);
    product_deps.push_back(ref);
    auto libs = shared_libraries(bin);
    if (!libs) return std::unexpected(libs.error());
    for (const auto& l : *libs) uses.push_back({l, ref, "shared"});
    for (const auto& h : in.headers) uses.push_back({h.string(), ref, "header-only (compiled in)"});
  }
  if (in.firmware) {
    const std::string ref = "ironseal-firmware:m33-bootloader";
    auto comp = file_component(*in.firmware, "firmware", ref, in.version);
    if (!comp) return std::unexpected(comp.error());
    (*comp)["name"] = "ironseal-m33-bootloader";
    (*comp)["properties"].push_back(property("ironseal:file", in.firmware->filename().string()));
    (*comp)["description"] = "Cortex-M33 bootloader (QEMU mps2-an505): ironseal's own sources, "
                             "the portable boot core and image verifier";
    components.push_back(*comp);
    product_deps.push_back(ref);
    for (const auto& l : in.firmware_libs) {
      uses.push_back({l.string(), ref, "static (bare-metal runtime)"});
    }
  }
  if (auto ok = resolve(uses, c); !ok) return std::unexpected(ok.error());
  if (auto ok = describe(c.packages); !ok) return std::unexpected(ok.error());
  std::map<std::string, Json> deps_of;
  for (const auto& [name, p] : c.packages) {
    components.push_back(package_component(p, c.linkage[name], os));
    for (const auto& user : c.users[name]) deps_of[user].push_back(purl_of(p, os));
  }
  dependencies.push_back({{"ref", "ironseal"}, {"dependsOn", product_deps}});
  for (auto& [ref, list] : deps_of) dependencies.push_back({{"ref", ref}, {"dependsOn", list}});
  auto serial = new_serial_number();
  if (!serial) return std::unexpected(serial.error());
  Json product = {{"type", "application"}, {"bom-ref", "ironseal"}, {"name", "ironseal"},
                  {"version", in.version},
                  {"properties", Json::array({property("ironseal:commit", in.commit),
                                              property("ironseal:distro", os)})}};
  return Json{
      {"bomFormat", "CycloneDX"},
      {"specVersion", "1.6"},
      {"serialNumber", *serial},
      {"version", 1},
      {"metadata",
       {{"timestamp", in.timestamp.empty() ? timestamp_now() : in.timestamp},
        {"lifecycles", Json::array({{{"phase", "build"}}})},
        {"tools", {{"components", Json::array({{{"type", "application"}, {"name", "ironseal"},
                                                {"version", in.version}}})}}},
        {"component", product}}},
      {"components", components},
      {"dependencies", dependencies}};
}

namespace {

constexpr std::string_view kSbomReason = "bad_sbom";

// `pointer`: where the component is ("/components/3", "/metadata/component").
Result<SbomComponent> read_component(const Json& j, const std::string& file,
                                     const std::string& pointer) {
  Fields f(j, file, pointer, std::string(kSbomReason));
  if (auto ok = f.require_object(); !ok) return std::unexpected(ok.error());
  SbomComponent c;
  auto type = f.text("type");
  auto name = f.text("name");
  if (!type) return std::unexpected(type.error());
  if (!name) return std::unexpected(name.error());
  c.type = *type;
  c.name = *name;
  auto version = f.optional_text("version");
  auto ref = f.optional_text("bom-ref");
  auto purl = f.optional_text("purl");
  if (!version) return std::unexpected(version.error());
  if (!ref) return std::unexpected(ref.error());
  if (!purl) return std::unexpected(purl.error());
  c.version = *version;
  c.ref = ref->empty() ? c.name : *ref;
  c.purl = *purl;
  auto props = f.array("properties", false);
  if (!props) return std::unexpected(props.error());
  for (const auto& p : **props) {
    if (has_string(p, "name", "debian:source") && p.contains("value") &&
        p["value"].is_string()) {
      c.source_package = p["value"].get<std::string>();
    }
  }
  return c;
}

}  // namespace

Result<Sbom> parse_sbom(std::string_view text, const std::string& file) {
  auto j = parse_json(text, file, kSbomReason);
  if (!j) return std::unexpected(j.error());
  Fields top(*j, file, "", std::string(kSbomReason));
  if (auto ok = top.require_object(); !ok) return std::unexpected(ok.error());
  auto format = top.text("bomFormat");
  if (!format) return std::unexpected(format.error());
  if (*format != "CycloneDX") return top.refuse("bomFormat", "must be \"CycloneDX\"");
  auto spec = top.text("specVersion");
  if (!spec) return std::unexpected(spec.error());
  if (*spec != "1.6") return top.refuse("specVersion", "must be \"1.6\" (got " + *spec + ")");
  Sbom s;
  s.file = file;
  auto serial = top.text("serialNumber");
  if (!serial) return std::unexpected(serial.error());
  if (!serial->starts_with("urn:uuid:")) return top.refuse("serialNumber", "must be urn:uuid:...");
  s.serial = *serial;
  auto version = top.integer("version", 1, 1'000'000);
  if (!version) return std::unexpected(version.error());
  s.version = static_cast<int>(*version);
  if (j->contains("metadata")) {
    Fields meta((*j)["metadata"], file, "/metadata", std::string(kSbomReason));
    if (meta.has("component")) {
      auto comp = read_component((*j)["metadata"]["component"], file, "/metadata/component");
      if (!comp) return std::unexpected(comp.error());
      s.product = comp->name;
      s.product_version = comp->version;
      const Json& component = (*j)["metadata"]["component"];
      const Json props = component.is_object() && component.contains("properties") &&
                                 component["properties"].is_array()
                             ? component["properties"]
                             : Json::array();
      for (const auto& p : props) {
        if (has_string(p, "name", "ironseal:commit") && p.contains("value") &&
            p["value"].is_string())
          s.commit = p["value"].get<std::string>();
      }
    }
  }
  auto comps = top.array("components", true);
  if (!comps) return std::unexpected(comps.error());
  for (std::size_t i = 0; i < (*comps)->size(); ++i) {
    auto c = read_component((**comps)[i], file, "/components/" + std::to_string(i));
    if (!c) return std::unexpected(c.error());
    s.components.push_back(std::move(*c));
  }
  if (s.components.empty()) return top.refuse("components", "lists no component");
  s.document = std::move(*j);
  return s;
}

Result<Sbom> load_sbom(const std::filesystem::path& path) {
  auto bytes = read_file(path, 64 << 20);
  if (!bytes) return fail_in(bytes.error(), "SBOM ", path.string(), ": ");
  return parse_sbom(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()),
                    path.string());
}

}  // namespace ironseal::evidence
