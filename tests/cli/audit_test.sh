#!/usr/bin/env bash
# `ironseal audit` as an operator and a script use it: append with signed checkpoints, verify
# (exit 0 intact; exit 1 naming the first bad record and the reason), show with filters, export as
# RFC 5424 syslog, refusals for a wrong key and for tampering. Usage: audit_test.sh IRONSEAL
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
work=$(mktemp -d)
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
trap 'rm -rf -- "$work"' EXIT

"$IRONSEAL" key generate --out audit.pem --public-out audit.pub >/dev/null || exit 3
"$IRONSEAL" key generate --out other.pem --public-out other.pub >/dev/null || exit 3
for i in $(seq 1 6); do
  "$IRONSEAL" audit append log --key audit.pem --actor operator:ops --event config.change \
    --details "{\"setting\": \"poll_interval_s\", \"value\": $i}" || exit 3
done
"$IRONSEAL" audit append log --key audit.pem --actor operator:eve --event auth.login --outcome refused || exit 3
expect 0 "checkpoint" -- "$IRONSEAL" audit checkpoint log --key audit.pem --json
contains out.txt '"event": "audit.checkpoint"' "a checkpoint record"
[ "$(stat -c %a log)" = 700 ]; ok $? "the log directory is 0700"

expect 0 "an intact log verifies" -- "$IRONSEAL" audit verify log --key audit.pub --json
contains out.txt '"ok": true' "ok"
contains out.txt '"records": 8' "7 records and the checkpoint"
contains out.txt '"signed_through": 8' "signed through the checkpoint"
expect 0 "show filters by event" -- "$IRONSEAL" audit show log --key audit.pub --event auth.
contains out.txt "operator:eve  auth.login  refused" "the refused login is shown"
grep -q config.change out.txt; ok $((! $?)) "other events are filtered out"
expect 0 "export as syslog" -- "$IRONSEAL" audit export log --format syslog --hostname plc-7 --key audit.pub
contains out.txt '<108>1 ' "a refused event is a warning in facility log audit"
contains out.txt ' plc-7 ironseal - auth.login [ironseal@32473 seq="7"' "RFC 5424 header and structured data"

# To systemd's journal, in its native protocol: a receiver on a datagram socket stands in for
# journald (this machine runs no systemd) and keeps what arrives.
python3 - journal.sock journal.bin <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
with open(sys.argv[2], "wb") as out:
    try:
        for _ in range(8):
            d = s.recv(65536)
            out.write(struct.pack("<I", len(d)) + d)
            out.flush()
    except socket.timeout:
        pass
PY
receiver=$!
for _ in $(seq 50); do [ -S journal.sock ] && break; sleep 0.1; done
expect 0 "export to the journal" -- "$IRONSEAL" audit export log --format journal --journal-socket journal.sock --key audit.pub
wait "$receiver"
python3 - journal.bin log <<'PY' >journal.txt
import glob, struct, sys
data = open(sys.argv[1], "rb").read()
lines = [l for f in sorted(glob.glob(sys.argv[2] + "/audit-*.jsonl")) for l in open(f).read().splitlines()]
i, n, exact = 0, 0, 0
while i < len(data):
    (size,) = struct.unpack_from("<I", data, i); entry = data[i + 4:i + 4 + size].decode(); i += 4 + size
    fields = dict(l.split("=", 1) for l in entry.splitlines())
    n += 1
    exact += fields["IRONSEAL_RECORD"] == lines[int(fields["IRONSEAL_SEQ"]) - 1]
    if fields["IRONSEAL_OUTCOME"] == "refused": print("refused-priority", fields["PRIORITY"])
    print("identifier", fields["SYSLOG_IDENTIFIER"])
print("entries", n, "exact", exact)
PY
contains journal.txt "entries 8 exact 8" "one journal entry per record, each carrying its line byte for byte"
contains journal.txt "refused-priority 4" "a refused event is a warning"
contains journal.txt "identifier ironseal" "SYSLOG_IDENTIFIER"
expect 3 "no journal: says so" -- "$IRONSEAL" audit export log --format journal --journal-socket nowhere.sock
contains err.txt "no systemd journal" "the refusal names the missing journal"

expect 1 "a checkpoint by another key is refused" -- "$IRONSEAL" audit verify log --key other.pub --json
contains out.txt '"reason": "bad_checkpoint"' "refused as bad_checkpoint"

seg=$(ls log/audit-*.jsonl)
cp "$seg" original.jsonl
sed -i '3d' "$seg"
expect 1 "a deleted record is found" -- "$IRONSEAL" audit verify log --key audit.pub --json
contains out.txt '"reason": "sequence_gap"' "deletion found as sequence_gap"
contains out.txt '"line": 3' "at the line where it was"
expect 1 "show stops at the first bad record" -- "$IRONSEAL" audit show log --key audit.pub
contains err.txt "sequence_gap" "show says why it stopped"
cp original.jsonl "$seg"
sed -i '2s/poll_interval_s/poll_interval_S/' "$seg"
expect 1 "a modified record is found" -- "$IRONSEAL" audit verify log --key audit.pub
contains err.txt "modified" "modification found"
cp original.jsonl "$seg"
head -n 5 original.jsonl >"$seg"
expect 1 "a tail cut below the signed checkpoint is found" -- "$IRONSEAL" audit verify log --key audit.pub --json
contains out.txt '"reason": "truncated"' "truncation found"
cp original.jsonl "$seg"
expect 0 "restored, it verifies again" -- "$IRONSEAL" audit verify log --key audit.pub

expect 2 "details must be an object" -- "$IRONSEAL" audit append log --event x --details '[1]'
expect 2 "checkpoint needs a key" -- "$IRONSEAL" audit checkpoint log
finish
