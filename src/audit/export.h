// Audit records for other tools: RFC 5424 syslog lines (for a SIEM or a central collector, where
// copies of the checkpoints make cutting the local log detectable) and JSON lines.
#pragma once

#include <string>

#include "audit/record.h"
#include "core/result.h"

namespace ironseal::audit {

// One RFC 5424 message: facility "log audit" (13); severity notice for ok/info, warning for
// refused/failed; APP-NAME ironseal; MSGID the event; structured data
// [ironseal@32473 seq= actor= outcome= hash= prev=] (32473: the enterprise number RFC 5612 reserves
// for documentation); the details as JSON for MSG.
std::string to_syslog(const Record& r, const std::string& hostname);

// One entry of systemd's journal in its native protocol (systemd.journal-fields(7)): MESSAGE,
// PRIORITY (5 notice, 4 warning as above), SYSLOG_IDENTIFIER=ironseal, SYSLOG_FACILITY=13 and
// IRONSEAL_SEQ, _EVENT, _ACTOR, _OUTCOME, _HASH, _PREV, _RECORD (the record's line, byte for
// byte, so a collector can re-verify the chain). Fields whose value holds a newline use the
// protocol's length-prefixed form.
std::string to_journal(const Record& r);

// Sends each entry as one datagram to the journal's socket (default
// /run/systemd/journal/socket). kIo naming the socket when it is absent (no systemd) or refuses.
class JournalSink {
 public:
  static Result<JournalSink> open(const std::string& socket_path = "/run/systemd/journal/socket");
  JournalSink(JournalSink&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  JournalSink& operator=(JournalSink&&) = delete;
  JournalSink(const JournalSink&) = delete;
  ~JournalSink();
  Result<void> send(const std::string& entry);

 private:
  JournalSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace ironseal::audit
