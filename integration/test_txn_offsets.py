"""Transactional offset commits (TxnOffsetCommit, the group coordinator's half of exactly-once) over hand-built
frames, the transaction coordinator played by hand: WriteTxnMarkers COMMIT/ABORT sent straight to the leader of
the group's __consumer_offsets partition. The broker runs with transaction.partition.verification.enable=false:
no coordinator knows the transactions played here, so KIP-890 verification would refuse their offsets.

- TxnOffsetCommit v2/v3 answers per partition (UNKNOWN_TOPIC_OR_PARTITION, INVALID_GROUP_ID, KIP-447's member
  check); accepted offsets are invisible to OffsetFetch until the producer's COMMIT marker, dropped by ABORT.
- OffsetFetch v7 with require_stable (KIP-447) answers UNSTABLE_OFFSET_COMMIT while an offset awaits its marker.
- A broker restart reloads the partition: committed transactional offsets come back, aborted ones do not, and
  those of a transaction without a marker yet stay pending until its COMMIT arrives.

Error codes (Kafka's Errors.java): UNKNOWN_TOPIC_OR_PARTITION 3, INVALID_GROUP_ID 24, UNKNOWN_MEMBER_ID 25,
UNSTABLE_OFFSET_COMMIT 88."""

import kproto
from harness import Skip, create_topic, eq, timeout, unique_topic, wait_topic_ready, wait_until
from test_groups import GROUP_EXTRA, offsets_partition_for, wait_coordinator

API_OFFSET_FETCH = 9
API_INIT_PRODUCER_ID = 22
API_WRITE_TXN_MARKERS = 27
API_TXN_OFFSET_COMMIT = 28

UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
UNSTABLE_OFFSET_COMMIT = 88
OFFSETS_PARTITIONS = int(GROUP_EXTRA["offsets.topic.num.partitions"])


# ---------------------------------------------------------------- flexible-version primitives
def compact_array(items, enc):
    return kproto.uvarint(len(items) + 1) + b"".join(enc(x) for x in items)


def compact_nullable_string(s):
    return kproto.uvarint(0) if s is None else kproto.compact_string(s)


def skip_tagged_fields(r):
    for _ in range(r.uvarint()):
        r.uvarint()  # tag
        r.take(r.uvarint())


def read_compact_string(r):
    n = r.uvarint() - 1
    return None if n < 0 else r.take(n).decode()


def read_compact_array(r, dec):
    n = r.uvarint() - 1
    if n < 0:
        return None
    if n > r.remaining():
        raise kproto.ProtocolError(f"compact array count {n} larger than the frame")
    return [dec(r) for _ in range(n)]


# ---------------------------------------------------------------- frames
def init_producer_id_v1(conn):
    """InitProducerId v1 without a transactional id: (error, producer_id, producer_epoch)."""
    r = conn.request(API_INIT_PRODUCER_ID, 1, kproto.i16(-1) + kproto.i32(60000))
    r.i32()  # throttle
    return r.i16(), r.i64(), r.i16()


def txn_offset_commit(conn, version, group, pid, epoch, offsets, txn_id="txn-it", generation=-1, member_id="",
                      instance_id=None):
    """TxnOffsetCommit v2 (non-flexible) or v3 (flexible, KIP-447's member fields). offsets: {(topic, p): offset}.
    Returns {(topic, p): error}."""
    topics = {}
    for (t, p), o in sorted(offsets.items()):
        topics.setdefault(t, []).append((p, o))
    items = list(topics.items())
    if version >= 3:
        def part(po):
            return kproto.i32(po[0]) + kproto.i64(po[1]) + kproto.i32(-1) + kproto.compact_string("") + \
                kproto.uvarint(0)
        body = (kproto.compact_string(txn_id) + kproto.compact_string(group) + kproto.i64(pid) + kproto.i16(epoch) +
                kproto.i32(generation) + kproto.compact_string(member_id) + compact_nullable_string(instance_id) +
                compact_array(items, lambda t: kproto.compact_string(t[0]) + compact_array(t[1], part) +
                              kproto.uvarint(0)) +
                kproto.uvarint(0))
        r = conn.request(API_TXN_OFFSET_COMMIT, version, body, flexible=True)
        skip_tagged_fields(r)  # response header v1
        r.i32()  # throttle

        def rpart(r):
            p, e = r.i32(), r.i16()
            skip_tagged_fields(r)
            return p, e

        def rtopic(r):
            name = read_compact_string(r)
            parts = read_compact_array(r, rpart)
            skip_tagged_fields(r)
            return name, parts
        out = read_compact_array(r, rtopic)
        skip_tagged_fields(r)
    else:
        body = (kproto.string(txn_id) + kproto.string(group) + kproto.i64(pid) + kproto.i16(epoch) +
                kproto.array(items, lambda t: kproto.string(t[0]) + kproto.array(
                    t[1], lambda po: kproto.i32(po[0]) + kproto.i64(po[1]) + kproto.i32(-1) + kproto.string(""))))
        r = conn.request(API_TXN_OFFSET_COMMIT, version, body)
        r.i32()  # throttle
        out = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16()))))
    if r.remaining():
        raise kproto.ProtocolError(f"TxnOffsetCommit v{version}: {r.remaining()} bytes after the response")
    return {(t, p): e for t, parts in out for p, e in parts}


def offset_fetch_v7(conn, group, partitions, require_stable):
    """OffsetFetch v7 (flexible). partitions: [(topic, p)]. Returns (group error, {(topic, p): (offset, error)})."""
    topics = {}
    for t, p in partitions:
        topics.setdefault(t, []).append(p)
    body = (kproto.compact_string(group) +
            compact_array(list(topics.items()), lambda t: kproto.compact_string(t[0]) +
                          compact_array(t[1], kproto.i32) + kproto.uvarint(0)) +
            kproto.i8(1 if require_stable else 0) + kproto.uvarint(0))
    r = conn.request(API_OFFSET_FETCH, 7, body, flexible=True)
    skip_tagged_fields(r)
    r.i32()  # throttle

    def rpart(r):
        p, off, _epoch = r.i32(), r.i64(), r.i32()
        read_compact_string(r)  # metadata
        err = r.i16()
        skip_tagged_fields(r)
        return p, off, err

    def rtopic(r):
        name = read_compact_string(r)
        parts = read_compact_array(r, rpart)
        skip_tagged_fields(r)
        return name, parts
    topics_out = read_compact_array(r, rtopic)
    err = r.i16()
    skip_tagged_fields(r)
    return err, {(t, p): (off, e) for t, parts in topics_out for p, off, e in parts}


def write_txn_markers_v0(conn, pid, epoch, commit, topic, partitions, coordinator_epoch=0):
    """WriteTxnMarkers v0 with one marker. Returns {partition: error}."""
    body = kproto.array([0], lambda _: (
        kproto.i64(pid) + kproto.i16(epoch) + kproto.i8(1 if commit else 0) +
        kproto.array([(topic, partitions)], lambda t: kproto.string(t[0]) + kproto.array(t[1], kproto.i32)) +
        kproto.i32(coordinator_epoch)))
    r = conn.request(API_WRITE_TXN_MARKERS, 0, body)
    markers = r.array(lambda r: (r.i64(), r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16()))))))
    return {p: e for _pid, topics in markers for _t, parts in topics for p, e in parts}


# ---------------------------------------------------------------- the test
@timeout(120)
def test_txn_offsets_pending_until_markers(ctx):
    b = ctx.start_broker(0, extra={**GROUP_EXTRA, "transaction.partition.verification.enable": "false"})
    topic = unique_topic("txo")
    create_topic(b.bootstrap, topic, partitions=2)
    group = unique_topic("gtxo")
    node, _, _ = wait_coordinator(b.bootstrap, group)
    eq(node, 0, "coordinator")
    wait_topic_ready(b.bootstrap, "__consumer_offsets", OFFSETS_PARTITIONS)
    offsets_p = offsets_partition_for(group, OFFSETS_PARTITIONS)
    p0, p1 = (topic, 0), (topic, 1)

    with kproto.connect(b.bootstrap) as c:
        err, apis = kproto.api_versions_v0(c)
        eq(err, 0, "ApiVersions")
        eq(apis.get(API_TXN_OFFSET_COMMIT), (0, 4), "TxnOffsetCommit versions served (Kafka 3.9)")
        if API_WRITE_TXN_MARKERS not in apis:
            raise Skip("WriteTxnMarkers is not served by this build")
        err, pid, epoch = init_producer_id_v1(c)
        eq(err, 0, "InitProducerId")

        def fetch(stable):
            gerr, got = offset_fetch_v7(c, group, [p0, p1], stable)
            eq(gerr, 0, f"OffsetFetch v7 group error (require_stable={stable})")
            return got

        def marker(commit):
            eq(write_txn_markers_v0(c, pid, epoch, commit, "__consumer_offsets", [offsets_p]), {offsets_p: 0},
               f"WriteTxnMarkers {'COMMIT' if commit else 'ABORT'} to __consumer_offsets-{offsets_p}")

        # FindCoordinator answers once this broker leads the group's partition; the group may still
        # be loading (COORDINATOR_LOAD_IN_PROGRESS) for a moment after that.
        wait_until(lambda: offset_fetch_v7(c, group, [p0], False)[0] != 14, 20, "the group's partition loaded")

        # Validation, per partition.
        eq(txn_offset_commit(c, 2, "", pid, epoch, {p0: 1}), {p0: INVALID_GROUP_ID}, "TxnOffsetCommit, empty group")
        eq(txn_offset_commit(c, 2, group, pid, epoch, {(topic, 7): 1, ("no-such-topic", 0): 1}),
           {(topic, 7): UNKNOWN_TOPIC_OR_PARTITION, ("no-such-topic", 0): UNKNOWN_TOPIC_OR_PARTITION},
           "TxnOffsetCommit for unknown partitions")
        eq(txn_offset_commit(c, 3, group, pid, epoch, {p0: 1}, generation=1, member_id="nobody"),
           {p0: UNKNOWN_MEMBER_ID}, "TxnOffsetCommit v3 from a member the group does not have")

        # Transaction 1: pending, invisible, unstable; visible after COMMIT.
        eq(txn_offset_commit(c, 2, group, pid, epoch, {p0: 5, p1: 6}), {p0: 0, p1: 0}, "TxnOffsetCommit v2")
        eq(fetch(False), {p0: (-1, 0), p1: (-1, 0)}, "OffsetFetch before the marker")
        eq(fetch(True), {p0: (-1, UNSTABLE_OFFSET_COMMIT), p1: (-1, UNSTABLE_OFFSET_COMMIT)},
           "OffsetFetch require_stable before the marker")
        marker(True)
        eq(fetch(False), {p0: (5, 0), p1: (6, 0)}, "OffsetFetch after COMMIT")
        eq(fetch(True), {p0: (5, 0), p1: (6, 0)}, "OffsetFetch require_stable after COMMIT")

        # Transaction 2 (v3, no member: a producer outside the group): ABORT drops it.
        eq(txn_offset_commit(c, 3, group, pid, epoch, {p0: 7}), {p0: 0}, "TxnOffsetCommit v3")
        eq(fetch(True)[p0], (-1, UNSTABLE_OFFSET_COMMIT), "require_stable while transaction 2 is open")
        marker(False)
        eq(fetch(True), {p0: (5, 0), p1: (6, 0)}, "OffsetFetch after ABORT")

        # Transaction 3 stays open across a restart.
        eq(txn_offset_commit(c, 2, group, pid, epoch, {p1: 9}), {p1: 0}, "TxnOffsetCommit before the restart")

    eq(b.stop(), 0, "gregord exit code on SIGTERM")
    b.start()
    wait_coordinator(b.bootstrap, group)
    with kproto.connect(b.bootstrap) as c:
        def loaded():
            gerr, got = offset_fetch_v7(c, group, [p0, p1], True)
            return got if gerr == 0 else None
        got = wait_until(loaded, 30, "the group's partition to load after the restart", interval=0.2)
        eq(got, {p0: (5, 0), p1: (-1, UNSTABLE_OFFSET_COMMIT)},
           "after the restart: committed transaction back, aborted one gone, open one pending")
        eq(offset_fetch_v7(c, group, [p0, p1], False)[1], {p0: (5, 0), p1: (6, 0)},
           "after the restart without require_stable")
        eq(write_txn_markers_v0(c, pid, epoch, True, "__consumer_offsets", [offsets_p]), {offsets_p: 0},
           "WriteTxnMarkers COMMIT after the restart")
        eq(offset_fetch_v7(c, group, [p0, p1], True)[1], {p0: (5, 0), p1: (9, 0)},
           "OffsetFetch after the open transaction committed")
    b.check_alive("at the end")
