"""Automatic topic creation on metadata requests (auto.create.topics.enable)."""

import kproto
from harness import check, eq, timeout, unique_topic, wait_topic_ready
from test_kcat import kcat


@timeout(60)
def test_auto_create_enabled(ctx):
    b = ctx.start_broker(0, extra={"auto.create.topics.enable": "true", "num.partitions": "3"})
    topic = unique_topic("auto")
    # kcat asks for the topic's metadata; the broker creates it with num.partitions.
    kcat(ctx, b.bootstrap, "-P", "-t", topic, "-p", "2", input="hello\nworld\n", t=30)
    wait_topic_ready(b.bootstrap, topic, 3)
    assignment, _ = ctx.zk_json(f"/brokers/topics/{topic}")
    eq(sorted(assignment.get("partitions", {})), ["0", "1", "2"], f"/brokers/topics/{topic} partitions")
    _, out, _ = kcat(ctx, b.bootstrap, "-C", "-t", topic, "-p", "2", "-o", "beginning", "-e", "-q")
    eq(out.splitlines(), ["hello", "world"], "records in the auto-created topic")

@timeout(60)
def test_auto_create_disabled(ctx):
    b = ctx.start_broker(0, extra={"auto.create.topics.enable": "false"})
    topic = unique_topic("noauto")
    with kproto.connect(b.bootstrap) as c:
        md = kproto.metadata_v1(c, [topic])  # v1..v3 imply allow_auto_topic_creation=true
        t = md["topics"].get(topic)
        check(t is not None, f"metadata response lacks {topic}: {md['topics']}")
        eq(t["error"], kproto.UNKNOWN_TOPIC_OR_PARTITION, "metadata error for an unknown topic")
        err, _ = kproto.produce_v3(c, topic, 0, kproto.record_batch([(None, b"x")]))
        eq(err, kproto.UNKNOWN_TOPIC_OR_PARTITION, "produce error for an unknown topic")
        # Asked again: still unknown, and nothing was written to ZooKeeper.
        eq(kproto.metadata_v1(c, [topic])["topics"][topic]["error"], kproto.UNKNOWN_TOPIC_OR_PARTITION,
           "metadata error on the second request")
    check(ctx.zk().exists(f"/brokers/topics/{topic}") is None, f"/brokers/topics/{topic} was created")
