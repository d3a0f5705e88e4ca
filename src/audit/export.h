// Audit records for other tools: RFC 5424 syslog lines (for a SIEM or a central collector, where
// copies of the checkpoints make cutting the local log detectable) and JSON lines.
#pragma once

#include <string>

#include "audit/record.h"

namespace ironseal::audit {

// One RFC 5424 message: facility "log audit" (13); severity notice for ok/info, warning for
// refused/failed; APP-NAME ironseal; MSGID the event; structured data
// [ironseal@32473 seq= actor= outcome= hash= prev=] (32473: the enterprise number RFC 5612 reserves
// for documentation); the details as JSON for MSG.
std::string to_syslog(const Record& r, const std::string& hostname);

}  // namespace ironseal::audit
