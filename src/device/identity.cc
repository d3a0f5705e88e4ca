#include "device/identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "core/file.h"
#include "device/host_device.h"
#include "tpm/device_key.h"

namespace ironseal::pki {

namespace fs = std::filesystem;

IdentityPaths identity_paths(const fs::path& device_dir) {
  const fs::path d = device_dir / "identity";
  return {d,
          d / "device.key.pem",
          d / "device.key.tss2.pem",
          d / "device.csr.pem",
          d / "device.cert.pem",
          d / "chain.pem",
          d / "anchors.pem"};
}

std::string_view key_backend_name(KeyBackend b) {
  return b == KeyBackend::kFile ? "file" : "tpm";
}

Result<DeviceName> read_device_name(const fs::path& device_dir) {
  const fs::path description = boot::device_files(device_dir).description;
  auto text = read_file(description);
  if (!text) {
    return fail_in(text.error(), device_dir.string(),
                " is not a device directory: ");
  }
  DeviceName name;
  try {
    const auto j = nlohmann::json::parse(text->begin(), text->end());
    name.serial = j.value("serial", "");
    name.hardware_id = j.value("hardware_id", "");
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::kMalformed, description.string(), ": ", e.what());
  }
  if (name.serial.empty() || name.hardware_id.empty()) {
    return fail(ErrorCode::kInvalidArgument, device_dir.string(),
                " has no serial or hardware id (set them with `ironseal device init --serial S "
                "--hardware-id H`)");
  }
  if (auto r = check_identifier("serial", name.serial); !r) return std::unexpected(r.error());
  if (auto r = check_identifier("hardware id", name.hardware_id); !r) {
    return std::unexpected(r.error());
  }
  return name;
}

namespace {

// The TPM key as a KeyPair: signatures (CSR, decommission record, TLS) are made by the TPM.
Result<KeyPair> adopt_tpm_key(Result<tpm::PkeyPtr> key) {
  if (!key) return std::unexpected(key.error());
  auto usable = tpm::default_context_key(std::move(*key));
  if (!usable) return std::unexpected(usable.error());
  return KeyPair::adopt_evp(usable->release());
}

// A TPM that cannot be reached is named as such, with the provider's words after it.
Error tpm_unavailable(const Error& e) {
  return make_error(ErrorCode::kUnsupported, "tpm_unavailable", e.message);
}

}  // namespace

Result<KeyBackend> device_key_backend(const IdentityPaths& paths) {
  const bool file = fs::exists(paths.key);
  const bool tpm = fs::exists(paths.tpm_key);
  if (file && tpm) {
    return fail(ErrorCode::kMalformed, paths.dir.string(), " holds both a file and a TPM key");
  }
  if (file) return KeyBackend::kFile;
  if (tpm) return KeyBackend::kTpm;
  return fail(ErrorCode::kNotFound, "no device key in ", paths.dir.string(),
              " (run `ironseal provision key`)");
}

Result<KeyPair> create_device_key(const IdentityPaths& paths, KeyBackend backend) {
  if (fs::exists(paths.key) || fs::exists(paths.tpm_key)) {
    return fail(ErrorCode::kInvalidArgument, "the device already has a key in ", paths.dir.string(),
                "; a device key is never replaced silently");
  }
  if (backend == KeyBackend::kTpm) {
    if (auto ctx = tpm::library_context(); !ctx)
      return std::unexpected(tpm_unavailable(ctx.error()));
    // Generated inside the TPM; only the TPM-wrapped blob is written (0600).
    return adopt_tpm_key(tpm::generate_device_key(paths.tpm_key));
  }
  auto key = KeyPair::generate_p256();
  if (!key) return std::unexpected(key.error());
  if (auto r = key->save(paths.key); !r) return std::unexpected(r.error());
  return key;
}

Result<KeyPair> load_device_key(const IdentityPaths& paths) {
  auto backend = device_key_backend(paths);
  if (!backend) return std::unexpected(backend.error());
  if (*backend == KeyBackend::kTpm) {
    if (auto ctx = tpm::library_context(); !ctx)
      return std::unexpected(tpm_unavailable(ctx.error()));
    return adopt_tpm_key(tpm::load_device_key(paths.tpm_key));
  }
  return KeyPair::load(paths.key);
}

Result<void> destroy_device_key(const IdentityPaths& paths) {
  auto backend = device_key_backend(paths);
  if (!backend) return std::unexpected(backend.error());
  // A TPM key exists only as its wrapped blob (it is never made persistent in the TPM, and the
  // provider flushes the transient object when the key is freed): wiping the blob destroys it.
  return wipe_file(*backend == KeyBackend::kTpm ? paths.tpm_key : paths.key);
}

Result<ProvisionedKey> provision_key(const fs::path& device_dir, KeyBackend backend) {
  auto name = read_device_name(device_dir);
  if (!name) return std::unexpected(name.error());
  const IdentityPaths paths = identity_paths(device_dir);
  std::error_code ec;
  fs::create_directories(paths.dir, ec);
  if (ec || ::chmod(paths.dir.c_str(), 0700) != 0) {
    return fail(ErrorCode::kIo, "cannot create ", paths.dir.string());
  }
  auto key = create_device_key(paths, backend);
  if (!key) return std::unexpected(key.error());
  auto csr = CertificateRequest::for_device(*key, *name);
  if (!csr) return std::unexpected(csr.error());
  if (auto r = write_file_atomic(paths.csr, as_bytes(csr->to_pem())); !r) {
    return std::unexpected(r.error());
  }
  return ProvisionedKey{*name, backend, std::move(*csr)};
}

Result<void> wipe_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail(ErrorCode::kIo, "cannot open ", path.string(), " to wipe it");
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0;
  const std::vector<unsigned char> zeros(4096, 0);
  off_t left = ok ? st.st_size : 0;
  while (ok && left > 0) {
    const size_t n = static_cast<size_t>(std::min<off_t>(left, static_cast<off_t>(zeros.size())));
    const ssize_t w = ::write(fd, zeros.data(), n);
    ok = w > 0;
    if (ok) left -= w;
  }
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok) return fail(ErrorCode::kIo, "cannot overwrite ", path.string());
  if (::unlink(path.c_str()) != 0) return fail(ErrorCode::kIo, "cannot unlink ", path.string());
  const int dir = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(),
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

Result<std::shared_ptr<EVP_PKEY>> load_device_tls_key(const IdentityPaths& paths) {
  auto key = load_device_key(paths);
  if (!key) return std::unexpected(key.error());
  return key->shared_evp_key();
}

Result<Certificate> issue_device_identity(const DeviceIssuer& issuer, const fs::path& device_dir,
                                          const DeviceName& device, std::string_view anchors_pem,
                                          UnixTime now) {
  const IdentityPaths paths = identity_paths(device_dir);
  std::error_code ec;
  fs::create_directories(paths.dir, ec);
  if (ec || ::chmod(paths.dir.c_str(), 0700) != 0) {
    return fail(ErrorCode::kIo, "cannot create ", paths.dir.string());
  }
  auto key = create_device_key(paths, KeyBackend::kFile);
  if (!key) return std::unexpected(key.error());
  auto cert = issuer.issue(*key, device, now);
  if (!cert) return std::unexpected(cert.error());
  if (auto r = write_pem_bundle(paths.certificate, {*cert}); !r) return std::unexpected(r.error());
  if (auto r = write_pem_bundle(paths.chain, issuer.chain()); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = write_file_atomic(paths.anchors, as_bytes(anchors_pem)); !r) {
    return std::unexpected(r.error());
  }
  return cert;
}

}  // namespace ironseal::pki
