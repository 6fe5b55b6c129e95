"""kafkajs 2.2.4 (npm): admin createTopics/fetchTopicMetadata/fetchTopicOffsets/deleteTopics and
producer.send with acks -1, verified with kcat."""

import json
import os

import kproto
from harness import INTEGRATION, Skip, check, eq, timeout, unique_topic, wait_until
from test_kcat import kcat

NEEDS_NODE = True


def node(ctx, *args, t=60):
    reason = os.environ.get("GREGOR_IT_NODE_UNAVAILABLE")
    if reason:
        raise Skip(f"kafkajs not installable: {reason}")
    if not (INTEGRATION / "node_modules" / "kafkajs").exists():
        raise Skip("kafkajs not installed (integration/node_modules missing)")
    _, out, _ = ctx.run(["node", INTEGRATION / "js" / "admin_produce.js", *args], timeout=t, check_rc=0,
                        cwd=INTEGRATION)
    return json.loads(out.strip().splitlines()[-1])


@timeout(90)
def test_kafkajs_admin_and_producer(ctx):
    b = ctx.start_broker(0)
    topic = unique_topic("kjs")
    res = node(ctx, b.bootstrap, topic, "create")
    eq(res["created"], True, "createTopics result")
    md = [(t["name"], sorted((p["id"], p["leader"]) for p in t["partitions"])) for t in res["metadata"]]
    eq(md, [(topic, [(0, 0), (1, 0)])], "fetchTopicMetadata (name, [(partition, leader)])")
    eq(sorted((r["partition"], r["errorCode"], r["baseOffset"]) for r in res["send"]),
       [(0, 0, "0"), (1, 0, "0")], "producer.send results")
    offs = sorted((o["partition"], o["high"], o["low"]) for o in res["offsets"])
    eq(offs, [(0, "50", "0"), (1, "50", "0")], "fetchTopicOffsets (partition, high, low)")
    check(topic in res["topics"], f"{topic} not in listTopics {res['topics']}")

    for part in (0, 1):
        _, out, _ = kcat(ctx, b.bootstrap, "-C", "-t", topic, "-p", str(part), "-o", "beginning", "-e", "-q",
                         "-f", "%k=%s\n")
        eq(out.splitlines(), [f"k{i}=kafkajs {i}" for i in range(part, 100, 2)], f"partition {part} via kcat")

    node(ctx, b.bootstrap, topic, "delete")

    def gone():
        with kproto.connect(b.bootstrap) as c:
            return topic not in kproto.metadata_v1(c, None)["topics"]
    wait_until(gone, 20, f"{topic} to disappear after kafkajs deleteTopics")
