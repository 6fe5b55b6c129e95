"""Durability of acknowledged writes across kill -9 and restart on the same log dir."""

import time

from harness import check, create_topic, eq, list_offset, timeout, unique_topic, wait_topic_ready, wait_until
from test_confluent import ck, consume_assigned


@timeout(120)
def test_acked_records_survive_kill9(ctx):
    k = ck()
    # A short ZooKeeper session so the dead broker's ephemeral /brokers/ids/0 expires quickly; a restarted
    # broker cannot register while the old session's node is still there (as in Kafka).
    extra = {"zookeeper.session.timeout.ms": "4000"}
    b = ctx.start_broker(0, extra=extra)
    topic = unique_topic("durable")
    create_topic(b.bootstrap, topic, partitions=2)

    p = k.Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 2,
                    "message.timeout.ms": 8000, "retries": 0, "reconnect.backoff.max.ms": 500})
    acked = set()
    failed = []

    def cb(err, msg):
        if err is None:
            acked.add(int(msg.value()))
        else:
            failed.append(int(msg.value()))

    i = 0
    killed_at = None
    deadline = time.monotonic() + 40
    # Produce steadily; kill -9 the broker once 3000 records are acknowledged, keep producing for a moment so
    # that records are in flight at the moment of the kill.
    while time.monotonic() < deadline:
        try:
            p.produce(topic, value=str(i).encode(), partition=i % 2, on_delivery=cb)
            i += 1
        except BufferError:
            pass
        p.poll(0.001 if i % 50 == 0 else 0)
        if killed_at is None and len(acked) >= 3000:
            b.kill9()
            killed_at = i
        if killed_at is not None and i >= killed_at + 500:
            break
    check(killed_at is not None, f"only {len(acked)} records acknowledged in 40s before the kill")
    p.flush(15)
    check(len(acked) >= 3000, f"acknowledged: {len(acked)}")
    before_kill_acked = len(acked)

    zk = ctx.zk()
    wait_until(lambda: zk.exists("/brokers/ids/0") is None, 20, "the killed broker's session to expire")
    b.start(timeout=40)
    wait_topic_ready(b.bootstrap, topic, 2)  # leadership comes back asynchronously (controller)

    ends = [list_offset(b.bootstrap, topic, part, -1) for part in (0, 1)]
    total = sum(ends)
    check(total >= len(acked), f"log end offsets {ends} hold fewer records than the {len(acked)} acknowledged")
    got = consume_assigned(b.bootstrap, topic, [0, 1], total, t=60)
    seen = set()
    for part in (0, 1):
        offs = [o for o, _, _ in got[part]]
        eq(offs, list(range(len(offs))), f"offsets of partition {part} after recovery")
        seen.update(int(v) for _, _, v in got[part])
    missing = sorted(acked - seen)
    check(not missing, f"{len(missing)} acknowledged records lost after kill -9 (of {len(acked)}; "
                       f"{before_kill_acked} acked at kill), e.g. {missing[:10]}")

    # The restarted broker still takes writes at the right offsets.
    p2 = k.Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
    res = []
    p2.produce(topic, value=b"after-restart", partition=0, on_delivery=lambda e, m: res.append((e, m.offset())))
    p2.flush(15)
    eq(res, [(None, ends[0])], "offset of the first record produced after restart")
