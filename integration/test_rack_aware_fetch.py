"""Fetch from the closest replica (KIP-392): three brokers in racks r0, r1, r2 with
replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector. A consumer that names the
rack of a follower (client.rack in confluent-kafka, rackId in kafkajs) is sent there by the leader
(preferred_read_replica) and reads every record, in order, from the follower: the follower's
bytes-out metric for the topic grows, the leader's stays at zero. With a hand-built Fetch v11: the leader
names the follower of the client's rack and sends no records, names nobody for its own rack or no rack, and
a follower serves a v11 consumer fetch up to its high watermark; a v10 fetch to a follower is still
NOT_LEADER_OR_FOLLOWER."""

import json
import os
import struct
import time

import kproto
from harness import INTEGRATION, Skip, check, eq, timeout, unique_topic, wait_cluster_formed, wait_until
from test_cluster import create_topic_rf, wait_isr_full, zk_state
from test_confluent import ck, produce_all
from test_metrics import metrics_port, samples, scrape, value

SELECTOR = "org.apache.kafka.common.replica.RackAwareReplicaSelector"
N = 2000

KAFKAJS_RACK_CONSUMER = r"""
const { Kafka, logLevel } = require('kafkajs');
const [bootstrap, topic, rack, n] = process.argv.slice(2);
const kafka = new Kafka({ clientId: 'gregor-it-rack', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: 'gregor-it-rack-' + Date.now(), rackId: rack, maxWaitTimeInMs: 100 });
const got = [];
const timer = setTimeout(() => { console.log(JSON.stringify({ error: 'timeout', got: got.length })); process.exit(1); }, 60000);
(async () => {
  let done;
  const all = new Promise(resolve => { done = resolve; });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => {
    got.push(message.value.readUInt32BE(0));
    if (got.length === Number(n)) done();
  } });
  await all;
  clearTimeout(timer);
  console.log(JSON.stringify({ values: got }));
  // kafkajs waits for eachMessage to return before it disconnects: never from inside it.
  await consumer.disconnect();
  process.exit(0);
})().catch(e => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
"""


def fetch_v(conn, version, topic, partition, offset, rack=""):
    """Fetch v10/v11 for one partition: (error, high watermark, preferred read replica, record bytes)."""
    body = (kproto.i32(-1) + kproto.i32(0) + kproto.i32(0) + kproto.i32(1 << 20) + kproto.i8(0) +
            kproto.i32(0) + kproto.i32(-1) +
            kproto.array([topic], lambda t: kproto.string(t) + kproto.array(
                [partition], lambda p: kproto.i32(p) + kproto.i32(-1) + kproto.i64(offset) + kproto.i64(-1) +
                kproto.i32(1 << 20))) +
            kproto.array([], None))
    if version >= 11:
        body += kproto.string(rack)
    r = conn.request(kproto.API_FETCH, version, body)
    r.i32()
    r.i16()
    r.i32()
    out = None
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            r.i32()
            err, hw = r.i16(), r.i64()
            r.i64()
            r.i64()
            for _ in range(max(r.i32(), 0)):
                r.i64()
                r.i64()
            preferred = r.i32() if version >= 11 else -1
            size = r.i32()
            if size > 0:
                r.take(size)
            out = (err, hw, preferred, max(size, 0))
    return out


def bytes_out(b, topic):
    return value(samples(scrape(metrics_port(b))), "kafka_server_brokertopicmetrics_bytesout_total",
                 topic=topic) or 0


@timeout(240)
def test_consumers_fetch_from_a_follower_in_their_rack(ctx):
    brokers = [ctx.broker(i, extra={"broker.rack": f"r{i}", "replica.selector.class": SELECTOR,
                                    "metrics.listeners": "http://127.0.0.1:0"}) for i in range(3)]
    for b in brokers:
        b.start(wait=False)
    for b in brokers:
        b.wait_ready(60)
    wait_cluster_formed(brokers, 60)
    topic = unique_topic("rack")
    create_topic_rf(brokers, topic, 1, 3)
    wait_isr_full(ctx, brokers, topic, [0])
    leader = zk_state(ctx, topic, 0)["leader"]
    followers = [b for b in brokers if b.broker_id != leader]
    lead = next(b for b in brokers if b.broker_id == leader)
    bootstrap = ",".join(b.bootstrap for b in brokers)
    produce_all(bootstrap, topic, [(0, None, struct.pack(">I", i)) for i in range(N)])
    wait_isr_full(ctx, brokers, topic, [0])

    # The protocol first.
    with kproto.connect(lead.bootstrap) as c:
        err, hw, preferred, size = fetch_v(c, 11, topic, 0, 0, rack=f"r{followers[0].broker_id}")
        eq((err, hw, preferred, size), (0, N, followers[0].broker_id, 0),
           "Fetch v11 from the follower's rack: (error, hw, preferred replica, record bytes)")
        err, _, preferred, size = fetch_v(c, 11, topic, 0, 0, rack=f"r{leader}")
        check(err == 0 and preferred == -1 and size > 0, "the leader's own rack reads from the leader")
        err, _, preferred, size = fetch_v(c, 11, topic, 0, 0)
        check(err == 0 and preferred == -1 and size > 0, "no rack reads from the leader")
    f0 = followers[0]
    with kproto.connect(f0.bootstrap) as c:
        wait_until(lambda: fetch_v(c, 11, topic, 0, 0)[1] == N, 10, "the follower's high watermark to reach N")
        err, hw, preferred, size = fetch_v(c, 11, topic, 0, 0)
        check(err == 0 and hw == N and size > 0, f"a follower serves Fetch v11: {(err, hw, preferred, size)}")
        eq(fetch_v(c, 10, topic, 0, 0)[0], 6, "a follower refuses Fetch v10 (NOT_LEADER_OR_FOLLOWER)")

    leader_out = bytes_out(lead, topic)
    # confluent-kafka in the rack of the first follower.
    k = ck()
    before = bytes_out(f0, topic)
    c = k.Consumer({"bootstrap.servers": bootstrap, "group.id": "gregor-it-rack-ck", "client.rack": f"r{f0.broker_id}",
                    "auto.offset.reset": "earliest", "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    got = []
    try:
        c.assign([k.TopicPartition(topic, 0, 0)])
        deadline = time.time() + 60
        while len(got) < N and time.time() < deadline:
            for m in c.consume(num_messages=500, timeout=0.5):
                if m.error() is None:
                    got.append(struct.unpack(">I", m.value())[0])
    finally:
        c.close()
    eq(got, list(range(N)), "confluent-kafka (client.rack) read every record in order")
    check(bytes_out(f0, topic) - before >= N * 4, f"broker {f0.broker_id} (rack r{f0.broker_id}) served the records")

    # kafkajs in the rack of the second follower.
    if os.environ.get("GREGOR_IT_NODE_UNAVAILABLE") or not (INTEGRATION / "node_modules" / "kafkajs").exists():
        raise Skip("kafkajs not installed; confluent-kafka part passed")
    f1 = followers[1]
    before = bytes_out(f1, topic)
    _, out, _ = ctx.run(["node", "-", bootstrap, topic, f"r{f1.broker_id}", str(N)], input=KAFKAJS_RACK_CONSUMER,
                        timeout=90, check_rc=0, cwd=INTEGRATION)
    res = json.loads(out.strip().splitlines()[-1])
    eq(res.get("values"), list(range(N)), f"kafkajs (rackId) read every record in order: {res.get('error')}")
    check(bytes_out(f1, topic) - before >= N * 4, f"broker {f1.broker_id} (rack r{f1.broker_id}) served kafkajs")
    eq(bytes_out(lead, topic), leader_out, "the leader sent no records to the consumers")
