"""Replication throttles (KIP-73) on three real brokers: leader.replication.throttled.rate and
follower.replication.throttled.rate (dynamic broker configs) over the replicas the topic configs
leader/follower.replication.throttled.replicas name. A follower that is out of the ISR copies slowly while throttled
(on either side) and catches up once the throttle is cleared; followers in the ISR are never throttled, so acks=all
producers keep going. `gregorctl partition reassign --execute --throttle` sets Kafka's throttles for a reassignment
and clears them when it is complete, and the moved replicas hold every record."""

import json
import subprocess
import time

import kproto
from harness import GREGORCTL, check, eq, timeout, unique_topic, wait_until
from test_confluent import consume_assigned, produce_all

# A short rate window (2 samples of 1 s) makes the bound bite after ~1 s instead of Kafka's 10.
# Fetches of 256 KiB keep a throttled follower well behind for as long as a loaded machine may need.
WINDOW = {"replication.quota.window.num": "2", "replication.quota.window.size.seconds": "1",
          "replica.fetch.max.bytes": "262144"}
VALUE = b"v" * 1000


def partition_state(broker, topic):
    with kproto.connect(broker.bootstrap) as c:
        return kproto.metadata_v1(c, [topic])["topics"][topic]["partitions"]


def replica_bytes(broker, topic, partition=0):
    """Bytes of the partition's segments in this broker's data directory (0 when it has none yet)."""
    d = broker.log_dir / f"{topic}-{partition}"
    return sum(f.stat().st_size for f in d.glob("*.log")) if d.exists() else 0


def config(ctx, bootstrap, *args):
    return ctx.run([GREGORCTL, "-b", bootstrap, "config", *args], timeout=30, check_rc=0)[1]


@timeout(240)
def test_throttled_out_of_sync_follower_and_in_sync_acks(ctx):
    """Per side: with broker 2 down, 8 MB more is written; it restarts under a 1 B/s throttle (follower side first,
    then leader side) and copies no more than the few fetches the window lets through, while acks=all produce
    requests (ISR: the two other brokers) complete as fast as before; clearing the throttle lets it catch up and
    rejoin the ISR."""
    brokers = ctx.start_cluster(3, extra=WINDOW)
    bootstrap = ",".join(b.bootstrap for b in brokers)
    topic = unique_topic("thr")
    with kproto.connect(brokers[0].bootstrap) as c:
        eq(kproto.create_topics_v0(c, [(topic, 1, 3, {"min.insync.replicas": "2"})]).get(topic), 0, "CreateTopics")
    wait_until(lambda: sorted(partition_state(brokers[0], topic)[0]["isr"]) == [0, 1, 2], 30, "ISR of three")
    leader = partition_state(brokers[0], topic)[0]["leader"]
    # The lagging follower: not the leader (broker 2 unless it leads, then broker 1).
    lagging = brokers[2] if leader != 2 else brokers[1]
    alive = [b for b in brokers if b is not lagging]
    alive_bs = ",".join(b.bootstrap for b in alive)
    total = 0

    for side in ("follower", "leader"):
        lagging.stop()
        wait_until(lambda: lagging.broker_id not in partition_state(alive[0], topic)[0]["isr"], 40,
                   f"broker {lagging.broker_id} out of the ISR")
        # Batches of at most 64 KB, so that a fetch of replica.fetch.max.bytes (256 KiB) holds several: the
        # leader sends a whole first batch whatever its size.
        produce_all(alive_bs, topic, [(0, None, b"%07d" % (total + i) + VALUE) for i in range(8000)],
                    extra={"acks": "1", "batch.size": "65536"})
        total += 8000
        throttled_broker = lagging if side == "follower" else brokers[leader]
        config(ctx, alive_bs if side == "leader" else bootstrap, "alter", "--topic", topic,
               "--set", f"{side}.replication.throttled.replicas=*")
        if side == "follower":
            # The lagging broker is down: its per-broker entity is applied when it starts (read at start-up).
            config(ctx, alive_bs, "alter", "--broker-defaults", "--set", "follower.replication.throttled.rate=1")
        else:
            config(ctx, alive_bs, "alter", "--broker", str(throttled_broker.broker_id),
                   "--set", "leader.replication.throttled.rate=1")
        before = replica_bytes(lagging, topic)
        lagging.start()
        # The copy is measured over 6 s from the restart, apart from the produce below, whose duration depends on
        # the machine's load. Unthrottled, 8 MB copies in well under a second; at 1 B/s each 2 s window lets about
        # one fetch of replica.fetch.max.bytes (256 KiB here) through.
        time.sleep(6)
        copied = replica_bytes(lagging, topic) - before
        check(copied < 3 * 1024 * 1024, f"{side} throttle: the lagging follower copied {copied} bytes in 6 s")
        # In-sync followers are not throttled: 300 acks=all records complete promptly meanwhile.
        t0 = time.monotonic()
        produce_all(bootstrap, topic, [(0, None, b"acked%07d" % (total + i)) for i in range(300)], t=30)
        total += 300
        acks_s = time.monotonic() - t0
        check(acks_s < 15, f"{side} throttle: acks=all took {acks_s:.1f} s with the ISR unthrottled")
        eq(lagging.broker_id in partition_state(alive[0], topic)[0]["isr"], False,
           f"{side} throttle: the lagging follower is still out of the ISR")
        if side == "follower":
            config(ctx, bootstrap, "alter", "--broker-defaults", "--delete", "follower.replication.throttled.rate")
        else:
            config(ctx, bootstrap, "alter", "--broker", str(throttled_broker.broker_id),
                   "--delete", "leader.replication.throttled.rate")
        config(ctx, bootstrap, "alter", "--topic", topic, "--delete", f"{side}.replication.throttled.replicas")
        wait_until(lambda: lagging.broker_id in partition_state(brokers[0], topic)[0]["isr"], 40,
                   f"broker {lagging.broker_id} back in the ISR once the {side} throttle is cleared")
        print(f"{side} throttle: {copied} bytes copied in 6 s at 1 B/s; acks=all for 300 records {acks_s:.2f} s")

    got = consume_assigned(bootstrap, topic, [0], total)
    eq(len(got[0]), total, "every record read back")


@timeout(240)
def test_gregorctl_reassign_with_throttle(ctx):
    """--execute --throttle 1000000 sets the leader list to the current replica, the follower list to the two new
    ones and the rates on all three brokers (DescribeConfigs shows them); the move of 6 MB then takes seconds rather
    than a fraction of one; --wait shows progress and clears every throttle at the end; the moved replicas hold
    every record."""
    brokers = ctx.start_cluster(3, extra=WINDOW)
    bootstrap = ",".join(b.bootstrap for b in brokers)
    topic = unique_topic("rthr")
    with kproto.connect(brokers[0].bootstrap) as c:
        eq(kproto.create_topics_v0(c, [(topic, 1, 1, {})]).get(topic), 0, "CreateTopics")
    records = [(0, None, b"%06d" % i + VALUE) for i in range(6000)]
    produce_all(bootstrap, topic, records)
    source = partition_state(brokers[0], topic)[0]["replicas"][0]
    targets = [source] + [b.broker_id for b in brokers if b.broker_id != source]
    plan = ctx.dir / "plan.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 0,
                                                              "replicas": targets}]}))

    def ctl(*args, rc=0):
        _, out, err = ctx.run([GREGORCTL, "-b", bootstrap, "partition", "reassign", *args], timeout=180,
                              check_rc=rc)
        return out, err
    # Bad usage is refused before anything is sent.
    ctl("--verify", "--reassignment-json-file", plan, "--throttle", "10", rc=2)
    ctl("--execute", "--reassignment-json-file", plan, "--throttle", "-1", rc=2)

    t0 = time.monotonic()
    proc = ctx.popen([GREGORCTL, "-b", bootstrap, "partition", "reassign", "--execute", "--reassignment-json-file",
                      plan, "--throttle", "1000000", "--wait"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     text=True)

    def described(*entity):
        out = config(ctx, bootstrap, "describe", *entity, "--output", "json")
        return {c["name"]: c["value"] for c in json.loads(out)["configs"]}
    others = sorted(t for t in targets if t != source)
    want_topic = {"leader.replication.throttled.replicas": f"0:{source}",
                  "follower.replication.throttled.replicas": ",".join(f"0:{b}" for b in others)}
    wait_until(lambda: all(described("--topic", topic).get(k) == v for k, v in want_topic.items()), 20,
               f"the topic's throttled replicas {want_topic}")
    for b in brokers:
        got = described("--broker", str(b.broker_id))
        eq((got.get("leader.replication.throttled.rate"), got.get("follower.replication.throttled.rate")),
           ("1000000", "1000000"), f"broker {b.broker_id}'s throttle rates")
    out, err = proc.communicate(timeout=120)
    elapsed = time.monotonic() - t0
    eq(proc.returncode, 0, f"reassign --wait: {out} {err}")
    check("The replication throttle was set to 1000000 B/s on brokers 0,1,2" in out, out)
    check("1/1 partitions reassigned" in err, err)
    check("Cleared the replication throttles on brokers 0,1,2 and topics " + topic in out, out)
    # 6 MB to each new replica at 1 MB/s (after the first window's allowance): several seconds.
    check(elapsed > 3, f"the throttled move took {elapsed:.1f} s")
    eq([k for k in described("--topic", topic) if "throttled" in k], [], "topic throttles cleared")
    for b in brokers:
        got = described("--broker", str(b.broker_id))
        eq([k for k in got if "throttled" in k], [], f"broker {b.broker_id}'s throttles cleared")
    state = partition_state(brokers[0], topic)[0]
    eq((sorted(state["replicas"]), sorted(state["isr"])), ([0, 1, 2], [0, 1, 2]), "moved and in sync")
    got = consume_assigned(bootstrap, topic, [0], len(records))
    eq([v for _, _, v in got[0]], [v for _, _, v in records], "every record, in order")
    sizes = {b.broker_id: replica_bytes(b, topic) for b in brokers}
    eq(len(set(sizes.values())), 1, f"replicas of equal size {sizes}")
    print(f"throttled reassignment of {sizes[source]} bytes to 2 replicas at 1 MB/s: {elapsed:.1f} s")
