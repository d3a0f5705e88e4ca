// LoginThrottle: who may have an operator password checked now (IEC 62443-4-2 CR 1.11,
// "unsuccessful login attempts"; docs/fleet-server.md states the policy).
//
// Failed logins are counted per (peer, account) and per peer, never per account alone: a lock
// that anyone could set on an account from anywhere would let an attacker keep its operators out.
// A peer is the remote address: an IPv4 address, or the /64 prefix of an IPv6 address (one host
// is given a whole /64). A peer may also have only a few password checks queued or running at
// once; the rest are refused at once, so one address cannot occupy the workers that check
// passwords.
//
// Memory is bounded: at most `max_peers` peer entries and `max_pairs` (peer, account) entries.
// When a table is full, the entry used longest ago goes (refusals count as use, so a peer that
// keeps trying keeps its lock); evicting a locked peer takes more fresh addresses than the
// table holds, and each of those has its own small budget anyway.
//
// Thread-safe. Times are unix seconds, passed in (the service's clock), so tests set them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace ironseal::fleet {

struct LoginPolicy {
  int account_failures = 5;  // failures in a row per (peer, account) before its lock
  std::int64_t account_lock_s = 30;
  int peer_failures = 20;  // failures per peer, whatever the account names
  std::int64_t peer_lock_s = 60;
  std::int64_t forget_after_s = 900;  // a failure count idle this long starts again from zero
  int peer_in_flight = 2;             // password checks queued or running per peer
  std::size_t max_peers = 4096;
  std::size_t max_pairs = 16384;
};

// Why an attempt is refused before its password is checked (the "reason" of a 429).
enum class LoginRefusal {
  kNone,
  kAccountLocked,  // too many failures for this account from this peer
  kPeerLocked,     // too many failures from this peer
  kPeerBusy,       // too many password checks in flight from this peer
};
std::string_view login_refusal_name(LoginRefusal refusal);

class LoginThrottle {
 public:
  // An admitted attempt: holds one of its peer's in-flight places until record() or until it is
  // destroyed unrecorded (the check was never run).
  class Ticket {
   public:
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket();

   private:
    friend class LoginThrottle;
    Ticket(LoginThrottle* owner, std::string peer, std::string account);
    LoginThrottle* owner_;
    std::string peer_;
    std::string account_;
  };

  struct Decision {
    LoginRefusal refusal = LoginRefusal::kNone;
    std::int64_t retry_after_s = 0;
    // The first refusal since this lock began: audit it; later ones are only counted, so a flood
    // of refused attempts costs no database writes.
    bool first_refusal = false;
    std::optional<Ticket> ticket;  // set exactly when admitted (refusal == kNone)
  };

  explicit LoginThrottle(LoginPolicy policy = {});
  ~LoginThrottle();
  LoginThrottle(const LoginThrottle&) = delete;
  LoginThrottle& operator=(const LoginThrottle&) = delete;

  // May `account` be tried from the remote address `peer` now?
  Decision admit(std::string_view peer, std::string_view account, std::int64_t now);

  // The outcome of an admitted attempt. Returns the lock the failure started (kAccountLocked or
  // kPeerLocked), else kNone. A success clears the (peer, account) count, not the peer's.
  LoginRefusal record(Ticket ticket, bool success, std::int64_t now);

  // Entries held (for the memory bound and tests).
  std::size_t peer_entries() const;
  std::size_t pair_entries() const;

  // The peer an address counts as: IPv4 as is (also when IPv4-mapped), IPv6 as its /64.
  static std::string peer_key(std::string_view address);

  const LoginPolicy& policy() const { return policy_; }

 private:
  struct Tables;
  void release(const std::string& peer);

  LoginPolicy policy_;
  mutable std::mutex mutex_;
  std::unique_ptr<Tables> tables_;
};

}  // namespace ironseal::fleet
