"""Hostile clients cannot take a broker down: request bodies come from a bounded pool
(queued.max.request.bytes), allocated as bytes arrive and not at the declared size; a stalled request
is closed after socket.request.read.timeout.ms; max.connections.per.ip and max.connections hold. Meanwhile
a normal client (kcat -L) keeps getting answers within 2 s."""

import os
import socket
import struct
import time

import kproto
from harness import Failure, check, eq, timeout, wait_until
from test_kcat import kcat

MIB = 1024 * 1024


def rss_mib(pid):
    """VmRSS of a process, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise Failure(f"no VmRSS for pid {pid}")


def timed_metadata(ctx, bootstrap):
    """kcat -L with a 2 s metadata timeout: (exit code, seconds taken)."""
    t0 = time.monotonic()
    rc, _, _ = ctx.run(["kcat", "-L", "-b", bootstrap, "-m", "2"], timeout=15)
    return rc, time.monotonic() - t0


def open_hostile(bootstrap, n, declared, body):
    """n connections that each declare a `declared`-byte request, send `body` bytes of it, then wait."""
    host, port = bootstrap.rsplit(":", 1)
    socks = []
    for i in range(n):
        s = socket.create_connection((host, int(port)), timeout=5)
        # A Produce header, then junk: the broker cannot know it is junk until the frame is whole.
        s.sendall(struct.pack(">i", declared) + b"\x00\x00\x00\x03" + os.urandom(body - 4))
        socks.append(s)
    return socks


def push(socks, per_conn, limit_s=15):
    """Sends up to per_conn more bytes on each socket without blocking; stops when no socket has taken
    anything for 1 s (the broker muted them) or at limit_s. Returns the bytes sent."""
    chunk = os.urandom(64 * 1024)
    left = {s: per_conn for s in socks}
    for s in socks:
        s.setblocking(False)
    sent = 0
    deadline = time.monotonic() + limit_s
    last_progress = time.monotonic()
    while left and time.monotonic() < deadline and time.monotonic() - last_progress < 1.0:
        progressed = False
        for s in list(left):
            try:
                n = s.send(chunk[:min(len(chunk), left[s])])
            except BlockingIOError:
                continue
            sent += n
            left[s] -= n
            progressed = True
            if left[s] == 0:
                del left[s]
        if progressed:
            last_progress = time.monotonic()
        else:
            time.sleep(0.02)
    return sent


def open_count(socks):
    """How many of the sockets the broker has not closed."""
    n = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1, socket.MSG_PEEK):
                n += 1  # data (unexpected, but open)
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


def measure_under_attack(ctx, b, n=40, declared=100_000_000, body=4096, extra_bytes=0, rounds=5):
    """Opens the hostile connections and, while they are open, runs kcat -L `rounds` times and samples
    gregord's RSS. Returns the figures and the sockets (still open)."""
    kcat(ctx, b.bootstrap, "-L", "-m", "10", t=20)  # the metadata path is warm before the baseline
    before = rss_mib(b.proc.pid)
    socks = open_hostile(b.bootstrap, n, declared, body)
    sent = push(socks, extra_bytes) if extra_bytes else 0
    peak = rss_mib(b.proc.pid)
    runs = []
    for _ in range(rounds):
        runs.append(timed_metadata(ctx, b.bootstrap))
        peak = max(peak, rss_mib(b.proc.pid))
        b.check_alive("with hostile connections open")
    return {"rss_before": before, "rss_peak": peak, "runs": runs, "sent": sent,
            "open": open_count(socks)}, socks


def report(ctx, name, m):
    line = (f"{name}: RSS {m['rss_before']:.1f} -> peak {m['rss_peak']:.1f} MiB; extra bytes sent "
            f"{m['sent']}; hostile connections still open {m['open']}; kcat -L "
            + ", ".join(f"rc={rc} {t:.2f}s" for rc, t in m["runs"]))
    with open(ctx.dir / "figures.txt", "a") as f:
        f.write(line + "\n")
    print(line)


def check_metadata_fast(runs, what):
    for rc, t in runs:
        check(rc == 0 and t < 2.0, f"kcat -L {what}: rc={rc} after {t:.2f}s (all: {runs})")


@timeout(90)
def test_hostile_declared_sizes_cost_no_memory(ctx):
    """40 connections declare 100 MB and send 4 KiB: memory follows what arrived, not what was declared."""
    pool = 128 * MIB
    b = ctx.start_broker(0, extra={"queued.max.request.bytes": pool,
                                   "socket.request.read.timeout.ms": 60000})
    m, socks = measure_under_attack(ctx, b)
    report(ctx, "declared 100 MB x40, 4 KiB sent", m)
    eq(m["open"], 40, "hostile connections still open (the measurement must be made while they are)")
    check(m["rss_peak"] - m["rss_before"] < pool / MIB,
          f"RSS grew {m['rss_peak'] - m['rss_before']:.1f} MiB with 40 x 100 MB declared, 4 KiB sent "
          f"(pool {pool // MIB} MiB)")
    check_metadata_fast(m["runs"], "with 40 hostile connections open")
    for s in socks:
        s.close()
    check_metadata_fast([timed_metadata(ctx, b.bootstrap) for _ in range(3)], "after they closed")


@timeout(90)
def test_hostile_connections_holding_the_pool(ctx):
    """40 connections fill a 32 MiB pool with partial 15 MB requests and stall: RSS stays near the pool,
    and metadata requests still get through (each connection may read a small first chunk)."""
    pool, max_request = 32 * MIB, 16 * MIB
    b = ctx.start_broker(0, extra={"queued.max.request.bytes": pool,
                                   "socket.request.max.bytes": max_request,
                                   "socket.request.read.timeout.ms": 60000})
    m, socks = measure_under_attack(ctx, b, declared=15_000_000, extra_bytes=3 * MIB)
    report(ctx, "pool 32 MiB held by 40 x 15 MB partial requests", m)
    growth = m["rss_peak"] - m["rss_before"]
    # The pool really is full (else this test shows nothing) ...
    check(growth > pool / MIB / 2, f"RSS grew only {growth:.1f} MiB: the pool was never filled")
    # ... and bounded by it: the pool, one overdrawn request growing (1.5 x socket.request.max.bytes),
    # and a 64 KiB first chunk plus a 64 KiB read-ahead buffer per connection.
    bound = (pool + 1.5 * max_request + 40 * 128 * 1024) / MIB + 16
    check(growth < bound, f"RSS grew {growth:.1f} MiB, bound {bound:.1f} MiB")
    eq(m["open"], 40, "hostile connections still open")
    check_metadata_fast(m["runs"], "while 40 connections hold the pool")
    for s in socks:
        s.close()
    check_metadata_fast([timed_metadata(ctx, b.bootstrap) for _ in range(3)], "after they closed")


@timeout(60)
def test_hostile_stalled_request_is_closed(ctx):
    b = ctx.start_broker(0, extra={"socket.request.read.timeout.ms": 1000})
    with kproto.connect(b.bootstrap) as stalled, kproto.connect(b.bootstrap) as idle:
        stalled.send_raw(struct.pack(">i", 100) + b"\x00\x03\x00\x01" + b"x" * 6)
        t0 = time.monotonic()
        check(kproto.wait_closed(stalled, 5), "a stalled request was not closed within 5 s")
        took = time.monotonic() - t0
        check(0.8 < took < 3.0, f"stalled request closed after {took:.2f}s; deadline 1 s")
        # No request started: only connections.max.idle.ms applies.
        check(not kproto.wait_closed(idle, 1.5), "an idle connection was closed by the request deadline")
        err, _ = kproto.api_versions_v0(idle)
        eq(err, 0, "ApiVersions on the idle connection")
    wait_until(lambda: "socket.request.read.timeout.ms" in b.log_path.read_text(errors="replace"), 5,
               "the stalled-request warning in the broker log")


class SourceConn(kproto.Conn):
    """A kproto connection from a chosen source address (127.0.0.2 is another client IP on loopback)."""

    def __init__(self, bootstrap, source=None, timeout=5.0):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.sock.settimeout(timeout)
        self.corr = 0


def admitted(bootstrap, source=None, wait=5.0):
    """A connection the broker serves (answers ApiVersions within `wait`), or None (closed or silent)."""
    c = SourceConn(bootstrap, source, timeout=wait)
    try:
        err, _ = kproto.api_versions_v0(c)
        eq(err, 0, "ApiVersions")
        return c
    except (kproto.ProtocolError, OSError):
        c.close()
        return None


def fill(bootstrap, most, source=None, wait=5.0):
    """Opens connections until the broker stops admitting them (at most `most`); returns those admitted.
    The broker's own connections (its controller channel to itself) count too, so the number admitted
    may be below the limit. A refusal is retried once after 0.5 s: the broker may not yet have seen the
    close of a connection the harness used."""
    held = []
    while len(held) < most:
        c = admitted(bootstrap, source, wait)
        if c is None:
            time.sleep(0.5)
            c = admitted(bootstrap, source, wait)
        if c is None:
            break
        held.append(c)
    return held


def refused_at_once(bootstrap, source=None):
    with SourceConn(bootstrap, source) as c:
        return kproto.wait_closed(c, 2)


def kcat_recovers(ctx, b, what):
    wait_until(lambda: timed_metadata(ctx, b.bootstrap)[0] == 0, 10, f"kcat -L to work {what}",
               interval=0.2)


@timeout(60)
def test_hostile_per_ip_limit_with_kcat(ctx):
    b = ctx.start_broker(0, extra={"max.connections.per.ip": 3,
                                   "max.connections.per.ip.overrides": "127.0.0.2:5"})
    held = fill(b.bootstrap, 4)
    check(1 <= len(held) <= 3, f"{len(held)} connections from 127.0.0.1 admitted; limit 3")
    check(refused_at_once(b.bootstrap), "a connection over the limit was not closed at once")
    rc, t = timed_metadata(ctx, b.bootstrap)
    check(rc != 0, f"kcat -L succeeded with 127.0.0.1 at its limit of 3 (rc={rc}, {t:.2f}s)")
    # 127.0.0.2 has an override of 5 (and no connections of the broker's own).
    other = fill(b.bootstrap, 6, source="127.0.0.2")
    eq(len(other), 5, "connections admitted from 127.0.0.2 (override 5)")
    check(refused_at_once(b.bootstrap, "127.0.0.2"), "a 6th connection from 127.0.0.2 not closed")
    for c in held:
        c.close()
    kcat_recovers(ctx, b, "once 127.0.0.1's connections closed")
    for c in other:
        c.close()
    b.check_alive("after the per-IP limits")


@timeout(60)
def test_hostile_max_connections_with_kcat(ctx):
    b = ctx.start_broker(0, extra={"max.connections": 4})
    # At the limit the broker stops accepting: a new connection is silent, not closed.
    held = fill(b.bootstrap, 5, wait=1.0)
    check(1 <= len(held) <= 4, f"{len(held)} connections admitted; max.connections=4")
    rc, t = timed_metadata(ctx, b.bootstrap)
    check(rc != 0, f"kcat -L was served past max.connections=4 (rc={rc}, {t:.2f}s)")
    for c in held:
        c.close()
    kcat_recovers(ctx, b, "once connections closed")
