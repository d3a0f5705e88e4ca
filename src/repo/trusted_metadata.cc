#include "repo/trusted_metadata.h"

#include <ctime>

#include "repo/signature.h"

namespace ironseal::repo {

Clock system_clock() {
  return [] { return static_cast<std::int64_t>(::time(nullptr)); };
}

namespace {

std::string v(std::uint64_t n) { return std::to_string(n); }

std::unexpected<TufError> expired(std::string_view role, std::int64_t expires) {
  return refuse(Reason::kExpired, role, " metadata expired at ", format_utc_time(expires));
}

}  // namespace

TufResult<TrustedMetadata> TrustedMetadata::from_root(ByteView root_bytes, Clock now) {
  auto root = parse_root(root_bytes);
  if (!root) return std::unexpected(root.error());
  const Root& r = root->role;
  if (auto ok = verify_threshold("root", r.role("root"), r.keys, root->signatures,
                                 root->canonical_signed);
      !ok) {
    return std::unexpected(ok.error());
  }
  return TrustedMetadata(std::move(*root), std::move(now));
}

TufResult<void> TrustedMetadata::update_root(ByteView bytes) {
  if (timestamp_) return refuse(Reason::kState, "root cannot change after timestamp is loaded");
  auto next = parse_root(bytes);
  if (!next) return std::unexpected(next.error());
  const Root& old_root = root_.role;
  // 5.3.5: signed by a threshold of the trusted root's keys ...
  if (auto ok = verify_threshold("root (old keys)", old_root.role("root"), old_root.keys,
                                 next->signatures, next->canonical_signed);
      !ok) {
    return std::unexpected(ok.error());
  }
  // 5.3.6: ... and of its own.
  if (auto ok = verify_threshold("root (new keys)", next->role.role("root"), next->role.keys,
                                 next->signatures, next->canonical_signed);
      !ok) {
    return std::unexpected(ok.error());
  }
  // 5.3.7 (after the signatures, as the spec orders it): exactly version N+1.
  if (next->role.version != old_root.version + 1) {
    return refuse(next->role.version <= old_root.version ? Reason::kRollback
                                                         : Reason::kVersionMismatch,
                  "root version ", v(next->role.version), " where ", v(old_root.version + 1),
                  " was expected");
  }
  root_ = std::move(*next);
  return {};
}

TufResult<TrustedMetadata::Update> TrustedMetadata::update_timestamp(ByteView bytes) {
  if (snapshot_) return refuse(Reason::kState, "timestamp cannot change after snapshot is loaded");
  // 5.3.10: the final root must not be expired (checked here, after any root rotation).
  if (root_.role.expired_at(now_())) return expired("root", root_.role.expires);
  auto next = parse_timestamp(bytes);
  if (!next) return std::unexpected(next.error());
  if (auto ok = verify_threshold("timestamp", root_.role.role("timestamp"), root_.role.keys,
                                 next->signatures, next->canonical_signed);
      !ok) {
    return std::unexpected(ok.error());
  }
  if (timestamp_) {
    const Timestamp& old_ts = timestamp_->role;
    if (next->role.version < old_ts.version) {
      return refuse(Reason::kRollback, "timestamp version ", v(next->role.version),
                    " is older than trusted version ", v(old_ts.version));
    }
    if (next->role.version == old_ts.version) return Update::kUnchanged;
    if (next->role.snapshot_meta.version < old_ts.snapshot_meta.version) {
      return refuse(Reason::kRollback, "timestamp names snapshot version ",
                    v(next->role.snapshot_meta.version), ", older than trusted version ",
                    v(old_ts.snapshot_meta.version));
    }
  }
  timestamp_ = std::move(*next);
  if (auto ok = check_timestamp_final(); !ok) return std::unexpected(ok.error());
  return Update::kAccepted;
}

TufResult<void> TrustedMetadata::check_timestamp_final() const {
  if (timestamp_->role.expired_at(now_())) return expired("timestamp", timestamp_->role.expires);
  return {};
}

TufResult<void> TrustedMetadata::update_snapshot(ByteView bytes, bool from_local_cache) {
  if (!timestamp_) return refuse(Reason::kState, "snapshot needs a trusted timestamp first");
  if (!targets_.empty()) return refuse(Reason::kState, "snapshot cannot change after targets");
  if (auto ok = check_timestamp_final(); !ok) return std::unexpected(ok.error());
  const MetaFile& expected = timestamp_->role.snapshot_meta;
  if (!from_local_cache) {
    if (auto ok = verify_length_and_hashes(bytes, expected.length, expected.hashes, "snapshot");
        !ok) {
      return std::unexpected(ok.error());
    }
  }
  auto next = parse_snapshot(bytes);
  if (!next) return std::unexpected(next.error());
  if (auto ok = verify_threshold("snapshot", root_.role.role("snapshot"), root_.role.keys,
                                 next->signatures, next->canonical_signed);
      !ok) {
    return std::unexpected(ok.error());
  }
  if (snapshot_) {
    // 5.5.5: every targets role the trusted snapshot lists is still listed, never older.
    for (const auto& [name, old_meta] : snapshot_->role.meta) {
      auto it = next->role.meta.find(name);
      if (it == next->role.meta.end()) {
        return refuse(Reason::kMissingMeta, "new snapshot drops ", name);
      }
      if (it->second.version < old_meta.version) {
        return refuse(Reason::kRollback, "snapshot rolls ", name, " back from version ",
                      v(old_meta.version), " to ", v(it->second.version));
      }
    }
  }
  snapshot_ = std::move(*next);
  return check_snapshot_final();
}

TufResult<void> TrustedMetadata::check_snapshot_final() const {
  const Snapshot& snap = snapshot_->role;
  if (snap.expired_at(now_())) return expired("snapshot", snap.expires);
  if (snap.version != timestamp_->role.snapshot_meta.version) {
    return refuse(Reason::kVersionMismatch, "snapshot version ", v(snap.version),
                  " but timestamp names version ", v(timestamp_->role.snapshot_meta.version));
  }
  return {};
}

TufResult<void> TrustedMetadata::verify_delegation(const std::string& role,
                                                   const std::string& delegator,
                                                   const std::vector<Signature>& sigs,
                                                   const std::string& canonical) const {
  if (delegator == "root") {
    if (role != "targets") return refuse(Reason::kState, "root delegates only targets");
    return verify_threshold("targets", root_.role.role("targets"), root_.role.keys, sigs,
                            canonical);
  }
  const Targets* parent = targets(delegator);
  if (parent == nullptr) return refuse(Reason::kState, "delegator ", delegator, " is not trusted");
  if (parent->delegations) {
    for (const auto& d : parent->delegations->roles) {
      if (d.name == role) {
        return verify_threshold(role, d.keys, parent->delegations->keys, sigs, canonical);
      }
    }
  }
  return refuse(Reason::kThresholdNotMet, delegator, " does not delegate to ", role);
}

TufResult<void> TrustedMetadata::update_targets(const std::string& role,
                                                const std::string& delegator, ByteView bytes) {
  if (!snapshot_) return refuse(Reason::kState, "targets need a trusted snapshot first");
  if (auto ok = check_snapshot_final(); !ok) return std::unexpected(ok.error());
  auto meta = snapshot_->role.meta.find(role + ".json");
  if (meta == snapshot_->role.meta.end()) {
    return refuse(Reason::kMissingMeta, "snapshot does not list ", role);
  }
  if (auto ok = verify_length_and_hashes(bytes, meta->second.length, meta->second.hashes, role);
      !ok) {
    return std::unexpected(ok.error());
  }
  auto next = parse_targets(bytes);
  if (!next) return std::unexpected(next.error());
  if (auto ok = verify_delegation(role, delegator, next->signatures, next->canonical_signed);
      !ok) {
    return std::unexpected(ok.error());
  }
  if (next->role.version != meta->second.version) {
    return refuse(Reason::kVersionMismatch, role, " version ", v(next->role.version),
                  " but snapshot names version ", v(meta->second.version));
  }
  if (next->role.expired_at(now_())) return expired(role, next->role.expires);
  targets_.insert_or_assign(role, std::move(*next));
  return {};
}

TufResult<void> TrustedMetadata::verify_targets_via(const std::string& role,
                                                    const std::string& delegator) const {
  auto it = targets_.find(role);
  if (it == targets_.end()) return refuse(Reason::kState, role, " is not trusted");
  return verify_delegation(role, delegator, it->second.signatures, it->second.canonical_signed);
}

const Targets* TrustedMetadata::targets(const std::string& role) const {
  auto it = targets_.find(role);
  return it == targets_.end() ? nullptr : &it->second.role;
}

}  // namespace ironseal::repo
