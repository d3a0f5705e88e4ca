#!/usr/bin/env python3
"""Load pieces of bench/login_flood.sh (loopback only, bounded in time).

  probe  devices check in, each check-in on a new mutual-TLS connection (as an agent does after
         its poll interval), one after the other per device; prints one JSON line with the
         check-in latency (p50, p99, max, in ms) and how many timed out.
  flood  N connections with keep-alive send wrong-password logins to the operator port as fast
         as they are answered (a reconnect when the server closes); prints one JSON line with
         the answers by status and how many carried Retry-After;
  login  one operator login with the right password from another loopback address: its status
         and time.

Usage:
  login_flood.py probe --port P --pki DIR --serials SN-1,SN-2 --seconds S [--timeout T]
  login_flood.py flood --port P --pki DIR --connections N --seconds S [--names admin|spray]
                       [--source 127.0.0.1]
  login_flood.py login --port P --pki DIR --name N --password-file F [--source 127.0.0.9]
"""
import argparse
import asyncio
import http.client
import json
import os
import ssl
import statistics
import threading
import time


def percentile(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def probe(a):
    body = json.dumps({"version": "1.0.0"})
    latencies, timeouts, errors = [], [0], [0]
    lock = threading.Lock()
    deadline = time.monotonic() + a.seconds

    def device(serial):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(os.path.join(a.pki, "trust-root.pem"))
        ctx.load_cert_chain(os.path.join(a.pki, f"dev-{serial}.pem"),
                            os.path.join(a.pki, f"dev-{serial}.key"))
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            conn = http.client.HTTPSConnection("127.0.0.1", a.port, context=ctx, timeout=a.timeout)
            try:
                conn.request("POST", "/api/v1/device/checkin", body=body,
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                ms = (time.monotonic() - t0) * 1000
                with lock:
                    if resp.status == 200:
                        latencies.append(ms)
                    else:
                        errors[0] += 1
            except (TimeoutError, OSError) as e:
                with lock:
                    if isinstance(e, TimeoutError) or "timed out" in str(e):
                        timeouts[0] += 1
                    else:
                        errors[0] += 1
            finally:
                conn.close()
            time.sleep(a.pause)

    threads = [threading.Thread(target=device, args=(s,)) for s in a.serials.split(",")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r = lambda v: None if v is None else round(v, 1)
    print(json.dumps({"checkins": len(latencies), "timeouts": timeouts[0], "errors": errors[0],
                      "p50_ms": r(percentile(latencies, 50)), "p99_ms": r(percentile(latencies, 99)),
                      "max_ms": r(max(latencies) if latencies else None),
                      "mean_ms": r(statistics.fmean(latencies) if latencies else None)}))


async def flood_connection(a, ctx, counts, stop_at, index):
    n = 0
    while time.monotonic() < stop_at:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", a.port, ssl=ctx, server_hostname="localhost",
                                        local_addr=(a.source, 0)), 10)
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            counts["connect_errors"] = counts.get("connect_errors", 0) + 1
            await asyncio.sleep(0.05)
            continue
        try:
            while time.monotonic() < stop_at:
                n += 1
                name = "admin" if a.names == "admin" else f"guess-{index}-{n}"
                body = json.dumps({"name": name, "password": f"wrong-password-{n}"}).encode()
                writer.write(b"POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\n"
                             b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
                status = int(head.split(b" ", 2)[1])
                length, close = 0, False
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    k = k.strip().lower()
                    if k == b"content-length":
                        length = int(v)
                    elif k == b"connection" and b"close" in v.lower():
                        close = True
                    elif k == b"retry-after":
                        counts["retry_after"] = counts.get("retry_after", 0) + 1
                await reader.readexactly(length)
                counts[str(status)] = counts.get(str(status), 0) + 1
                if close:
                    break
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ssl.SSLError,
                ValueError, IndexError):
            counts["broken"] = counts.get("broken", 0) + 1
        finally:
            writer.close()


async def flood_main(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(a.pki, "trust-root.pem"))
    counts = {}
    stop_at = time.monotonic() + a.seconds
    await asyncio.gather(*(flood_connection(a, ctx, counts, stop_at, i)
                           for i in range(a.connections)))
    print(json.dumps(counts, sort_keys=True))


def login(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(a.pki, "trust-root.pem"))
    with open(a.password_file) as f:
        password = f.read().strip()
    t0 = time.monotonic()
    conn = http.client.HTTPSConnection("127.0.0.1", a.port, context=ctx, timeout=60,
                                       source_address=(a.source, 0))
    try:
        conn.request("POST", "/api/v1/login", body=json.dumps({"name": a.name, "password": password}),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        body = json.loads(resp.read() or b"{}")
        status = resp.status
    except (TimeoutError, OSError) as e:
        status, body = 0, {"error": str(e)}
    finally:
        conn.close()
    print(json.dumps({"source": a.source, "status": status, "error": body.get("error"),
                      "ms": round((time.monotonic() - t0) * 1000, 1)}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    pr = sub.add_parser("probe")
    pr.add_argument("--port", type=int, required=True)
    pr.add_argument("--pki", required=True)
    pr.add_argument("--serials", required=True)
    pr.add_argument("--seconds", type=float, required=True)
    pr.add_argument("--timeout", type=float, default=10)
    pr.add_argument("--pause", type=float, default=0.05)
    fl = sub.add_parser("flood")
    fl.add_argument("--port", type=int, required=True)
    fl.add_argument("--pki", required=True)
    fl.add_argument("--connections", type=int, default=128)
    fl.add_argument("--seconds", type=float, required=True)
    fl.add_argument("--names", choices=("admin", "spray"), default="spray")
    fl.add_argument("--source", default="127.0.0.1")
    lg = sub.add_parser("login")
    lg.add_argument("--port", type=int, required=True)
    lg.add_argument("--pki", required=True)
    lg.add_argument("--name", required=True)
    lg.add_argument("--password-file", required=True)
    lg.add_argument("--source", default="127.0.0.9")
    a = p.parse_args()
    if a.cmd == "probe":
        probe(a)
    elif a.cmd == "login":
        login(a)
    else:
        asyncio.run(flood_main(a))


if __name__ == "__main__":
    main()
