// Failed-login throttling per (peer, account) and per peer, in bounded memory (login_throttle.h).
#include "fleet/login_throttle.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <list>
#include <unordered_map>
#include <utility>

namespace ironseal::fleet {
namespace {

// A failure count with its lock.
struct Counter {
  int failures = 0;
  std::int64_t last_failure = 0;
  std::int64_t locked_until = 0;
  bool refusal_reported = false;
};

struct PeerState {
  Counter counter;
  int in_flight = 0;
};

// A map of at most `capacity` entries; finding or inserting a key makes it the most recently
// used, and inserting into a full table drops the least recently used entry.
template <typename Value>
class LruTable {
 public:
  explicit LruTable(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  Value* find(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  Value& find_or_insert(const std::string& key) {
    if (Value* v = find(key)) return *v;
    if (index_.size() >= capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    order_.emplace_front(key, Value{});
    index_.emplace(key, order_.begin());
    return order_.front().second;
  }

  void erase(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    order_.erase(it->second);
    index_.erase(it);
  }

  std::size_t size() const { return index_.size(); }

 private:
  using Entry = std::pair<std::string, Value>;
  std::size_t capacity_;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<std::string, typename std::list<Entry>::iterator> index_;
};

std::string pair_key(const std::string& peer, std::string_view account) {
  std::string key = peer;
  key.push_back('\0');  // neither part can hold a NUL: addresses are text, names JSON strings
  key.append(account);
  return key;
}

// A refusal if `c` is locked at `now`.
bool locked(Counter& c, std::int64_t now, LoginRefusal why, LoginThrottle::Decision* out) {
  if (c.locked_until <= now) return false;
  out->refusal = why;
  out->retry_after_s = c.locked_until - now;
  out->first_refusal = !c.refusal_reported;
  c.refusal_reported = true;
  return true;
}

// Counts one failure; true when it starts a lock.
bool count_failure(Counter& c, int limit, std::int64_t lock_s, std::int64_t forget_after_s,
                   std::int64_t now) {
  if (now - c.last_failure > forget_after_s) c.failures = 0;
  c.last_failure = now;
  if (++c.failures < limit) return false;
  c.failures = 0;
  c.locked_until = now + lock_s;
  c.refusal_reported = false;
  return true;
}

}  // namespace

struct LoginThrottle::Tables {
  Tables(std::size_t peers_capacity, std::size_t pairs_capacity)
      : peers(peers_capacity), pairs(pairs_capacity) {}
  LruTable<PeerState> peers;
  LruTable<Counter> pairs;
};

std::string_view login_refusal_name(LoginRefusal refusal) {
  switch (refusal) {
    case LoginRefusal::kNone: return "none";
    case LoginRefusal::kAccountLocked: return "account_locked_for_peer";
    case LoginRefusal::kPeerLocked: return "peer_locked";
    case LoginRefusal::kPeerBusy: return "peer_busy";
  }
  return "none";
}

LoginThrottle::Ticket::Ticket(LoginThrottle* owner, std::string peer, std::string account)
    : owner_(owner), peer_(std::move(peer)), account_(std::move(account)) {}

LoginThrottle::Ticket::Ticket(Ticket&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      peer_(std::move(other.peer_)),
      account_(std::move(other.account_)) {}

LoginThrottle::Ticket& LoginThrottle::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    if (owner_ != nullptr) owner_->release(peer_);
    owner_ = std::exchange(other.owner_, nullptr);
    peer_ = std::move(other.peer_);
    account_ = std::move(other.account_);
  }
  return *this;
}

LoginThrottle::Ticket::~Ticket() {
  if (owner_ != nullptr) owner_->release(peer_);
}

LoginThrottle::LoginThrottle(LoginPolicy policy)
    : policy_(policy), tables_(std::make_unique<Tables>(policy.max_peers, policy.max_pairs)) {}

LoginThrottle::~LoginThrottle() = default;

std::string LoginThrottle::peer_key(std::string_view address) {
  const std::string text(address);
  unsigned char v6[16];
  if (text.find(':') == std::string::npos || inet_pton(AF_INET6, text.c_str(), v6) != 1) {
    return text;  // IPv4 (or not an address: taken as is)
  }
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char out[64];
  if (std::equal(kMapped, kMapped + 12, v6)) {
    std::snprintf(out, sizeof out, "%u.%u.%u.%u", v6[12], v6[13], v6[14], v6[15]);
    return out;
  }
  std::snprintf(out, sizeof out, "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", v6[0], v6[1], v6[2],
                v6[3], v6[4], v6[5], v6[6], v6[7]);
  return out;
}

LoginThrottle::Decision LoginThrottle::admit(std::string_view address, std::string_view account,
                                             std::int64_t now) {
  const std::string peer = peer_key(address);
  Decision out;
  std::lock_guard lock(mutex_);
  PeerState& p = tables_->peers.find_or_insert(peer);
  if (locked(p.counter, now, LoginRefusal::kPeerLocked, &out)) return out;
  if (Counter* pair = tables_->pairs.find(pair_key(peer, account))) {
    if (locked(*pair, now, LoginRefusal::kAccountLocked, &out)) return out;
  }
  if (p.in_flight >= policy_.peer_in_flight) {
    out.refusal = LoginRefusal::kPeerBusy;
    out.retry_after_s = 1;
    return out;
  }
  ++p.in_flight;
  out.ticket.emplace(Ticket(this, peer, std::string(account)));
  return out;
}

LoginRefusal LoginThrottle::record(Ticket ticket, bool success, std::int64_t now) {
  const std::string peer = std::move(ticket.peer_);
  const std::string account = std::move(ticket.account_);
  ticket.owner_ = nullptr;
  std::lock_guard lock(mutex_);
  PeerState& p = tables_->peers.find_or_insert(peer);
  if (p.in_flight > 0) --p.in_flight;
  const std::string key = pair_key(peer, account);
  if (success) {
    tables_->pairs.erase(key);
    return LoginRefusal::kNone;
  }
  LoginRefusal started = LoginRefusal::kNone;
  if (count_failure(tables_->pairs.find_or_insert(key), policy_.account_failures,
                    policy_.account_lock_s, policy_.forget_after_s, now)) {
    started = LoginRefusal::kAccountLocked;
  }
  if (count_failure(p.counter, policy_.peer_failures, policy_.peer_lock_s, policy_.forget_after_s,
                    now)) {
    started = LoginRefusal::kPeerLocked;
  }
  return started;
}

void LoginThrottle::release(const std::string& peer) {
  std::lock_guard lock(mutex_);
  if (PeerState* p = tables_->peers.find(peer); p != nullptr && p->in_flight > 0) --p->in_flight;
}

std::size_t LoginThrottle::peer_entries() const {
  std::lock_guard lock(mutex_);
  return tables_->peers.size();
}

std::size_t LoginThrottle::pair_entries() const {
  std::lock_guard lock(mutex_);
  return tables_->pairs.size();
}

}  // namespace ironseal::fleet
