"""Many connections at once, pipelined requests answered in order, and a long-polling fetch that
does not hold up other clients."""

import socket
import struct
import threading
import time

import kproto
from harness import check, create_topic, eq, timeout, unique_topic


def read_frame(sock):
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    head = exact(4)
    if head is None:
        return None
    (n,) = struct.unpack(">i", head)
    return exact(n)


@timeout(60)
def test_many_connections_served_concurrently(ctx):
    b = ctx.start_broker(0)
    host, port = b.bootstrap.split(":")
    socks = [socket.create_connection((host, int(port)), timeout=10) for _ in range(200)]
    try:
        # Every connection sends before any reads: the broker must serve them all at once.
        for i, s in enumerate(socks):
            s.sendall(kproto.frame(kproto.request_header(kproto.API_API_VERSIONS, 0, i)))
        for i, s in enumerate(socks):
            resp = read_frame(s)
            check(resp is not None, f"connection {i} closed without an ApiVersions response")
            eq(struct.unpack(">i", resp[:4])[0], i, f"correlation id on connection {i}")
            eq(struct.unpack(">h", resp[4:6])[0], 0, f"ApiVersions error on connection {i}")
    finally:
        for s in socks:
            s.close()
    b.check_alive("after 200 concurrent connections")


@timeout(60)
def test_pipelined_requests_answered_in_order(ctx):
    b = ctx.start_broker(0)
    host, port = b.bootstrap.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        frames = b""
        for corr in range(100):
            if corr % 2:
                frames += kproto.frame(kproto.request_header(kproto.API_API_VERSIONS, 0, corr))
            else:
                frames += kproto.frame(kproto.request_header(kproto.API_METADATA, 1, corr) + kproto.i32(-1))
        s.sendall(frames)
        for corr in range(100):
            resp = read_frame(s)
            check(resp is not None, f"connection closed before response {corr}")
            eq(struct.unpack(">i", resp[:4])[0], corr, "correlation ids in request order")


@timeout(60)
def test_long_poll_does_not_block_other_connections(ctx):
    b = ctx.start_broker(0)
    topic = unique_topic("lp")
    create_topic(b.bootstrap, topic, 1)
    result = {}

    def poll():
        with kproto.connect(b.bootstrap, timeout=30) as c:
            start = time.monotonic()
            result["fetch"] = kproto.fetch_v4(c, topic, 0, 0, max_wait_ms=15000, min_bytes=1)
            result["waited"] = time.monotonic() - start

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.5)  # let the fetch park in its long poll (no state to poll for from outside)
    with kproto.connect(b.bootstrap) as c:
        start = time.monotonic()
        err, base = kproto.produce_v3(c, topic, 0, kproto.record_batch([(b"k", b"v")]), acks=1)
        produce_s = time.monotonic() - start
    eq(err, 0, "produce error while another connection long-polls")
    check(produce_s < 5.0, f"produce took {produce_s:.2f}s while a fetch was parked")
    t.join(30)
    check("fetch" in result, "long-polling fetch never returned")
    eq(result["fetch"]["error"], 0, "fetch error")
    check(len(result["fetch"]["records"]) > 0, "long poll returned no records")
    check(result["waited"] < 10.0, f"long poll returned after {result['waited']:.2f}s, not on the append")
