"""Hostile and malformed input over raw sockets: the broker answers with Kafka errors or closes the one
connection, and keeps serving everyone else."""

import os
import socket
import struct

import kproto
from harness import Failure, check, create_topic, eq, list_offset, timeout, unique_topic
from test_kcat import kcat


def still_serving(ctx, b, what):
    """The process lives, a fresh connection gets ApiVersions, and kcat -L works."""
    b.check_alive(what)
    with kproto.connect(b.bootstrap) as c:
        err, apis = kproto.api_versions_v0(c)
    eq(err, 0, f"ApiVersions error {what}")
    check(kproto.API_PRODUCE in apis, f"ApiVersions lacks Produce {what}")
    kcat(ctx, b.bootstrap, "-L", "-m", "10", t=20)


@timeout(60)
def test_huge_length_prefix_closes_connection(ctx):
    b = ctx.start_broker(0)
    with kproto.connect(b.bootstrap) as c:
        c.send_raw(struct.pack(">i", 0x7FFFFFFF) + b"\x00\x12\x00\x00")
        check(kproto.wait_closed(c, 5), "connection still open 5s after a 2 GiB length prefix")
    still_serving(ctx, b, "after a 0x7fffffff length prefix")


@timeout(60)
def test_negative_length_prefix_closes_connection(ctx):
    b = ctx.start_broker(0)
    with kproto.connect(b.bootstrap) as c:
        c.send_raw(struct.pack(">i", -5) + b"\x00" * 16)
        check(kproto.wait_closed(c, 5), "connection still open 5s after a negative length prefix")
    still_serving(ctx, b, "after a negative length prefix")


@timeout(60)
def test_truncated_frame_then_close(ctx):
    b = ctx.start_broker(0)
    for cut in (2, 7, 20):
        frame = kproto.frame(kproto.request_header(kproto.API_METADATA, 1, 1) + kproto.i32(-1))
        with kproto.connect(b.bootstrap) as c:
            c.send_raw(frame[:cut])
    # A declared 100-byte frame with 10 bytes of it.
    with kproto.connect(b.bootstrap) as c:
        c.send_raw(struct.pack(">i", 100) + os.urandom(10))
        c.sock.shutdown(socket.SHUT_WR)
        # Half-closed by us: the broker must not wait forever for the rest of the frame.
        check(kproto.wait_closed(c, 10), "broker kept a half-closed connection with a partial frame open 10s")
    still_serving(ctx, b, "after truncated frames")


@timeout(60)
def test_garbage_bytes(ctx):
    b = ctx.start_broker(0)
    rnd = __import__("random").Random(1234)
    for i in range(20):
        body = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200)))
        with kproto.connect(b.bootstrap, timeout=5) as c:
            # Half the time a well-formed length around garbage, half the time garbage from the first byte.
            c.send_raw(kproto.frame(body) if i % 2 == 0 else body)
            if i % 2 == 0:
                # A readable frame with nonsense in it: either an error response or a close, never a hang.
                try:
                    resp = c.recv_frame()
                except socket.timeout:
                    raise Failure(f"no response and no close within 5s for garbage frame {body[:16].hex()}")
                _ = resp
    # Known api keys and versions with random bodies: exercises every request decoder's bounds checks.
    for key in (1, 2, 3, 8, 9, 10, 11, 18, 19, 20, 21, 32, 33, 37):
        for version in (0, 1, 3):
            body = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 120)))
            with kproto.connect(b.bootstrap, timeout=5) as c:
                c.send_raw(kproto.frame(kproto.request_header(key, version, 9) + body))
                try:
                    c.recv_frame()
                except socket.timeout:
                    raise Failure(f"no response and no close within 5s for api {key} v{version} with "
                                  f"a random body {body[:16].hex()}")
        b.check_alive(f"after random bodies for api {key}")
    still_serving(ctx, b, "after garbage input")


@timeout(60)
def test_unknown_api_key(ctx):
    b = ctx.start_broker(0)
    with kproto.connect(b.bootstrap, timeout=5) as c:
        c.send_raw(kproto.frame(kproto.request_header(9999, 0, 77) + b"\x00" * 8))
        try:
            resp = c.recv_frame()
        except socket.timeout:
            raise Failure("no response and no close within 5s for api key 9999")
        if resp is not None:
            r = kproto.Reader(resp)
            eq(r.i32(), 77, "correlation id of the error response")
            eq(r.i16(), kproto.UNSUPPORTED_VERSION, "error code for an unknown api key")
    still_serving(ctx, b, "after an unknown api key")


@timeout(60)
def test_api_versions_v99_gets_v0_error_with_list(ctx):
    b = ctx.start_broker(0)
    with kproto.connect(b.bootstrap, timeout=5) as c:
        # v99 is past every known version: sent with the flexible header (v2) and a v3-style body.
        body = kproto.compact_string("gregor-it") + kproto.compact_string("1.0") + kproto.uvarint(0)
        c.send_raw(kproto.frame(kproto.request_header(kproto.API_API_VERSIONS, 99, 5, flexible=True) + body))
        resp = c.recv_frame()
        check(resp is not None, "connection closed instead of an ApiVersions v0 error response")
    r = kproto.Reader(resp)
    eq(r.i32(), 5, "correlation id")
    err, apis = kproto.decode_api_versions_v0(r)
    eq(err, kproto.UNSUPPORTED_VERSION, "ApiVersions v99 error code")
    check(kproto.API_API_VERSIONS in apis, f"ApiVersions missing from the error response's list: {apis}")
    lo, hi = apis[kproto.API_API_VERSIONS]
    check(lo == 0 and hi >= 3, f"ApiVersions range {lo}..{hi}")
    for key in (kproto.API_PRODUCE, kproto.API_FETCH, kproto.API_METADATA):
        check(key in apis, f"api {key} missing from the ApiVersions error response")
    still_serving(ctx, b, "after ApiVersions v99")


@timeout(60)
def test_produce_corrupt_crc(ctx):
    b = ctx.start_broker(0)
    topic = unique_topic("crc")
    create_topic(b.bootstrap, topic, partitions=1)
    good = kproto.record_batch([(b"k", b"good record")])
    with kproto.connect(b.bootstrap) as c:
        eq(kproto.produce_v3(c, topic, 0, good), (0, 0), "valid batch (error, base offset)")
        bad = bytearray(kproto.record_batch([(b"k", b"bad record")]))
        bad[17] ^= 0x01  # flip a bit of the CRC field (offset 17)
        err, _ = kproto.produce_v3(c, topic, 0, bytes(bad))
        eq(err, kproto.CORRUPT_MESSAGE, "error for a batch with a wrong CRC")
        bad2 = bytearray(kproto.record_batch([(b"k", b"bad payload")]))
        bad2[-3] ^= 0xFF  # corrupt the payload, keep the CRC
        err, _ = kproto.produce_v3(c, topic, 0, bytes(bad2))
        eq(err, kproto.CORRUPT_MESSAGE, "error for a batch with corrupted payload")
    eq(list_offset(b.bootstrap, topic, 0, -1), 1, "log end offset (corrupt batches must not be appended)")
    still_serving(ctx, b, "after corrupt batches")


@timeout(60)
def test_create_topic_invalid_names(ctx):
    b = ctx.start_broker(0)
    bad = ["bad/name", "has space", "x" * 250, ".", "..", "", "caf\u00e9"]
    with kproto.connect(b.bootstrap) as c:
        res = kproto.create_topics_v0(c, [(n, 1, 1, {}) for n in bad])
        for n in bad:
            eq(res.get(n), kproto.INVALID_TOPIC_EXCEPTION, f"CreateTopics error for {n[:20]!r}")
        md = kproto.metadata_v1(c, None)
        leaked = [n for n in bad if n in md["topics"]]
        check(not leaked, f"invalid topics were created: {leaked}")
    zk = ctx.zk()
    children = zk.get_children("/brokers/topics")
    check(not [n for n in bad if n in children], f"invalid topics in ZooKeeper: {children}")
    still_serving(ctx, b, "after invalid topic names")


@timeout(60)
def test_produce_larger_than_max_message_bytes(ctx):
    b = ctx.start_broker(0)
    topic = unique_topic("big")
    create_topic(b.bootstrap, topic, partitions=1, configs={"max.message.bytes": "1024"})
    with kproto.connect(b.bootstrap) as c:
        small = kproto.record_batch([(None, b"s" * 200)])
        eq(kproto.produce_v3(c, topic, 0, small), (0, 0), "small batch (error, base offset)")
        big = kproto.record_batch([(None, b"b" * 4000)])
        err, _ = kproto.produce_v3(c, topic, 0, big)
        eq(err, kproto.MESSAGE_TOO_LARGE, "error for a 4 KB batch with max.message.bytes=1024")
    eq(list_offset(b.bootstrap, topic, 0, -1), 1, "log end offset after the rejected batch")
    still_serving(ctx, b, "after an oversized batch")
