"""AlterReplicaLogDirs (KIP-113): a broker with two log.dirs moves a partition from one to the other with
`gregorctl log-dirs move` while a real client (confluent-kafka) keeps producing to it. DescribeLogDirs shows the
future replica during the move and the partition in its new dir afterwards; every acknowledged record reads back
once and in order (a checker counts lost, duplicated and reordered records); the old dir is deleted; all of it
survives a restart. Bad inputs: a dir that is not a log dir, a partition the broker does not hold, an offline
dir (raw v2 requests, flexible encoding)."""

import json
import os
import threading
import time
from pathlib import Path

import kproto
from harness import (GREGORCTL, Broker, check, eq, require_module, timeout, unique_topic, wait_topic_ready,
                     wait_until)

API_ALTER_REPLICA_LOG_DIRS = 34
NONE, REPLICA_NOT_AVAILABLE, KAFKA_STORAGE_ERROR, LOG_DIR_NOT_FOUND, CLUSTER_AUTHORIZATION_FAILED = 0, 9, 56, 57, 31


class MultiDirBroker(Broker):
    """A broker whose log.dirs lists several dirs."""

    def __init__(self, ctx, log_dirs, **kw):
        super().__init__(ctx, 0, **kw)
        self.log_dirs = [Path(d) for d in log_dirs]
        for d in self.log_dirs:
            if d not in ctx.data_dirs:
                ctx.data_dirs.append(d)

    def args(self):
        a = [x for x in super().args() if not str(x).startswith("--log.dirs=")]
        return a + ["--log.dirs=" + ",".join(str(d) for d in self.log_dirs)]


def ctl(ctx, b, *args, check_rc=0, t=60):
    return ctx.run([GREGORCTL, "-b", b.bootstrap, *args], timeout=t, check_rc=check_rc)


def placement(ctx, b, topic):
    """{partition name: [(log dir, size, offset lag, is future)]} from `gregorctl log-dirs describe`."""
    _, out, _ = ctl(ctx, b, "log-dirs", "describe", "--topic", topic, "--output", "json")
    got = {}
    for entry in json.loads(out)["brokers"]:
        for d in entry["logDirs"]:
            for p in d["partitions"]:
                got.setdefault(p["partition"], []).append((d["logDir"], p["size"], p["offsetLag"], p["isFuture"]))
    return got


def alter_replica_log_dirs_v2(bootstrap, moves):
    """Raw AlterReplicaLogDirs v2 (flexible). moves: {dir: {topic: [partitions]}}. Returns {(topic, p): error}."""
    def enc_topic(t):
        return kproto.compact_string(t[0]) + kproto.compact_array(t[1], kproto.i32) + kproto.uvarint(0)

    def enc_dir(d):
        return (kproto.compact_string(d[0]) + kproto.compact_array(sorted(d[1].items()), enc_topic)
                + kproto.uvarint(0))

    body = kproto.compact_array(sorted(moves.items()), enc_dir)
    with kproto.connect(bootstrap) as c:
        r = kproto.flexible_request(c, API_ALTER_REPLICA_LOG_DIRS, 2, body)
    r.i32()  # throttle
    out = {}

    def dec_topic(r):
        name = kproto.read_compact_string(r)

        def dec_partition(r):
            p, err = r.i32(), r.i16()
            kproto.skip_tagged_fields(r)
            out[(name, p)] = err
        kproto.read_compact_array(r, dec_partition)
        kproto.skip_tagged_fields(r)
    kproto.read_compact_array(r, dec_topic)
    return out


class Producing:
    """A confluent-kafka producer (acks=all, idempotent) writing "000000", "000001", ... to one partition from a
    thread until stop(); `acked` lists the values whose delivery report was OK, in production order."""

    def __init__(self, bootstrap, topic, partition):
        k = require_module("confluent_kafka", "python3-confluent-kafka")
        self.p = k.Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                             "linger.ms": 2, "message.timeout.ms": 60000})
        self.topic, self.partition = topic, partition
        self.acked, self.errors = [], []
        self.sent = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _cb(self, err, msg):
        if err is not None:
            self.errors.append(str(err))
        else:
            self.acked.append(msg.value())

    def _run(self):
        while not self.stopping.is_set():
            for _ in range(20):
                value = b"%06d" % self.sent + b"x" * 200
                self.p.produce(self.topic, value=value, partition=self.partition, on_delivery=self._cb)
                self.sent += 1
            self.p.poll(0)
            time.sleep(0.01)

    def stop(self):
        self.stopping.set()
        self.thread.join(30)
        left = self.p.flush(60)
        eq(left, 0, "messages still in the producer queue after flush")


def consume_all(bootstrap, topic, partition, expected, t=60):
    """Every value of the partition from offset 0, until `expected` values arrived."""
    k = require_module("confluent_kafka", "python3-confluent-kafka")
    c = k.Consumer({"bootstrap.servers": bootstrap, "group.id": "gregor-it-unused", "enable.auto.commit": False,
                    "enable.partition.eof": False})
    try:
        c.assign([k.TopicPartition(topic, partition, 0)])
        got, errors = [], []
        deadline = time.monotonic() + t
        while len(got) < expected and time.monotonic() < deadline:
            for m in c.consume(num_messages=1000, timeout=0.5):
                if m.error():
                    errors.append(str(m.error()))
                else:
                    got.append(m.value())
        check(len(got) >= expected, f"consumed {len(got)} of {expected} records in {t}s; errors: {errors[:3]}")
        return got
    finally:
        c.close()


def check_acked(acked, read, what):
    """Every acknowledged value read back exactly once, in the order produced."""
    counts = {}
    for v in read:
        counts[v] = counts.get(v, 0) + 1
    lost = [v for v in acked if v not in counts]
    duplicated = [v for v, n in counts.items() if n > 1]
    acked_set = set(acked)
    positions = [v for v in read if v in acked_set]
    reordered = sum(1 for a, b in zip(positions, positions[1:]) if a > b)
    eq((len(lost), len(duplicated), reordered), (0, 0, 0),
       f"{what}: lost, duplicated, reordered of {len(acked)} acknowledged (first lost: {lost[:3]})")


@timeout(240)
def test_alter_log_dirs_move_under_load(ctx):
    d1, d2 = ctx.mkdir("dir-a"), ctx.mkdir("dir-b")
    # Small segments (several to copy) and the old dir removed one second after the switch.
    b = MultiDirBroker(ctx, [d1, d2], extra={"log.segment.bytes": 256 * 1024,
                                             "log.segment.delete.delay.ms": 1000}).start()
    # A throttled copy (the move takes seconds: the future replica is seen), set as a dynamic broker config.
    throttle = "replica.alter.log.dirs.io.max.bytes.per.second"
    ctl(ctx, b, "config", "alter", "--broker", "0", "--set", f"{throttle}=1048576")
    def applied():
        out = ctl(ctx, b, "config", "describe", "--broker", "0")[1]
        return any(line.split()[:3] == [throttle, "1048576", "DYNAMIC_BROKER_CONFIG"] for line in out.splitlines())
    wait_until(applied, 15, f"the broker to report {throttle}")
    topic = unique_topic("move")
    ctl(ctx, b, "topic", "create", topic, "--partitions", "1")
    wait_topic_ready(b.bootstrap, topic, 1)
    name = f"{topic}-0"
    src = [d for d in (d1, d2) if (d / name).is_dir()]
    eq(len(src), 1, "the partition's dir")
    src = src[0]
    dst = d2 if src == d1 else d1

    producer = Producing(b.bootstrap, topic, 0)
    wait_until(lambda: len(producer.acked) >= 15000, 60, "3 MB acknowledged before the move")
    ctl(ctx, b, "log-dirs", "move", "--broker", "0", "--topic", topic, "--partition", "0", "--dir", str(dst))

    # During the copy the destination shows the future replica, its lag counted from the current log end.
    def future_seen():
        rows = placement(ctx, b, topic).get(name, [])
        return any(f and d == os.path.realpath(dst) and lag >= 0 for d, _, lag, f in rows)
    wait_until(future_seen, 30, "DescribeLogDirs to list the future replica in the destination")
    _, out, _ = ctl(ctx, b, "log-dirs", "move", "--broker", "0", "--topic", topic, "--partition", "0",
                    "--dir", str(dst), "--wait", t=180)
    check("Moved 1 replica" in out, f"gregorctl log-dirs move --wait: {out}")
    rows = placement(ctx, b, topic)[name]
    eq([(d, f) for d, _, _, f in rows], [(os.path.realpath(dst), False)], "the partition after the move")
    time.sleep(1)  # more appends in the new dir
    producer.stop()
    check(not producer.errors, f"{len(producer.errors)} delivery errors, first: {producer.errors[:3]}")
    check(len(producer.acked) > 15000, "records acknowledged")

    read = consume_all(b.bootstrap, topic, 0, len(producer.acked))
    check_acked(producer.acked, read, "after the move")
    eq(len(read), len(producer.acked), "records read back (an idempotent producer duplicates nothing)")
    wait_until(lambda: not any(e.startswith(name) for e in os.listdir(src)), 30,
               f"the old dir of {name} in {src} to be deleted")
    check((dst / name / "partition.metadata").exists(), "partition.metadata moved")
    cp = (dst / "recovery-point-offset-checkpoint").read_text()
    check(f"{topic} 0 " in cp, f"the destination's recovery-point checkpoint names the partition: {cp}")

    b.stop()
    b.start()
    wait_topic_ready(b.bootstrap, topic, 1)
    rows = placement(ctx, b, topic)[name]
    eq([(d, f) for d, _, _, f in rows], [(os.path.realpath(dst), False)], "the partition after a restart")
    again = consume_all(b.bootstrap, topic, 0, len(producer.acked))
    eq(again, read, "records after a restart")
    # And it keeps taking writes.
    more = Producing(b.bootstrap, topic, 0)
    wait_until(lambda: len(more.acked) >= 100, 30, "appends after the restart")
    more.stop()


@timeout(120)
def test_alter_log_dirs_bad_inputs(ctx):
    d1, d2 = ctx.mkdir("dir-a"), ctx.mkdir("dir-b")
    blocker = ctx.mkdir("blocker") / "file"
    blocker.write_text("a file where a directory should be")
    offline = blocker / "dir-c"
    b = MultiDirBroker(ctx, [d1, d2, offline]).start()
    topic = unique_topic("bad")
    ctl(ctx, b, "topic", "create", topic, "--partitions", "1")
    wait_topic_ready(b.bootstrap, topic, 1)

    rc, _, err = ctl(ctx, b, "log-dirs", "move", "--broker", "0", "--topic", topic, "--partition", "0",
                     "--dir", "/nonexistent/dir", check_rc=None)
    check(rc != 0 and "LOG_DIR_NOT_FOUND" in err, f"unknown dir: rc {rc}, {err}")
    rc, _, err = ctl(ctx, b, "log-dirs", "move", "--broker", "0", "--topic", topic, "--partition", "5",
                     "--dir", str(d2), check_rc=None)
    check(rc != 0 and "REPLICA_NOT_AVAILABLE" in err, f"unknown partition: rc {rc}, {err}")
    got = alter_replica_log_dirs_v2(b.bootstrap, {str(offline): {topic: [0]}, "/nonexistent": {"other": [1]},
                                                  str(d2): {"nosuchtopic": [0]}})
    eq(got, {(topic, 0): KAFKA_STORAGE_ERROR, ("other", 1): LOG_DIR_NOT_FOUND,
             ("nosuchtopic", 0): REPLICA_NOT_AVAILABLE}, "AlterReplicaLogDirs v2 errors")
    # As Kafka: no move starts while a log dir is offline.
    here = d1 if (d1 / f"{topic}-0").is_dir() else d2
    there = d2 if here == d1 else d1
    eq(alter_replica_log_dirs_v2(b.bootstrap, {str(there): {topic: [0]}}), {(topic, 0): KAFKA_STORAGE_ERROR},
       "a move while a log dir is offline")
    eq(alter_replica_log_dirs_v2(b.bootstrap, {str(here): {topic: [0]}}), {(topic, 0): NONE},
       "the dir the replica is in already")
    b.check_alive("after the bad requests")
