"""Incremental fetch sessions (KIP-227), from both sides.

A consumer's sessions, with hand-built Fetch v7 frames (no Debian client opens sessions; the Java consumer
does, checked by hand): a full fetch (epoch 0) opens a session over 50 partitions; an incremental fetch
listing nothing answers nothing while nothing changes, answers exactly the partition a producer
wrote to, and takes a moved position; an unknown session id is FETCH_SESSION_ID_NOT_FOUND, a replayed
epoch INVALID_FETCH_SESSION_EPOCH; epoch -1 closes the session; a broker with
max.incremental.fetch.session.cache.slots=0 opens none.

Followers: three brokers replicate 200 partitions through sessions (the sessions gauge of the leaders'
metrics) while confluent-kafka writes to them, and every acknowledged record is on every replica; a leader
restarted with -9 forgets its sessions and the followers start new ones (FETCH_SESSION_ID_NOT_FOUND), the
data still converging."""

import re
import struct
import urllib.request

import kproto
from harness import check, eq, timeout, unique_topic, wait_until
from test_cluster import (create_topic_rf, log_end_of, wait_isr_full, wait_replicas_identical, wait_unregistered,
                          zk_state)
from test_confluent import produce_all

FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH = 70, 71


def fetch_v7(conn, session_id, epoch, parts, forgotten=(), max_wait_ms=0, min_bytes=0):
    """Fetch v7: parts = [(topic, partition, offset)], forgotten = [(topic, [partitions])]. Returns
    (error, session_id, {(topic, partition): (error, high_watermark, record bytes)})."""
    topics = {}
    for t, p, off in parts:
        topics.setdefault(t, []).append((p, off))
    body = (kproto.i32(-1) + kproto.i32(max_wait_ms) + kproto.i32(min_bytes) + kproto.i32(1 << 20) +
            kproto.i8(0) + kproto.i32(session_id) + kproto.i32(epoch) +
            kproto.array(list(topics.items()), lambda tp: kproto.string(tp[0]) + kproto.array(
                tp[1], lambda po: kproto.i32(po[0]) + kproto.i64(po[1]) + kproto.i64(-1) + kproto.i32(1 << 20))) +
            kproto.array(list(forgotten), lambda f: kproto.string(f[0]) + kproto.array(f[1], kproto.i32)))
    r = conn.request(kproto.API_FETCH, 7, body)
    r.i32()  # throttle
    err, sid = r.i16(), r.i32()
    out = {}

    def part(r, topic):
        idx, perr, hw = r.i32(), r.i16(), r.i64()
        r.i64()  # last stable offset
        r.i64()  # log start
        n = r.i32()
        for _ in range(max(n, 0)):
            r.i64()
            r.i64()
        size = r.i32()
        if size > 0:
            r.take(size)
        out[(topic, idx)] = (perr, hw, max(size, 0))

    def topic(r):
        name = r.string()
        n = r.i32()
        for _ in range(n):
            part(r, name)
    n = r.i32()
    for _ in range(n):
        topic(r)
    return err, sid, out


def produce_one(b, topic, p, value):
    with kproto.connect(b.bootstrap) as c:
        err, _ = kproto.produce_v3(c, topic, p, kproto.record_batch([(None, value)]))
    eq(err, 0, f"produce to {topic}-{p}")


@timeout(120)
def test_consumer_fetch_session_protocol(ctx):
    b = ctx.start_broker(0)
    topic = unique_topic("fs")
    n = 50
    with kproto.connect(b.bootstrap) as c:
        eq(kproto.create_topics_v0(c, [(topic, n, 1, {})]).get(topic), 0, "CreateTopics")
    wait_until(lambda: all(zk_state(ctx, topic, p)["leader"] == 0 for p in range(n)), 20, "leaders")
    produce_one(b, topic, 3, b"first")
    with kproto.connect(b.bootstrap) as c:
        parts = [(topic, p, 0) for p in range(n)]
        wait_until(lambda: fetch_v7(c, 0, -1, parts)[0] == 0 and
                   all(e == 0 for e, _, _ in fetch_v7(c, 0, -1, parts)[2].values()), 20, "partitions to be readable")
        err, sid, got = fetch_v7(c, 0, -1, parts)
        eq((err, sid, len(got)), (0, 0, n), "a sessionless full fetch (epoch -1): every partition, no session")
        err, sid, got = fetch_v7(c, 0, 0, parts)
        eq((err, len(got)), (0, n), "a full fetch with epoch 0 answers every partition")
        check(sid != 0, "a full fetch with epoch 0 opens a session")
        eq(got[(topic, 3)][2] > 0, True, "partition 3's record in the full fetch")
        # Position of partition 3 moves past its record; nothing else changed.
        err, sid2, got = fetch_v7(c, sid, 1, [(topic, 3, 1)])
        eq((err, sid2, got), (0, sid, {}), "an incremental fetch with nothing new answers nothing")
        err, _, got = fetch_v7(c, sid, 2, [])
        eq((err, got), (0, {}), "an incremental fetch listing nothing, nothing new")
        produce_one(b, topic, 17, b"second")
        err, _, got = fetch_v7(c, sid, 3, [])
        eq((err, sorted(got)), (0, [(topic, 17)]), "only the partition written to is answered")
        check(got[(topic, 17)][2] > 0 and got[(topic, 17)][1] == 1, f"its record and high watermark: {got}")
        err, _, got = fetch_v7(c, sid, 4, [(topic, 17, 1)])
        eq((err, got), (0, {}), "after the position moved past it")
        # Session errors.
        eq(fetch_v7(c, sid + 1 if sid < 2**31 - 1 else 1, 1, [])[0], FETCH_SESSION_ID_NOT_FOUND, "unknown session id")
        eq(fetch_v7(c, sid, 4, [])[0], INVALID_FETCH_SESSION_EPOCH, "a replayed epoch")
        err, _, got = fetch_v7(c, sid, 5, [], forgotten=[(topic, list(range(10)))])
        eq((err, got), (0, {}), "forgetting ten partitions")
        produce_one(b, topic, 4, b"third")  # forgotten: not answered
        produce_one(b, topic, 40, b"fourth")
        err, _, got = fetch_v7(c, sid, 6, [])
        eq(sorted(got), [(topic, 40)], "a forgotten partition is no longer read")
        err, sid3, got = fetch_v7(c, sid, -1, [(topic, 0, 0)])
        eq((err, sid3, len(got)), (0, 0, 1), "epoch -1 closes the session and is answered sessionless")
        eq(fetch_v7(c, sid, 7, [])[0], FETCH_SESSION_ID_NOT_FOUND, "the closed session is gone")


@timeout(60)
def test_fetch_sessions_off(ctx):
    b = ctx.start_broker(0, extra={"max.incremental.fetch.session.cache.slots": "0"})
    topic = unique_topic("fs-off")
    with kproto.connect(b.bootstrap) as c:
        eq(kproto.create_topics_v0(c, [(topic, 1, 1, {})]).get(topic), 0, "CreateTopics")
        wait_until(lambda: fetch_v7(c, 0, 0, [(topic, 0, 0)])[2].get((topic, 0), (-1,))[0] == 0, 20, "readable")
        err, sid, got = fetch_v7(c, 0, 0, [(topic, 0, 0)])
        eq((err, sid, len(got)), (0, 0, 1), "no session without slots")


def metric(b, name):
    # The port of the broker's latest start (port 0: a new one each time).
    port = re.findall(r"serving Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics",
                      b.log_path.read_text(errors="replace"))[-1]
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


@timeout(240)
def test_followers_replicate_through_sessions(ctx):
    brokers = ctx.start_cluster(3, extra={"metrics.listeners": "http://127.0.0.1:0"})
    topic = unique_topic("fs-rep")
    n = 200
    create_topic_rf(brokers, topic, n, 3)
    wait_isr_full(ctx, brokers, topic, range(n), timeout_s=90)
    gauge = "kafka_server_fetchsessioncache_numincrementalfetchsessions"
    for b in brokers:
        wait_until(lambda b=b: (metric(b, gauge) or 0) >= 1, 20, f"broker {b.broker_id} to hold follower sessions")
    def cached():
        return sum(metric(b, "kafka_server_fetchsessioncache_numincrementalfetchpartitionscached") for b in brokers)
    # Every partition is in the session of each of its two followers (once no partition is held back).
    wait_until(lambda: cached() == 2 * n, 20, f"{2 * n} partitions in the follower sessions (last {cached()})")
    bootstrap = ",".join(b.bootstrap for b in brokers)
    produce_all(bootstrap, topic, [(i % n, None, struct.pack(">I", i)) for i in range(4000)], extra={"acks": "all"})
    # A leader killed and restarted has no sessions: its followers start new ones.
    victim = brokers[0]
    victim.kill9()
    wait_unregistered(ctx, victim.broker_id)
    victim.start()
    produce_all(bootstrap, topic, [(i % n, None, struct.pack(">I", i)) for i in range(4000, 6000)],
                extra={"acks": "all"})
    wait_isr_full(ctx, brokers, topic, range(n), timeout_s=90)
    wait_until(lambda: (metric(victim, gauge) or 0) >= 1, 30, "the restarted broker to hold follower sessions again")
    for p in range(0, n, 20):
        data = wait_replicas_identical(ctx, brokers, topic, p)
        eq(log_end_of(data), 30, f"records of {topic}-{p} on every replica")
