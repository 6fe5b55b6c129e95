"""Kafka's admin APIs for operators, on two real brokers: DescribeCluster (KIP-700) and DescribeLogDirs through
gregorctl (`cluster describe`, `log-dirs describe`, JSON as kafka-log-dirs.sh prints it) and a raw client (kproto),
checked against ZooKeeper and the files on disk."""

import json
import os

import kproto
from harness import GREGORCTL, check, eq, timeout, unique_topic, wait_until
from test_confluent import produce_all

API_DESCRIBE_CLUSTER = 60


def describe_cluster(c, endpoint_type=1, version=1):
    body = kproto.i8(0) + (kproto.i8(endpoint_type) if version >= 1 else b"") + kproto.uvarint(0)
    r = kproto.flexible_request(c, API_DESCRIBE_CLUSTER, version, body)
    r.i32()  # throttle
    err = r.i16()
    kproto.read_compact_string(r)
    if version >= 1:
        r.i8()
    cluster_id = kproto.read_compact_string(r)
    controller = r.i32()

    def broker(r):
        b = (r.i32(), kproto.read_compact_string(r), r.i32(), kproto.read_compact_string(r))
        kproto.skip_tagged_fields(r)
        return b
    brokers = kproto.read_compact_array(r, broker) or []
    return err, cluster_id, controller, brokers


@timeout(120)
def test_cluster_and_log_dirs_describe(ctx):
    brokers = ctx.start_cluster(2)
    topic = unique_topic("dirs")
    with kproto.connect(brokers[0].bootstrap) as c:
        eq(kproto.create_topics_v0(c, [(topic, 2, 2, {})]).get(topic), 0, "CreateTopics")
    bootstrap = ",".join(b.bootstrap for b in brokers)
    produce_all(bootstrap, topic, [(i % 2, None, b"%04d" % i * 25) for i in range(400)])

    cluster_id = ctx.zk().get("/cluster/id")[0].decode()
    controller = json.loads(ctx.zk().get("/controller")[0])["brokerid"]
    with kproto.connect(brokers[1].bootstrap) as c:
        err, cid, ctl, listed = describe_cluster(c)
        eq((err, cid, ctl), (0, json.loads(cluster_id)["id"], controller), "DescribeCluster v1")
        eq(sorted((b[0], b[2]) for b in listed), sorted((b.broker_id, b.port) for b in brokers), "brokers listed")
        eq(describe_cluster(c, endpoint_type=2)[0], 114, "controllers asked of a broker: MISMATCHED_ENDPOINT_TYPE")
        eq(describe_cluster(c, endpoint_type=7)[0], 115, "an unknown endpoint type: UNSUPPORTED_ENDPOINT_TYPE")
        eq(describe_cluster(c, version=0)[0], 0, "DescribeCluster v0")

    def ctl(*args):
        _, out, _ = ctx.run([GREGORCTL, "-b", bootstrap, *args], timeout=30, check_rc=0)
        return out
    described = json.loads(ctl("cluster", "describe", "--output", "json"))
    eq((described["cluster_id"], described["controller"]), (json.loads(cluster_id)["id"], controller),
       "gregorctl cluster describe")
    eq([b["id"] for b in described["brokers"]], [0, 1], "gregorctl cluster describe brokers")
    table = ctl("cluster", "describe")
    check("Controller: %d" % controller in table and "BROKER" in table, table)

    def on_disk(b, p):
        d = b.log_dir / f"{topic}-{p}"
        return sum(os.path.getsize(d / f) for f in os.listdir(d) if f.endswith(".log"))
    wait_until(lambda: all(on_disk(b, p) > 0 for b in brokers for p in (0, 1)), 20, "both replicas written")
    dirs = json.loads(ctl("log-dirs", "describe", "--topic", topic, "--output", "json"))
    eq(dirs["version"], 1, "kafka-log-dirs.sh's layout")
    eq([b["broker"] for b in dirs["brokers"]], [0, 1], "every broker described")
    for entry in dirs["brokers"]:
        b = brokers[entry["broker"]]
        eq(len(entry["logDirs"]), 1, "one log dir")
        d = entry["logDirs"][0]
        eq((d["logDir"], d["error"]), (os.path.realpath(b.log_dir), None), f"broker {b.broker_id}'s log dir")
        got = {p["partition"]: (p["size"], p["offsetLag"], p["isFuture"]) for p in d["partitions"]}
        eq(got, {f"{topic}-{p}": (on_disk(b, p), 0, False) for p in (0, 1)}, f"broker {b.broker_id}'s partitions")
    one = json.loads(ctl("log-dirs", "describe", "--broker", "1", "--output", "json"))
    eq([b["broker"] for b in one["brokers"]], [1], "--broker limits the brokers asked")
    check(f"{topic}-0" in ctl("log-dirs", "describe"), "the table lists the partitions")


@timeout(120)
def test_topic_describe_filters_after_a_broker_dies(ctx):
    """gregorctl topic describe --under-replicated / --under-min-isr / --at-min-isr / --unavailable, as
    kafka-topics.sh --describe filters: nothing while the cluster is healthy; after broker 1's kill -9, the RF 2
    topic's partitions are under-replicated and under min.insync.replicas=2, the RF 1 topic's partition on broker 1
    is unavailable."""
    brokers = ctx.start_cluster(2)
    rf2, rf1 = unique_topic("rf2"), unique_topic("rf1")
    with kproto.connect(brokers[0].bootstrap) as c:
        res = kproto.create_topics_v0(c, [(rf2, 2, 2, {"min.insync.replicas": "2"}), (rf1, 2, 1, {})])
    eq((res.get(rf2), res.get(rf1)), (0, 0), "CreateTopics")
    bootstrap = ",".join(b.bootstrap for b in brokers)

    def describe(*flags, bs=bootstrap):
        _, out, _ = ctx.run([GREGORCTL, "-b", bs, "topic", "describe", *flags], timeout=30, check_rc=0)
        return sorted(line.split("\t")[1:3] for line in out.splitlines() if line.startswith("\tTopic:"))

    def healthy():
        return len(describe()) == 4 and describe("--under-replicated") == []
    wait_until(healthy, 30, "all partitions in sync")
    for flag in ("--under-min-isr", "--unavailable"):
        eq(describe(flag), [], f"{flag} on a healthy cluster")
    eq(len(describe("--at-min-isr")), 4, "every partition is at its min.insync.replicas (2 and the default 1)")

    on_1 = [p for p in (0, 1) if describe(rf1) and
            any(f"Partition: {p}" in line and "Leader: 1" in line for line in
                ctx.run([GREGORCTL, "-b", bootstrap, "topic", "describe", rf1], timeout=30, check_rc=0)[1]
                .splitlines())]
    eq(len(on_1), 1, "one RF 1 partition is led by broker 1")
    brokers[1].kill9()
    survivor = brokers[0].bootstrap
    want_rf2 = [[f"Topic: {rf2}", f"Partition: {p}"] for p in (0, 1)]
    wait_until(lambda: describe("--under-replicated", bs=survivor) == want_rf2, 40,
               "the RF 2 topic's partitions under-replicated")
    eq(describe("--under-min-isr", bs=survivor), want_rf2, "and under min.insync.replicas")
    wait_until(lambda: describe("--unavailable", bs=survivor) == [[f"Topic: {rf1}", f"Partition: {on_1[0]}"]], 30,
               "the RF 1 partition of the dead broker unavailable")


@timeout(180)
def test_gregorctl_partition_reassign_plan_execute_verify(ctx):
    """gregorctl partition reassign, the kafka-reassign-partitions.sh workflow: --plan proposes replication factor 2
    over three brokers for a topic written with one replica, --execute --wait starts it (AlterPartitionReassignments)
    and shows progress until ListPartitionReassignments has nothing left, --verify reports it complete; the
    metadata then has the planned replicas in sync and a consumer reads every record back."""
    from test_confluent import consume_assigned
    brokers = ctx.start_cluster(3)
    topic = unique_topic("move")
    with kproto.connect(brokers[0].bootstrap) as c:
        eq(kproto.create_topics_v0(c, [(topic, 3, 1, {})]).get(topic), 0, "CreateTopics")
    bootstrap = ",".join(b.bootstrap for b in brokers)
    records = [(i % 3, None, b"r%05d" % i) for i in range(3000)]
    produce_all(bootstrap, topic, records)

    def ctl(*args, rc=0):
        _, out, err = ctx.run([GREGORCTL, "-b", bootstrap, "partition", "reassign", *args], timeout=120,
                              check_rc=rc)
        return out, err
    out, _ = ctl("--plan", "--topic", topic, "--brokers", "0,1,2", "--replication-factor", "2")
    lines = out.splitlines()
    proposed = json.loads(lines[lines.index("Proposed partition reassignment configuration") + 1])
    eq(sorted((p["partition"], len(p["replicas"])) for p in proposed["partitions"]), [(0, 2), (1, 2), (2, 2)],
       "the plan gives every partition two replicas")
    plan = ctx.dir / "plan.json"
    plan.write_text(json.dumps(proposed))
    out, err = ctl("--execute", "--reassignment-json-file", plan, "--wait")
    check("Successfully started partition reassignments for" in out, out)
    check("3/3 partitions reassigned" in err, f"progress on stderr: {err!r}")
    check(out.count("is complete.") == 3, out)
    out, _ = ctl("--verify", "--reassignment-json-file", plan)
    eq(out.count("is complete."), 3, f"--verify: {out}")
    with kproto.connect(brokers[0].bootstrap) as c:
        parts = kproto.metadata_v1(c, [topic])["topics"][topic]["partitions"]
    want = {p["partition"]: sorted(p["replicas"]) for p in proposed["partitions"]}
    eq({p["partition"]: sorted(p["replicas"]) for p in parts}, want, "replicas as planned")
    eq({p["partition"]: sorted(p["isr"]) for p in parts}, want, "and all in sync")
    got = consume_assigned(bootstrap, topic, [0, 1, 2], 3000)
    eq(sorted(v for part in got.values() for _, _, v in part), sorted(v for _, _, v in records),
       "every record read back after the move")
    # A plan naming a partition that does not exist is refused before anything starts.
    bad = ctx.dir / "bad.json"
    bad.write_text(json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 9, "replicas": [0]}]}))
    _, err = ctl("--execute", "--reassignment-json-file", bad, rc=1)
    check("does not exist" in err, err)
    bad.write_text("{not json")
    ctl("--verify", "--reassignment-json-file", bad, rc=2)
