// TrustedMetadata: the set of metadata a TUF client trusts, and the only way to grow it. It
// implements the verification half of the TUF client workflow (specification 1.0.x, section 5)
// over bytes the caller fetched: every update_* runs the spec's checks in the spec's order and
// either accepts the new metadata into the set or refuses it with a Reason. No I/O, no network:
// the Updater (updater.h) fetches and persists; the clock is passed in.
//
// Order is enforced: root updates only before a timestamp is loaded, timestamp before snapshot,
// snapshot before targets, a delegated role only after its delegator. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "core/bytes.h"
#include "repo/error.h"
#include "repo/metadata.h"

namespace ironseal::repo {

using Clock = std::function<std::int64_t()>;  // seconds since the Unix epoch
Clock system_clock();                          // time(2): honours faketime in tests

class TrustedMetadata {
 public:
  // 5.2: the starting root must be signed by a threshold of its own root keys. Its expiry is not
  // checked here (an expired trusted root may still be rotated forward).
  static TufResult<TrustedMetadata> from_root(ByteView root_bytes, Clock now);

  // 5.3.4-5.3.8: `bytes` must be root version N+1, signed by a threshold of the trusted root's
  // root keys and of its own. On success it becomes the trusted root.
  TufResult<void> update_root(ByteView bytes);

  enum class Update { kAccepted, kUnchanged };
  // 5.4: the final root must not be expired (5.3.10); signed by the root's timestamp keys; no
  // rollback of its version or of the snapshot version it names. The same version as the trusted
  // one returns kUnchanged and keeps the trusted copy. A new timestamp that is itself expired
  // stays in the set (as the reference for later rollback checks) but is refused with kExpired.
  TufResult<Update> update_timestamp(ByteView bytes);

  // 5.5: length and hashes as timestamp lists them (skipped for `from_local_cache`, which the
  // caller already verified once), signed by the snapshot keys, no targets role dropped or
  // rolled back relative to the trusted snapshot, then not expired and exactly the version the
  // timestamp names. As with timestamp, a snapshot that passes the signature and rollback checks
  // stays as the rollback reference even when the final checks refuse it.
  TufResult<void> update_snapshot(ByteView bytes, bool from_local_cache);

  // 5.6 for "targets" (delegator "root") and 5.6 via 5.7 for a delegated role: listed in the
  // snapshot, length/hashes as snapshot lists them, signed by a threshold of the keys the
  // delegator assigns to `role`, exactly the snapshot's version, not expired.
  TufResult<void> update_targets(const std::string& role, const std::string& delegator,
                                 ByteView bytes);
  // Re-checks the signatures of an already trusted targets role against `delegator`'s
  // delegation (a role reached through a second delegator must earn that delegator's trust too).
  TufResult<void> verify_targets_via(const std::string& role, const std::string& delegator) const;

  const Root& root() const { return root_.role; }
  const Metadata<Root>& root_metadata() const { return root_; }
  const Timestamp* timestamp() const { return timestamp_ ? &timestamp_->role : nullptr; }
  const Snapshot* snapshot() const { return snapshot_ ? &snapshot_->role : nullptr; }
  const Targets* targets(const std::string& role) const;

 private:
  TrustedMetadata(Metadata<Root> root, Clock now) : root_(std::move(root)), now_(std::move(now)) {}
  TufResult<void> check_timestamp_final() const;
  TufResult<void> check_snapshot_final() const;
  TufResult<void> verify_delegation(const std::string& role, const std::string& delegator,
                                    const std::vector<Signature>& sigs,
                                    const std::string& canonical) const;

  Metadata<Root> root_;
  Clock now_;
  std::optional<Metadata<Timestamp>> timestamp_;
  std::optional<Metadata<Snapshot>> snapshot_;
  std::map<std::string, Metadata<Targets>> targets_;
};

}  // namespace ironseal::repo
