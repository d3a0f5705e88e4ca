// `ironseal fleet simulate`: N simulated devices driven in one process, for scale tests of the
// fleet service on one machine. Each device is a real device directory (flash, OTP, boot state)
// with its own key and certificate, and runs the real agent (src/agent): check-in over mutual
// TLS, director, streaming install, trial, reports. Only the power cycle is in-process: the boot
// core's power_on, then an in-process "firmware" that runs a health check and confirms itself
// through the boot core, instead of exec'ing a firmware binary.
//
// Set-up (skipped for devices that exist): device directories with small slots, keys and
// certificates issued by a test CA given on the command line (TEST use only: this is a scale
// tool, not the factory), registration with the server over the operator API.
#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <queue>
#include <random>
#include <set>
#include <thread>

#include "agent/agent.h"
#include "agent/update.h"
#include "boot/boot.h"
#include "boot/host_device.h"
#include "cli.h"
#include "core/file.h"
#include "crypto/key.h"
#include "image/sign.h"
#include "pki/device_identity.h"

namespace ironseal::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct SimArgs {
  std::uint32_t devices = 0;
  std::string dir;
  std::string server;
  std::string serial_prefix = "SIM-";
  std::string hardware_id;
  std::string group = "default";
  // set-up
  std::vector<std::string> root_keys;
  std::string stage2;
  std::string firmware;
  std::string image_root;
  std::string director_root;
  std::string ca_cert;
  std::string ca_key;
  std::string anchors;
  std::uint32_t slot_size = 64 * 1024;
  std::uint32_t stage2_size = 16 * 1024;
  std::uint32_t attempts = 2;
  bool register_devices = false;
  std::string operator_url;
  std::string token;
  std::string cacert;
  // run
  std::uint32_t parallel = 16;
  double interval = 2;
  double max_backoff = 60;
  std::uint32_t cycles = 0;
  std::string until_target;
  double timeout = 600;
  std::vector<std::string> unhealthy_versions;
  bool setup_only = false;
  bool json = false;
  bool verbose = false;
};

// ---- Test CA: device certificates as the fleet server expects them (docs/fleet-api.md) -------

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION, X509_EXTENSION_free>>;

std::string openssl_error() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

std::string bio_text(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

class TestCa {
 public:
  static Result<TestCa> load(const fs::path& cert_pem, const fs::path& key_pem) {
    if (auto m = check_private_file_mode(key_pem); !m) return std::unexpected(m.error());
    BioPtr cb(BIO_new_file(cert_pem.c_str(), "r"));
    X509Ptr cert(cb ? PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!cert) return fail(ErrorCode::kMalformed, cert_pem.string(), ": no PEM certificate");
    BioPtr kb(BIO_new_file(key_pem.c_str(), "r"));
    PkeyPtr key(kb ? PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key) return fail(ErrorCode::kMalformed, key_pem.string(), ": no PEM private key");
    if (X509_check_private_key(cert.get(), key.get()) != 1) {
      return fail(ErrorCode::kInvalidArgument, key_pem.string(), " does not match ",
                  cert_pem.string());
    }
    auto pem = read_file(cert_pem);
    if (!pem) return std::unexpected(pem.error());
    return TestCa(std::move(cert), std::move(key), std::string(pem->begin(), pem->end()));
  }

  // A fresh P-256 key for the device and its certificate: URI SAN urn:ironseal:device:HW:SERIAL,
  // subject serialNumber, clientAuth, one year.
  struct Issued {
    std::string key_pem;
    std::string cert_pem;
  };
  Result<Issued> issue(const std::string& serial, const std::string& hardware_id) const {
    PkeyPtr key(EVP_EC_gen("P-256"));
    if (!key) return fail(ErrorCode::kCrypto, "device key generation: ", openssl_error());
    X509Ptr x(X509_new());
    if (!x || X509_set_version(x.get(), 2) != 1) return fail(ErrorCode::kCrypto, openssl_error());
    unsigned char sn[16];
    if (RAND_bytes(sn, sizeof sn) != 1) return fail(ErrorCode::kCrypto, openssl_error());
    sn[0] &= 0x7f;
    sn[0] |= 0x01;
    BIGNUM* bn = BN_bin2bn(sn, sizeof sn, nullptr);
    const bool serial_ok =
        bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get())) != nullptr;
    BN_free(bn);
    if (!serial_ok) return fail(ErrorCode::kCrypto, openssl_error());
    X509_NAME* name = X509_get_subject_name(x.get());
    const std::string cn = "ironseal TEST device " + serial;
    auto add_name = [&](const char* field, const std::string& v) {
      return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                        reinterpret_cast<const unsigned char*>(v.c_str()), -1, -1,
                                        0) == 1;
    };
    if (!add_name("CN", cn) || !add_name("serialNumber", serial) ||
        X509_set_issuer_name(x.get(), X509_get_subject_name(cert_.get())) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x.get()), -300) == nullptr ||
        X509_gmtime_adj(X509_getm_notAfter(x.get()), 365L * 24 * 3600) == nullptr ||
        X509_set_pubkey(x.get(), key.get()) != 1) {
      return fail(ErrorCode::kCrypto, "device certificate: ", openssl_error());
    }
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert_.get(), x.get(), nullptr, nullptr, 0);
    const std::string san = "URI:urn:ironseal:device:" + hardware_id + ":" + serial;
    const std::pair<int, std::string> exts[] = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature"},
        {NID_ext_key_usage, "clientAuth"},
        {NID_subject_alt_name, san},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
    };
    for (const auto& [nid, value] : exts) {
      ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
      if (!ext || X509_add_ext(x.get(), ext.get(), -1) != 1) {
        return fail(ErrorCode::kCrypto, "device certificate extension: ", openssl_error());
      }
    }
    if (X509_sign(x.get(), key_.get(), EVP_sha256()) == 0) {
      return fail(ErrorCode::kCrypto, "device certificate signature: ", openssl_error());
    }
    BioPtr kb(BIO_new(BIO_s_mem()));
    BioPtr cb(BIO_new(BIO_s_mem()));
    if (!kb || !cb ||
        PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
        PEM_write_bio_X509(cb.get(), x.get()) != 1) {
      return fail(ErrorCode::kCrypto, openssl_error());
    }
    return Issued{bio_text(kb.get()), bio_text(cb.get())};
  }

  const std::string& pem() const { return pem_; }

 private:
  TestCa(X509Ptr cert, PkeyPtr key, std::string pem)
      : cert_(std::move(cert)), key_(std::move(key)), pem_(std::move(pem)) {}
  X509Ptr cert_;
  PkeyPtr key_;
  std::string pem_;
};

// ---- Operator API: registration --------------------------------------------------------------

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One keep-alive connection to the operator API for all registrations.
class Registrar {
 public:
  Registrar(const SimArgs& a)
      : url_(env_or("IRONSEAL_FLEET_URL", a.operator_url)),
        token_(a.token.empty() ? env_or("IRONSEAL_FLEET_TOKEN", "") : a.token),
        cacert_(a.cacert.empty() ? env_or("IRONSEAL_FLEET_CACERT", "") : a.cacert),
        curl_(curl_easy_init()) {
    while (!url_.empty() && url_.back() == '/') url_.pop_back();
  }
  ~Registrar() { curl_easy_cleanup(curl_); }
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  Result<void> check() const {
    if (curl_ == nullptr) return fail(ErrorCode::kIo, "libcurl failed to initialise");
    if (url_.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  "--register needs the operator API: --operator https://HOST:PORT or "
                  "IRONSEAL_FLEET_URL");
    }
    if (token_.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  "--register needs a token: --token or IRONSEAL_FLEET_TOKEN (`fleet login`)");
    }
    return {};
  }

  // Registers one serial; "already registered" (409) counts as done (re-runs are idempotent).
  Result<bool> add(const std::string& serial, const std::string& hardware_id,
                   const std::string& group) {
    const std::string body =
        nlohmann::json{{"serial", serial}, {"hardware_id", hardware_id}, {"group", group}}.dump();
    const std::string url = url_ + "/api/v1/devices";
    const std::string auth = "Authorization: Bearer " + token_;
    std::string response;
    curl_easy_reset(curl_);
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    headers = curl_slist_append(headers, auth.c_str());
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> hold(headers, curl_slist_free_all);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "https");
    if (!cacert_.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, cacert_.c_str());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    const CURLcode rc = curl_easy_perform(curl_);
    if (rc != CURLE_OK) return fail(ErrorCode::kIo, "POST ", url, ": ", curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    if (status == 201 || status == 200) return true;
    if (status == 409) return false;
    const ErrorCode code = (status == 401 || status == 403) ? ErrorCode::kNotTrusted
                           : status < 500                  ? ErrorCode::kInvalidArgument
                                                           : ErrorCode::kIo;
    return fail(code, "registering ", serial, ": server refused (", std::to_string(status),
                "): ", response);
  }

 private:
  std::string url_;
  std::string token_;
  std::string cacert_;
  CURL* curl_;
};

// ---- Set-up of one device ------------------------------------------------------------------------

std::string serial_of(const SimArgs& a, std::uint32_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%05u", i + 1);
  return a.serial_prefix + buf;
}

struct Factory {
  boot::DeviceConfig config;
  boot::Provisioning provisioning;
  const TestCa* ca = nullptr;
  std::string anchors_pem;
};

Result<void> write_private(const fs::path& path, const std::string& text) {
  return write_file_atomic(path, as_bytes(text), {.mode = 0600, .exclusive = false});
}

// Makes DIR/SERIAL a provisioned device with roots for updates and an identity. It is built in
// DIR/SERIAL.partial and renamed when complete, so an interrupted set-up leaves no half device
// under the real name (the .partial directory is made again on the next run).
Result<void> make_device(const SimArgs& a, const Factory& f, const std::string& serial,
                         const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    return fail(ErrorCode::kInvalidArgument, dir.string(),
                " exists but holds no device (device.json); refusing to touch it");
  }
  boot::DeviceConfig config = f.config;
  config.serial = serial;
  // Provisioning writes device.json last through save_device; build in a scratch name so that a
  // crash never leaves a device.json without flash and identity.
  const fs::path tmp = dir.string() + ".partial";
  fs::remove_all(tmp, ec);
  if (auto r = boot::create_device_dir(tmp, config); !r) return r;
  auto hd = boot::load_device(tmp);
  if (!hd) return std::unexpected(hd.error());
  if (auto r = boot::provision(**hd, f.provisioning); !r) return r;
  if (auto r = boot::save_device(tmp, **hd); !r) return r;
  if (auto r = agent::install_update_roots(tmp, a.image_root, a.director_root); !r) return r;
  auto issued = f.ca->issue(serial, a.hardware_id);
  if (!issued) return std::unexpected(issued.error());
  const auto paths = pki::identity_paths(tmp);
  fs::create_directories(paths.dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create ", paths.dir.string(), ": ", ec.message());
  fs::permissions(paths.dir, fs::perms::owner_all, ec);
  if (auto r = write_private(paths.key, issued->key_pem); !r) return r;
  if (auto r = write_file_atomic(paths.certificate, as_bytes(issued->cert_pem)); !r) return r;
  if (auto r = write_file_atomic(paths.chain, as_bytes(f.ca->pem())); !r) return r;
  if (auto r = write_file_atomic(paths.anchors, as_bytes(f.anchors_pem)); !r) return r;
  fs::rename(tmp, dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot rename ", tmp.string(), ": ", ec.message());
  return {};
}

Result<Factory> load_factory(const SimArgs& a) {
  auto need = [](const std::string& v, const char* opt) -> Result<void> {
    if (v.empty()) {
      return fail(ErrorCode::kInvalidArgument, "devices to create: ", opt,
                  " is required (or create them in an earlier run)");
    }
    return {};
  };
  for (auto [v, opt] : {std::pair{&a.stage2, "--stage2"}, {&a.firmware, "--firmware"},
                        {&a.image_root, "--image-root"}, {&a.director_root, "--director-root"},
                        {&a.ca_cert, "--device-ca"}, {&a.ca_key, "--device-ca-key"},
                        {&a.anchors, "--anchors"}, {&a.hardware_id, "--hardware-id"}}) {
    if (auto r = need(*v, opt); !r) return std::unexpected(r.error());
  }
  if (a.root_keys.empty()) return fail(ErrorCode::kInvalidArgument, "--root-key is required");
  Factory f;
  f.config.slot_size = a.slot_size;
  f.config.stage2_size = a.stage2_size;
  f.config.trial_attempts = static_cast<std::uint8_t>(a.attempts);
  f.config.hardware_id = a.hardware_id;
  for (const auto& k : a.root_keys) {
    auto key = crypto::PublicKey::load(k);
    if (!key) return std::unexpected(key.error());
    f.provisioning.root_keys.push_back(*key);
  }
  auto s2 = read_file(a.stage2);
  if (!s2) return std::unexpected(s2.error());
  auto fw = read_file(a.firmware);
  if (!fw) return std::unexpected(fw.error());
  f.provisioning.stage2_image = std::move(*s2);
  f.provisioning.firmware_image = std::move(*fw);
  auto anchors = read_file(a.anchors);
  if (!anchors) return std::unexpected(anchors.error());
  f.anchors_pem.assign(anchors->begin(), anchors->end());
  return f;
}

// ---- The in-process power cycle --------------------------------------------------------------

bool unhealthy(const SimArgs& a, const std::string& version) {
  const std::string bare = version.substr(0, version.find('+'));
  return std::any_of(a.unhealthy_versions.begin(), a.unhealthy_versions.end(),
                     [&](const std::string& v) { return v == version || v == bare; });
}

// Bootloader, then the "firmware": a health check (failing on purpose for --unhealthy-version)
// and, on a trial boot that passed it, confirmation through the boot core. Returns the
// firmware's exit status as plc-runtime would: 0 healthy, 1 health check failed.
Result<int> power_cycle(const SimArgs& a, const fs::path& dir) {
  auto hd = boot::load_device(dir);
  if (!hd) return std::unexpected(hd.error());
  boot::RamLoader loader;
  boot::BootReport report;
  boot::power_on((*hd)->device(), &loader, &report);
  if (auto saved = boot::save_device(dir, **hd); !saved) return std::unexpected(saved.error());
  if (report.outcome == boot::BootOutcome::kRecovery) {
    return fail(ErrorCode::kNotTrusted, dir.string(), ": device is in recovery: ",
                boot::check_name(report.reason));
  }
  if (report.outcome == boot::BootOutcome::kPowerLost) return 128;
  if (unhealthy(a, image::format_version(report.info.header.version))) return 1;
  if (report.outcome != boot::BootOutcome::kTrial) return 0;
  const auto r = boot::confirm((*hd)->device(), report.slot);
  if (auto saved = boot::save_device(dir, **hd); !saved) return std::unexpected(saved.error());
  return r == boot::ConfirmResult::kConfirmed || r == boot::ConfirmResult::kAlreadyConfirmed ? 0
                                                                                              : 1;
}

// ---- The fleet -----------------------------------------------------------------------------------

struct SimDevice {
  std::string serial;
  fs::path dir;
  std::unique_ptr<agent::Agent> agent;
  std::string outcome;  // of the last successful cycle
  std::string target;
  std::string error;    // of the last failed cycle
  std::uint32_t cycles = 0;
  std::uint32_t errors = 0;
  bool done = false;
};

// Runs `work(i)` for i in [0, n) on `threads` threads; returns the first error.
Result<void> parallel_for(std::uint32_t n, std::uint32_t threads,
                          const std::function<Result<void>(std::uint32_t)>& work) {
  std::atomic<std::uint32_t> next{0};
  std::mutex m;
  std::optional<Error> first;
  std::vector<std::thread> pool;
  for (std::uint32_t t = 0; t < std::max<std::uint32_t>(1, std::min(threads, n)); ++t) {
    pool.emplace_back([&] {
      for (std::uint32_t i = next++; i < n; i = next++) {
        auto r = work(i);
        if (!r) {
          std::lock_guard lock(m);
          if (!first) first = r.error();
          next = n;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  if (first) return std::unexpected(*first);
  return {};
}

bool reached(const SimArgs& a, const SimDevice& d) {
  if (!a.until_target.empty()) {
    return d.target == a.until_target && (d.outcome == "confirmed" || d.outcome == "up_to_date");
  }
  return a.cycles != 0 && d.cycles >= a.cycles;
}

Result<void> run_simulation(const SimArgs& a) {
  if (a.devices == 0) return fail(ErrorCode::kInvalidArgument, "--devices must be at least 1");
  if (a.attempts == 0 || a.attempts > 255) {
    return fail(ErrorCode::kInvalidArgument, "--attempts must be 1..255");
  }
  if (!a.setup_only && a.until_target.empty() && a.cycles == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "say when to stop: --until-target TARGET, --cycles N or --setup-only");
  }
  // Every device holds a keep-alive connection, and a cycle opens a few more.
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  const auto t0 = Clock::now();
  auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  std::vector<SimDevice> fleet(a.devices);
  std::vector<std::uint32_t> missing;
  for (std::uint32_t i = 0; i < a.devices; ++i) {
    fleet[i].serial = serial_of(a, i);
    fleet[i].dir = fs::path(a.dir) / fleet[i].serial;
    if (!fs::exists(fleet[i].dir / "device.json")) missing.push_back(i);
  }
  if (!missing.empty()) {
    auto factory = load_factory(a);
    if (!factory) return std::unexpected(factory.error());
    auto ca = TestCa::load(a.ca_cert, a.ca_key);
    if (!ca) return std::unexpected(ca.error());
    factory->ca = &*ca;
    std::error_code ec;
    fs::create_directories(a.dir, ec);
    auto made = parallel_for(static_cast<std::uint32_t>(missing.size()), a.parallel,
                             [&](std::uint32_t k) -> Result<void> {
                               const auto& d = fleet[missing[k]];
                               return make_device(a, *factory, d.serial, d.dir);
                             });
    if (!made) return made;
  }
  const double setup_s = seconds_since(t0);
  std::uint32_t registered = 0;
  if (a.register_devices) {
    Registrar reg(a);
    if (auto r = reg.check(); !r) return r;
    for (const auto& d : fleet) {
      auto r = reg.add(d.serial, a.hardware_id, a.group);
      if (!r) return std::unexpected(r.error());
      registered += *r ? 1 : 0;
    }
  }
  const double register_s = seconds_since(t0) - setup_s;
  if (!a.json) {
    std::cout << "fleet " << a.dir << ": " << a.devices << " device(s), " << missing.size()
              << " created in " << setup_s << " s";
    if (a.register_devices) std::cout << ", " << registered << " newly registered in " << register_s << " s";
    std::cout << "\n" << std::flush;
  }
  if (a.setup_only) {
    if (a.json) {
      print_json({{"devices", a.devices}, {"created", missing.size()}, {"registered", registered},
                  {"setup_s", setup_s}, {"register_s", register_s}});
    }
    return {};
  }
  if (a.server.empty()) return fail(ErrorCode::kInvalidArgument, "--server is required to run");

  std::mutex log_mutex;
  for (auto& d : fleet) {
    const auto paths = pki::identity_paths(d.dir);
    auto key = pki::load_device_tls_key(paths);
    if (!key) return std::unexpected(key.error());
    auto identity = net::ClientIdentity::create(paths.certificate, *key, paths.chain);
    if (!identity) return std::unexpected(identity.error());
    net::TlsClient tls;
    tls.ca_file = paths.anchors;
    tls.identity = std::make_shared<const net::ClientIdentity>(std::move(*identity));
    auto client = agent::FleetClient::create(a.server, tls);
    if (!client) return std::unexpected(client.error());
    agent::AgentOptions opt;
    opt.device_dir = d.dir;
    opt.reboot = [&a, dir = d.dir] { return power_cycle(a, dir); };
    if (a.verbose) {
      opt.log = [&log_mutex, serial = d.serial](const std::string& line) {
        std::lock_guard lock(log_mutex);
        std::cerr << serial << ": " << line << "\n";
      };
    }
    auto ag = agent::Agent::create(std::move(opt), std::move(*client));
    if (!ag) return std::unexpected(ag.error());
    d.agent = std::move(*ag);
  }

  // Scheduler: each device is due at a time; workers take the earliest due device, run one
  // cycle, and put it back `interval` (jittered 0.8..1.2) later, or with backoff after an error.
  using Due = std::pair<Clock::time_point, std::uint32_t>;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> queue;
  std::mutex m;
  std::condition_variable cv;
  std::mt19937 rng(std::random_device{}());
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(a.timeout));
  auto after = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  // First check-ins spread over one interval, as a fleet powered on at different times.
  for (std::uint32_t i = 0; i < a.devices; ++i) {
    queue.emplace(start + after(std::uniform_real_distribution<double>(0, a.interval)(rng)), i);
  }
  std::uint32_t remaining = a.devices;
  std::uint64_t total_cycles = 0;
  std::uint64_t total_errors = 0;
  double all_reached_s = -1;
  bool stop = false;
  auto worker = [&] {
    std::unique_lock lock(m);
    while (!stop) {
      if (queue.empty()) {
        cv.wait(lock);
        continue;
      }
      const auto due = queue.top().first;
      if (Clock::now() >= deadline) {
        stop = true;
        cv.notify_all();
        break;
      }
      if (due > Clock::now()) {
        cv.wait_until(lock, std::min(due, deadline));
        continue;
      }
      const std::uint32_t i = queue.top().second;
      queue.pop();
      SimDevice& d = fleet[i];
      lock.unlock();
      auto r = d.agent->cycle();
      lock.lock();
      double wait = a.interval * std::uniform_real_distribution<double>(0.8, 1.2)(rng);
      if (r) {
        ++d.cycles;
        ++total_cycles;
        d.outcome = r->outcome;
        d.target = r->target;
        d.errors = 0;
        if (a.verbose) {
          std::lock_guard l2(log_mutex);
          std::cerr << d.serial << ": " << r->outcome << " " << r->target << " " << r->reason << "\n";
        }
      } else {
        ++total_errors;
        ++d.errors;
        d.error = r.error().message;
        wait = std::min(a.max_backoff,
                          a.interval * std::pow(2.0, std::min<std::uint32_t>(d.errors, 16)));
        if (a.verbose) {
          std::lock_guard l2(log_mutex);
          std::cerr << d.serial << ": cycle failed: " << d.error << "\n";
        }
      }
      if (!d.done && reached(a, d)) {
        d.done = true;
        if (--remaining == 0) {
          all_reached_s = std::chrono::duration<double>(Clock::now() - start).count();
          stop = true;
          cv.notify_all();
          break;
        }
      }
      queue.emplace(Clock::now() + after(wait), i);
      cv.notify_one();
    }
  };
  std::vector<std::thread> pool;
  for (std::uint32_t t = 0; t < std::max<std::uint32_t>(1, std::min(a.parallel, a.devices)); ++t) {
    pool.emplace_back(worker);
  }
  for (auto& t : pool) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  std::map<std::string, std::uint32_t> outcomes;
  std::map<std::string, std::uint32_t> errors;
  for (const auto& d : fleet) {
    ++outcomes[d.outcome.empty() ? "none" : d.outcome + (d.target.empty() ? "" : " " + d.target)];
    if (!d.done && d.errors > 0) ++errors[d.error];
  }
  const bool ok = remaining == 0;
  if (a.json) {
    nlohmann::json j{{"devices", a.devices},
                     {"reached", a.devices - remaining},
                     {"all_reached_s", all_reached_s},
                     {"elapsed_s", elapsed},
                     {"cycles", total_cycles},
                     {"cycle_errors", total_errors},
                     {"outcomes", outcomes},
                     {"errors", errors}};
    print_json(j);
  } else {
    std::cout << a.devices - remaining << "/" << a.devices << " device(s) reached "
              << (a.until_target.empty() ? std::to_string(a.cycles) + " cycle(s)"
                                         : a.until_target + " (confirmed)")
              << " in " << elapsed << " s; " << total_cycles << " cycle(s), " << total_errors
              << " failed cycle(s)\n";
    for (const auto& [k, v] : outcomes) std::cout << "  last outcome " << k << ": " << v << "\n";
    for (const auto& [k, v] : errors) std::cout << "  last error (" << v << "): " << k << "\n";
  }
  if (!ok) {
    return fail(ErrorCode::kIo, std::to_string(remaining), " device(s) did not reach the goal within ",
                std::to_string(a.timeout), " s");
  }
  return {};
}

}  // namespace

void register_simulate_commands(CLI::App& app) {
  CLI::App* fleet = app.get_subcommand("fleet");
  auto a = std::make_shared<SimArgs>();
  CLI::App* sim = fleet->add_subcommand(
      "simulate", "Drive N simulated devices in this one process against a fleet server (scale tests).");
  sim->footer(
      "Each device is a device directory under DIR (flash, OTP, boot state, identity/) with its\n"
      "own key and certificate, and runs the real agent: check-in over mutual TLS, director,\n"
      "streaming install, trial boot, reports. The power cycle is in-process: the boot core's\n"
      "power-on, then a 'firmware' that runs its health check and confirms a trial; it fails\n"
      "its health check on purpose for --unhealthy-version.\n"
      "Devices missing under DIR are created first (small slots), with keys and certificates\n"
      "from a TEST CA (--device-ca/--device-ca-key); --register registers them over the\n"
      "operator API (IRONSEAL_FLEET_URL/TOKEN/CACERT as for the other fleet commands).\n\n"
      "Example:\n"
      "  ironseal fleet simulate --devices 1000 --dir sim --server https://127.0.0.1:8443 \\\n"
      "    --hardware-id plc-x1 --root-key fw.pub --stage2 s2.img --firmware v1.img \\\n"
      "    --image-root repo/image/metadata/1.root.json \\\n"
      "    --director-root repo/director/metadata/1.root.json \\\n"
      "    --device-ca device-ca.pem --device-ca-key device-ca.key --anchors root.pem \\\n"
      "    --register --group sim --until-target v2.img --interval 2");
  sim->add_option("--devices", a->devices, "Number of devices")->required();
  sim->add_option("--dir", a->dir, "Directory holding one device directory per serial")->required();
  sim->add_option("--server", a->server, "Device API base URL (https://host:port)");
  sim->add_option("--serial-prefix", a->serial_prefix, "Serials are PREFIX00001... (default SIM-)");
  sim->add_option("--hardware-id", a->hardware_id, "Hardware id of the simulated devices");
  sim->add_option("--group", a->group, "Group to register the devices in (default: default)");
  auto* setup = "Set-up (devices missing under DIR)";
  sim->add_option("--root-key", a->root_keys, "Root public key to fuse (repeatable)")->group(setup);
  sim->add_option("--stage2", a->stage2, "Signed stage-2 image")->group(setup);
  sim->add_option("--firmware", a->firmware, "Signed first firmware (slot A, confirmed)")->group(setup);
  sim->add_option("--image-root", a->image_root, "Image repository root.json")->group(setup);
  sim->add_option("--director-root", a->director_root, "Director root.json")->group(setup);
  sim->add_option("--device-ca", a->ca_cert, "TEST device CA certificate (PEM)")->group(setup);
  sim->add_option("--device-ca-key", a->ca_key, "TEST device CA key (PEM, 0600)")->group(setup);
  sim->add_option("--anchors", a->anchors, "Trust anchors for the server (PEM)")->group(setup);
  sim->add_option("--slot-size", a->slot_size, "Slot size in bytes (default 64 KiB)")->group(setup);
  sim->add_option("--stage2-size", a->stage2_size, "Stage-2 area in bytes (default 16 KiB)")->group(setup);
  sim->add_option("--attempts", a->attempts, "Trial boot attempts (default 2)")->group(setup);
  sim->add_flag("--register", a->register_devices, "Register every device over the operator API")
      ->group(setup);
  sim->add_option("--operator", a->operator_url, "Operator API URL (or IRONSEAL_FLEET_URL)")->group(setup);
  sim->add_option("--token", a->token, "Operator token (or IRONSEAL_FLEET_TOKEN)")->group(setup);
  sim->add_option("--cacert", a->cacert, "CA for the operator API (or IRONSEAL_FLEET_CACERT)")->group(setup);
  auto* run = "Run";
  sim->add_option("--parallel", a->parallel, "Devices cycling at once (threads; default 16)")
      ->check(CLI::Range(1u, 1024u))->group(run);
  sim->add_option("--interval", a->interval, "Seconds between a device's check-ins (default 2)")
      ->check(CLI::Range(0.0, 3600.0))->group(run);
  sim->add_option("--max-backoff", a->max_backoff,
                  "Longest wait after failed cycles, seconds (doubling from --interval; default 60)")
      ->check(CLI::Range(0.0, 3600.0))->group(run);
  sim->add_option("--until-target", a->until_target,
                  "Stop when every device has this target confirmed")->group(run);
  sim->add_option("--cycles", a->cycles, "Stop when every device has run N cycles")->group(run);
  sim->add_option("--timeout", a->timeout, "Give up after this many seconds (exit 3; default 600)")
      ->group(run);
  sim->add_option("--unhealthy-version", a->unhealthy_versions,
                  "Firmware version whose health check fails (repeatable)")->group(run);
  sim->add_flag("--setup-only", a->setup_only, "Create and register, then exit")->group(run);
  sim->add_flag("--json", a->json, "Print a JSON summary")->group(run);
  sim->add_flag("-v,--verbose", a->verbose, "Log every step of every device")->group(run);
  set_action(sim, [a]() -> Result<void> { return run_simulation(*a); });
}

}  // namespace ironseal::cli
