"""@platformatic/kafka 1.x (npm, pure JavaScript; `js/platformatic_client.js`) against one gregord: its producer
writes to a 3-partition topic and its consumer, in a consumer group, reads everything back; librdkafka reads the
same records; and the platformatic consumer reads what librdkafka wrote. Each check counts the lost, duplicated
and reordered (per partition) records, which must all be 0.

This client fetches with topic ids (Fetch v13+, KIP-516) taken from Metadata v10+; its Fetch v12 encoder writes
the topic id where v12 has the topic name, so it can only consume from a broker that serves Fetch 13+."""

import json
import os
import time

from harness import INTEGRATION, Skip, check, create_topic, eq, timeout, unique_topic
from test_confluent import ck, produce_all

NEEDS_NODE = True  # the runner installs package.json's packages (npm) when node_modules is missing

PACKAGE = "@platformatic/kafka"
GROUP_EXTRA = {"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "4",
               "offsets.topic.replication.factor": "1"}
PARTITIONS = 3


def platformatic(ctx, *args, t=60):
    """Runs js/platformatic_client.js; returns its JSON result line. SKIP only when npm could not install it."""
    if not (INTEGRATION / "node_modules" / PACKAGE / "package.json").exists():
        reason = os.environ.get("GREGOR_IT_NPM_ERROR") or f"integration/node_modules/{PACKAGE} missing"
        raise Skip(f"{PACKAGE} not installable: {reason}")
    rc, out, err = ctx.run(["node", INTEGRATION / "js" / "platformatic_client.js", *args], timeout=t, cwd=INTEGRATION)
    lines = out.strip().splitlines()
    res = json.loads(lines[-1]) if lines else {}
    check(rc == 0 and "error" not in res,
          f"{PACKAGE} {args[2]} exited {rc}: {res.get('error') or err.strip()[-800:]}")
    return res


def check_per_partition(records, expected, what):
    """records: [(partition, offset, value)] as a consumer delivered them; expected: {value: (partition, offset)}.
    Counts lost, duplicated, unexpected and reordered records (offsets not increasing within a partition, or a
    value at another place than where it was acknowledged); every count must be 0."""
    seen = {}
    dup = wrong = reordered = 0
    last = {}
    for part, off, value in records:
        if value in seen:
            dup += 1
        seen[value] = (part, off)
        if expected.get(value) != (part, off):
            wrong += 1
        if off <= last.get(part, -1):
            reordered += 1
        last[part] = off
    lost = sum(1 for v in expected if v not in seen)
    print(f"FIGURES {what}: expected {len(expected)}, read {len(records)}, lost {lost}, duplicates {dup}, "
          f"misplaced {wrong}, reordered {reordered}")
    eq((lost, dup, wrong, reordered), (0, 0, 0, 0), f"{what}: (lost, duplicated, misplaced, reordered)")


def ck_read_all(bootstrap, topic, n, t=30):
    """librdkafka (assign, no group) reads every partition from the beginning until n records arrived."""
    k = ck()
    c = k.Consumer({"bootstrap.servers": bootstrap, "group.id": unique_topic("ckread"), "enable.auto.commit": False,
                    "auto.offset.reset": "earliest"})
    got = []
    try:
        c.assign([k.TopicPartition(topic, p, k.OFFSET_BEGINNING) for p in range(PARTITIONS)])
        deadline = time.monotonic() + t
        while len(got) < n and time.monotonic() < deadline:
            for m in c.consume(500, 0.5):
                check(not m.error(), f"librdkafka consume error: {m.error()}")
                got.append((m.partition(), m.offset(), m.value().decode()))
    finally:
        c.close()
    return got


@timeout(150)
def test_platformatic_produce_and_group_consume(ctx):
    n = 300
    b = ctx.start_broker(0, extra=GROUP_EXTRA)
    topic = unique_topic("plt")
    create_topic(b.bootstrap, topic, partitions=PARTITIONS)

    # platformatic produces; its own group consumer and librdkafka read the same records.
    res = platformatic(ctx, b.bootstrap, topic, "produce", str(n), "p", str(PARTITIONS))
    acked = {v: (p, o) for p, o, v in res["offsets"]}
    eq(sorted(acked), sorted(f"p{i}" for i in range(n)), "values acknowledged to the platformatic producer")
    eq(sorted({p for p, _ in acked.values()}), list(range(PARTITIONS)), "partitions written")
    group = unique_topic("gplt")
    seen = platformatic(ctx, b.bootstrap, topic, "consume", str(n), group)["seen"]
    check_per_partition([tuple(r) for r in seen], acked, "platformatic consumer, platformatic records")
    check_per_partition(ck_read_all(b.bootstrap, topic, n), acked, "librdkafka, platformatic records")

    # The group's commits (next offset of each partition) are where librdkafka would resume.
    k = ck()
    c = k.Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        committed = c.committed([k.TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    finally:
        c.close()
    ends = {}
    for p, o in acked.values():
        ends[p] = max(ends.get(p, -1), o + 1)
    eq(sorted((tp.partition, tp.offset) for tp in committed), sorted(ends.items()),
       "offsets committed by the platformatic consumer (partition, next offset)")

    # librdkafka produces to a second topic; a new platformatic group reads it all.
    topic2 = unique_topic("pltck")
    create_topic(b.bootstrap, topic2, partitions=PARTITIONS)
    acked2 = produce_all(b.bootstrap, topic2, [(i % PARTITIONS, None, f"c{i}".encode()) for i in range(n)])
    acked2 = {v.decode(): po for v, po in acked2.items()}
    seen2 = platformatic(ctx, b.bootstrap, topic2, "consume", str(n), unique_topic("gplt2"))["seen"]
    check_per_partition([tuple(r) for r in seen2], acked2, "platformatic consumer, librdkafka records")
