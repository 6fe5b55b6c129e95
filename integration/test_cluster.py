"""Three (or four) brokers on one ZooKeeper chroot: identical metadata everywhere, replicated topics surviving
kill -9 of the leader and of the controller, a SIGSTOPped leader being fenced and truncated, a rolling restart
under acks=all load, topic deletion and partition addition across brokers, reassignment. Replicas are compared
byte for byte (the concatenated .log segments of every replica of a partition must be identical once the
ISR is full and the high watermark reached every log end).

Clients: confluent-kafka (librdkafka) produces and administers, kafka-python consumes, kazoo reads ZooKeeper
(the partition state znodes are the controller's truth), kproto speaks to one broker directly when a test must
bypass a client's leader routing."""

import json
import struct
import threading
import time
from pathlib import Path

import kproto
from harness import (Failure, bootstrap_of, check, eq, require_module, timeout, unique_topic, wait_cluster_formed,
                     wait_until)
from test_confluent import ck

# Fast failover: a dead broker's ZooKeeper session (and with it /brokers/ids/<id>) expires after 6 s; a follower
# that stops fetching leaves the ISR after 5 s; the controller looks at leader imbalance every 2 s.
CLUSTER_EXTRA = {"zookeeper.session.timeout.ms": "6000", "replica.lag.time.max.ms": "5000",
                 "leader.imbalance.check.interval.seconds": "2"}


# ---------------------------------------------------------------- ZooKeeper views (the controller's truth)
def zk_assignment(ctx, topic):
    """{partition: [replicas]} from /brokers/topics/<topic>."""
    data, _ = ctx.zk_json(f"/brokers/topics/{topic}")
    return {int(p): r for p, r in data["partitions"].items()}


def zk_state(ctx, topic, p):
    """/brokers/topics/<t>/partitions/<p>/state as a dict (leader, leader_epoch, isr, ...)."""
    data, _ = ctx.zk_json(f"/brokers/topics/{topic}/partitions/{p}/state")
    return data


def zk_controller(ctx):
    data, _ = ctx.zk_json("/controller")
    return data["brokerid"]


def by_id(brokers):
    return {b.broker_id: b for b in brokers}


def metadata_everywhere(brokers, topics):
    """Metadata v1 from each broker, in order. topics=None asks for all topics (naming a missing topic would
    auto-create it: v1 has no allow_auto_topic_creation flag)."""
    out = []
    for b in brokers:
        with kproto.connect(b.bootstrap, timeout=5) as c:
            out.append(kproto.metadata_v1(c, topics))
    return out


def wait_isr_full(ctx, brokers, topic, partitions, timeout_s=60):
    """Waits until, for every partition, ZooKeeper's ISR equals the assigned replica set, the leader is one of
    them, and every running broker's Metadata says the same (leader and ISR: the controller propagates ISR
    changes). Returns {p: state}."""
    ids = by_id(brokers)
    last = {}

    def full():
        assign = zk_assignment(ctx, topic)
        states = {}
        for p in partitions:
            st = zk_state(ctx, topic, p)
            if sorted(st["isr"]) != sorted(assign[p]) or st["leader"] not in assign[p]:
                last["why"] = f"ZooKeeper: partition {p} replicas {assign[p]}, state {st}"
                return False
            states[p] = st
        for b in ids.values():
            if not b.alive():
                continue
            with kproto.connect(b.bootstrap, timeout=3) as c:
                md = kproto.metadata_v1(c, [topic])
            t = md["topics"].get(topic)
            if t is None or t["error"] != 0:
                last["why"] = f"broker {b.broker_id}'s Metadata: topic {t}"
                return False
            mp = {x["partition"]: x for x in t["partitions"]}
            for p in partitions:
                if p not in mp or mp[p]["leader"] != states[p]["leader"] or \
                        sorted(mp[p]["isr"]) != sorted(states[p]["isr"]):
                    last["why"] = (f"broker {b.broker_id}'s Metadata for partition {p}: {mp.get(p)}, ZooKeeper: "
                                   f"{states[p]}")
                    return False
        return states

    try:
        return wait_until(full, timeout_s, f"every replica of {topic} {list(partitions)} to be in the ISR "
                                           f"(ZooKeeper and every broker's Metadata agreeing)", interval=0.2)
    except Failure as e:
        raise Failure(f"{e}: {last.get('why')}")


def wait_new_leader(ctx, topic, p, old, timeout_s=40):
    """Waits until ZooKeeper names a leader other than `old` (and not -1); returns it."""
    def elected():
        leader = zk_state(ctx, topic, p)["leader"]
        return [leader] if leader not in (old, -1) else None  # a list: broker 0 must count as found
    return wait_until(elected, timeout_s, f"a leader other than broker {old} for {topic}-{p}", interval=0.1)[0]


def wait_unregistered(ctx, broker_id, timeout_s=30):
    """A killed broker's ephemeral /brokers/ids/<id> lasts until its session expires; a restart before that
    cannot register (as in Kafka)."""
    zk = ctx.zk()
    wait_until(lambda: zk.exists(f"/brokers/ids/{broker_id}") is None, timeout_s,
               f"/brokers/ids/{broker_id} to go (session expiry of the stopped broker)", interval=0.1)


# ---------------------------------------------------------------- admin (confluent-kafka AdminClient)
def cka():
    """confluent_kafka.admin (a submodule: `import confluent_kafka` alone does not load it)."""
    return require_module("confluent_kafka.admin", "python3-confluent-kafka")


def admin_client(brokers):
    return cka().AdminClient({"bootstrap.servers": bootstrap_of(brokers)})


def create_topic_rf(brokers, topic, partitions, rf, configs=None, assignment=None, t=30):
    """CreateTopics through confluent-kafka's AdminClient; Failure with the broker's message on an error."""
    a = admin_client(brokers)
    if assignment is not None:
        nt = cka().NewTopic(topic, len(assignment), replica_assignment=assignment, config=configs or {})
    else:
        nt = cka().NewTopic(topic, num_partitions=partitions, replication_factor=rf, config=configs or {})
    fut = a.create_topics([nt], operation_timeout=20, request_timeout=25)[topic]
    try:
        fut.result(timeout=t)
    except Exception as e:  # noqa: BLE001
        raise Failure(f"CreateTopics {topic} (partitions={partitions}, replication factor={rf}) failed: {e}")


# ---------------------------------------------------------------- producing a numbered sequence
class SeqProducer(threading.Thread):
    """A confluent-kafka producer (acks=all, no idempotence, retries effectively unbounded) sending the numbers
    0, 1, 2, ... at `rate` per second, round robin over `partitions`, until stop(). Records which numbers were
    acknowledged (with the time of the delivery report), delivery errors and fatal client errors."""

    def __init__(self, brokers, topic, partitions=1, rate=1000, extra=None):
        super().__init__(daemon=True)
        k = ck()
        self.topic = topic
        self.partitions = partitions
        self.rate = rate
        conf = {"bootstrap.servers": bootstrap_of(brokers), "acks": "all", "enable.idempotence": False,
                "retries": 1000000, "retry.backoff.ms": 100, "message.timeout.ms": 120000,
                # socket.timeout.ms bounds how long a request to a SIGSTOPped broker (connection still up,
                # nobody answering) blocks librdkafka; its default (60 s) stalls a metadata refresh that
                # happens to go there, and with it the move to the new leader, for a minute.
                "request.timeout.ms": 5000, "socket.timeout.ms": 10000,
                "linger.ms": 5, "max.in.flight.requests.per.connection": 5,
                "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500,
                "topic.metadata.refresh.interval.ms": 1000, "error_cb": self._on_error}
        conf.update(extra or {})
        self.p = k.Producer(conf)
        self.mu = threading.Lock()
        self.acked = {}  # number -> (partition, offset)
        self.ack_times = []  # monotonic time of each delivery report, in order
        self.errors = []  # (number, error string) of failed deliveries
        self.client_errors = []  # error_cb: (fatal, string)
        self.sent = 0
        self._halt = threading.Event()
        self.exc = None

    def _on_error(self, err):
        with self.mu:
            self.client_errors.append((err.fatal(), str(err)))

    def _on_delivery(self, err, msg):
        now = time.monotonic()
        n = int(msg.value())
        with self.mu:
            if err is None:
                self.acked[n] = (msg.partition(), msg.offset())
                self.ack_times.append(now)
            else:
                self.errors.append((n, str(err)))

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        # On a failure, stop at once: waiting for reports (up to a minute and a half) would hide the
        # failure behind the test's deadline. On success the test calls stop() and checks the result.
        if exc_type is not None:
            self._halt.set()
            self.join(10)
            self.p.flush(2)
        return False

    def run(self):
        try:
            t0 = time.monotonic()
            while not self._halt.is_set():
                due = int((time.monotonic() - t0) * self.rate)
                while self.sent < due and not self._halt.is_set():
                    try:
                        self.p.produce(self.topic, value=str(self.sent).encode(),
                                       partition=self.sent % self.partitions, on_delivery=self._on_delivery)
                    except BufferError:
                        break
                    self.sent += 1
                self.p.poll(0.005)
        except BaseException as e:  # noqa: BLE001 - reported by stop()
            self.exc = e

    def n_acked(self):
        with self.mu:
            return len(self.acked)

    def wait_acked(self, n, timeout_s, what):
        try:
            wait_until(lambda: self.n_acked() >= n, timeout_s, f"{n} acknowledged records ({what})", interval=0.05)
        except Failure as e:
            with self.mu:
                errs = self.errors[-3:] + [e_ for _, e_ in self.client_errors[-3:]]
            raise Failure(f"{e}: {self.n_acked()} acknowledged, {self.sent} sent; last errors {errs}")

    def wait_more(self, more, timeout_s, what):
        self.wait_acked(self.n_acked() + more, timeout_s, what)

    def stop(self, flush_s=90):
        """Stops sending, waits for every outstanding delivery report; returns the number left unreported."""
        self._halt.set()
        self.join(10)
        if self.exc is not None:
            raise Failure(f"producer thread failed: {self.exc!r}")
        return self.p.flush(flush_s)

    def longest_pause_ms(self):
        with self.mu:
            ts = list(self.ack_times)
        if len(ts) < 2:
            return 0.0
        return max(b - a for a, b in zip(ts, ts[1:])) * 1000


def produce_direct(broker, topic, value, acks=-1):
    """One Produce v3 (one record, partition 0) to this broker; returns (error_code,)."""
    with kproto.connect(broker.bootstrap, timeout=10) as c:
        err, _ = kproto.produce_v3(c, topic, 0, kproto.record_batch([(None, value)]), acks=acks, timeout_ms=5000)
    return (err,)


def send_produce_v3(conn, topic, partition, batch, acks=-1, timeout_ms=5000):
    """Sends a Produce v3 request without waiting; returns finish(), which reads the answer as
    (error_code, base_offset). For a request that must sit in a stopped broker's socket."""
    conn.corr += 1
    corr = conn.corr
    body = (kproto.string(None) + kproto.i16(acks) + kproto.i32(timeout_ms) +
            kproto.array([topic], lambda t: kproto.string(t) + kproto.array(
                [partition], lambda p: kproto.i32(p) + kproto.kbytes(batch))))
    conn.send_raw(kproto.frame(kproto.request_header(kproto.API_PRODUCE, 3, corr) + body))

    def finish():
        resp = conn.recv_frame()
        if resp is None:
            raise kproto.ProtocolError("connection closed instead of a produce response")
        r = kproto.Reader(resp)
        eq(r.i32(), corr, "correlation id of the produce response")
        for name, parts in r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64())))):
            for idx, err, base, _ in parts:
                if name == topic and idx == partition:
                    return err, base
        raise kproto.ProtocolError(f"no {topic}-{partition} in the produce response")
    return finish


# ---------------------------------------------------------------- reading everything back (kafka-python)
def consume_all_kafka_python(brokers, topic, partitions, t=90):
    """Reads every partition from its beginning to its end offset (ListOffsets at the time of the call) with
    kafka-python's assign-based consumer. Returns {partition: [(offset, value)]}."""
    require_module("kafka", "python3-kafka")
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=[b.bootstrap for b in brokers], group_id=None,
                             enable_auto_commit=False, consumer_timeout_ms=1000, request_timeout_ms=30000,
                             max_partition_fetch_bytes=4 << 20)
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        consumer.seek_to_beginning()
        got = {p: [] for p in partitions}
        deadline = time.monotonic() + t
        while any(len(got[tp.partition]) < ends[tp] for tp in tps):
            check(time.monotonic() < deadline,
                  f"kafka-python read {[len(got[p]) for p in partitions]} of end offsets "
                  f"{[ends[tp] for tp in tps]} within {t}s")
            for tp, msgs in consumer.poll(timeout_ms=500, max_records=5000).items():
                got[tp.partition].extend((m.offset, m.value) for m in msgs if m.offset < ends[tp])
        for p in partitions:
            offs = [o for o, _ in got[p]]
            eq(offs, list(range(len(offs))), f"offsets read from {topic}-{p}")
        return got
    finally:
        consumer.close()


def check_no_acked_loss(prod, got, label):
    """Every acknowledged number must be in the log; prints duplicates (allowed without idempotence)."""
    counts = {}
    for recs in got.values():
        for _, v in recs:
            if not v.isdigit():
                continue  # a test's own marker record (checked by that test)
            n = int(v)
            counts[n] = counts.get(n, 0) + 1
    with prod.mu:
        acked = dict(prod.acked)
    missing = sorted(set(acked) - set(counts))
    dups = sorted(n for n, c in counts.items() if c > 1)
    unknown = sorted(n for n in counts if n >= prod.sent or n < 0)
    total = sum(len(r) for r in got.values())
    print(f"{label}: {prod.sent} sent, {len(acked)} acknowledged, {len(prod.errors)} delivery errors, "
          f"{total} records in the log, {len(dups)} duplicated numbers{(': ' + str(dups[:50])) if dups else ''}")
    check(not unknown, f"{label}: the log holds numbers that were never sent: {unknown[:10]}")
    check(not missing, f"{label}: {len(missing)} acknowledged numbers missing from the log, e.g. {missing[:20]}")
    return counts


# ---------------------------------------------------------------- byte comparison of replicas
def replica_bytes(broker, topic, p):
    """The concatenation of <log.dir>/<topic>-<p>/*.log in base-offset order (None when the dir is missing)."""
    d = Path(broker.log_dir) / f"{topic}-{p}"
    if not d.is_dir():
        return None
    segs = sorted(d.glob("*.log"), key=lambda f: int(f.stem))
    return b"".join(f.read_bytes() for f in segs)


def log_end_of(data):
    """The log end offset of RecordBatch v2 bytes; raises ValueError if the bytes do not end on a batch end."""
    pos, leo = 0, 0
    while pos < len(data):
        if pos + 12 > len(data):
            raise ValueError(f"partial batch header at byte {pos}")
        base, length = struct.unpack_from(">qi", data, pos)
        if length < 49 or pos + 12 + length > len(data):
            raise ValueError(f"partial or bad batch at byte {pos} (length {length})")
        (last_delta,) = struct.unpack_from(">i", data, pos + 23)
        leo = base + last_delta + 1
        pos += 12 + length
    return leo


def high_watermark(broker, topic, p):
    with kproto.connect(broker.bootstrap, timeout=5) as c:
        err, off = kproto.list_offsets_v1(c, topic, p, -1)
    return off if err == 0 else None


def wait_replicas_identical(ctx, brokers, topic, p, timeout_s=60):
    """After the ISR is full and the leader's high watermark equals every replica's log end offset, the .log
    bytes of every replica of topic-p must be identical. Returns the common bytes."""
    ids = by_id(brokers)
    last = {}

    def same():
        replicas = zk_assignment(ctx, topic)[p]
        st = zk_state(ctx, topic, p)
        if sorted(st["isr"]) != sorted(replicas) or st["leader"] not in ids:
            last["why"] = f"ISR {st['isr']} of replicas {replicas}"
            return False
        hw = high_watermark(ids[st["leader"]], topic, p)
        datas = {r: replica_bytes(ids[r], topic, p) for r in replicas}
        leos = {}
        for r, d in datas.items():
            if d is None:
                last["why"] = f"no {topic}-{p} dir on broker {r}"
                return False
            try:
                leos[r] = log_end_of(d)
            except ValueError as e:
                last["why"] = f"broker {r}: {e}"
                return False
        last["why"] = f"high watermark {hw}, log ends {leos}, sizes {({r: len(d) for r, d in datas.items()})}"
        if any(leo != hw for leo in leos.values()):
            return False
        ref = datas[replicas[0]]
        diff = {}
        for r, d in datas.items():
            if d != ref:
                n = next((i for i in range(min(len(d), len(ref))) if d[i] != ref[i]), min(len(d), len(ref)))
                diff[r] = n
        if diff:
            last["why"] += f"; first differing byte vs broker {replicas[0]}: {diff}"
            return False
        return [ref]  # a list: an empty log must count as found

    try:
        return wait_until(same, timeout_s, f"the replicas of {topic}-{p} to be byte-identical", interval=0.25)[0]
    except Failure as e:
        raise Failure(f"{e}: {last.get('why')}")


# ---------------------------------------------------------------- 0. three brokers, replication factor 1
@timeout(90)
def test_cluster_rf1_three_brokers(ctx):
    """Works before replication: three brokers share the topic's partitions (RF 1), report identical metadata,
    serve produce (confluent-kafka) and consume (kafka-python) for partitions led by any broker; kill -9 of the
    controller makes another broker controller, the dead broker's partitions leaderless, the rest keep serving;
    after its restart every partition has its leader back and its records."""
    k = ck()
    brokers = ctx.start_cluster(3, extra=CLUSTER_EXTRA)
    topic = unique_topic("rf1")
    create_topic_rf(brokers, topic, 6, 1)
    wait_isr_full(ctx, brokers, topic, range(6))
    mds = metadata_everywhere(brokers, [topic])
    leaders = [x["leader"] for x in sorted(mds[0]["topics"][topic]["partitions"], key=lambda x: x["partition"])]
    eq(sorted(leaders.count(i) for i in range(3)), [2, 2, 2], f"partitions led by each broker (leaders {leaders})")

    p = k.Producer({"bootstrap.servers": bootstrap_of(brokers), "acks": "all", "linger.ms": 5})
    errs = []
    for i in range(600):
        p.produce(topic, value=f"a{i}".encode(), partition=i % 6,
                  on_delivery=lambda e, m: errs.append(str(e)) if e else None)
    eq(p.flush(30), 0, "records left in the producer")
    check(not errs, f"delivery errors: {errs[:3]}")
    got = consume_all_kafka_python(brokers[2:], topic, range(6))
    eq({q: [v for _, v in got[q]] for q in range(6)}, {q: [f"a{i}".encode() for i in range(q, 600, 6)]
                                                     for q in range(6)}, "records read back")

    ctrl = zk_controller(ctx)
    victim = by_id(brokers)[ctrl]
    victim.kill9()
    others = [b for b in brokers if b is not victim]
    wait_until(lambda: zk_controller(ctx) not in (ctrl,), 30, f"a controller other than the killed broker {ctrl}",
               interval=0.1)

    def orphaned():
        for b in others:
            with kproto.connect(b.bootstrap, timeout=3) as c:
                md = kproto.metadata_v1(c, [topic])
            if ctrl in [x["node_id"] for x in md["brokers"]]:
                return False
            for x in md["topics"][topic]["partitions"]:
                mine = leaders[x["partition"]] == ctrl
                if mine and x["leader"] != -1:
                    return False
                if not mine and x["leader"] != leaders[x["partition"]]:
                    return False
        return True
    wait_until(orphaned, 30, f"Metadata of the survivors to drop broker {ctrl} and its partitions' leader",
               interval=0.1)
    alive_parts = [q for q in range(6) if leaders[q] != ctrl]
    p2 = k.Producer({"bootstrap.servers": bootstrap_of(others), "acks": "all", "linger.ms": 5,
                     "message.timeout.ms": 20000})
    for q in alive_parts:
        p2.produce(topic, value=f"b{q}".encode(), partition=q,
                   on_delivery=lambda e, m: errs.append(str(e)) if e else None)
    eq(p2.flush(30), 0, "records left in the producer (partitions whose leader is alive)")
    check(not errs, f"delivery errors for partitions led by the survivors: {errs[:3]}")

    wait_unregistered(ctx, ctrl)
    victim.start()
    wait_cluster_formed(brokers)
    wait_isr_full(ctx, brokers, topic, range(6))
    got = consume_all_kafka_python(brokers[:1], topic, range(6))
    for q in range(6):
        exp = [f"a{i}".encode() for i in range(q, 600, 6)] + ([f"b{q}".encode()] if q in alive_parts else [])
        eq([v for _, v in got[q]], exp, f"records of {topic}-{q} after the restart")


# ---------------------------------------------------------------- 1. metadata identical on every broker
@timeout(60)
def test_cluster_metadata_identical(ctx):
    k = ck()
    brokers = ctx.start_cluster(3, extra=CLUSTER_EXTRA)
    topic = unique_topic("md")
    create_topic_rf(brokers, topic, 6, 3)
    wait_isr_full(ctx, brokers, topic, range(6))

    def norm(md):
        t = md["topics"][topic]
        return {"brokers": sorted((b["node_id"], b["host"], b["port"]) for b in md["brokers"]),
                "controller": md["controller"], "error": t["error"],
                "partitions": sorted((x["partition"], x["error"], x["leader"], tuple(x["replicas"]),
                                      tuple(sorted(x["isr"]))) for x in t["partitions"])}
    mds = [norm(m) for m in metadata_everywhere(brokers, [topic])]
    for i in (1, 2):
        eq(mds[i], mds[0], f"Metadata from broker {i} vs broker 0")
    md = mds[0]
    eq(md["brokers"], sorted((b.broker_id, "127.0.0.1", b.port) for b in brokers), "brokers in Metadata")
    eq(md["controller"], zk_controller(ctx), "controller id in Metadata vs /controller")
    eq(len(md["partitions"]), 6, "partitions")
    for part, err, leader, replicas, isr in md["partitions"]:
        eq(err, 0, f"error of partition {part}")
        eq(sorted(replicas), [0, 1, 2], f"replicas of partition {part}")
        eq(sorted(isr), [0, 1, 2], f"ISR of partition {part}")
        eq(leader, replicas[0], f"leader of partition {part} (the preferred replica, first in {replicas})")
    firsts = [r[0] for _, _, _, r, _ in md["partitions"]]
    eq(sorted(firsts.count(i) for i in range(3)), [2, 2, 2], f"preferred leaders spread ({firsts})")
    seconds = [r[1] for _, _, _, r, _ in md["partitions"]]
    eq(sorted(seconds.count(i) for i in range(3)), [2, 2, 2], f"second replicas spread ({seconds})")
    assign = zk_assignment(ctx, topic)
    eq({q: tuple(r) for q, r in assign.items()}, {x[0]: x[3] for x in md["partitions"]},
       "replicas in Metadata vs /brokers/topics")

    # Replication factor above the broker count: INVALID_REPLICATION_FACTOR with a message.
    a = admin_client(brokers)
    bad = unique_topic("rf4")
    fut = a.create_topics([cka().NewTopic(bad, num_partitions=1, replication_factor=4)],
                          operation_timeout=10, request_timeout=15)[bad]
    try:
        fut.result(timeout=20)
        raise Failure(f"CreateTopics with replication factor 4 on 3 brokers succeeded ({bad})")
    except k.KafkaException as e:
        err = e.args[0]
        eq(err.code(), k.KafkaError.INVALID_REPLICATION_FACTOR, f"error for replication factor 4 ({err})")
        msg = err.str()
        check(msg and "4" in msg and "3" in msg, f"the error message does not explain the refusal: {msg!r}")
        print(f"replication factor 4 refused: {msg}")
    check(ctx.zk().exists(f"/brokers/topics/{bad}") is None, f"/brokers/topics/{bad} was created")


# ---------------------------------------------------------------- 2. kill -9 the leader, then the controller
@timeout(180)
def test_cluster_kill_leader_and_controller(ctx):
    brokers = ctx.start_cluster(3, extra=CLUSTER_EXTRA)
    ids = by_id(brokers)
    topic = unique_topic("kill")
    create_topic_rf(brokers, topic, 1, 3, configs={"min.insync.replicas": "2"})
    wait_isr_full(ctx, brokers, topic, [0])
    prod = SeqProducer(brokers, topic, rate=1000)
    with prod:
        prod.wait_acked(2000, 40, "before the first kill")
        leader = zk_state(ctx, topic, 0)["leader"]
        print(f"kill -9 the leader, broker {leader} (controller {zk_controller(ctx)}), at {prod.n_acked()} acks")
        ids[leader].kill9()
        new_leader = wait_new_leader(ctx, topic, 0, leader)
        prod.wait_more(1000, 40, f"after broker {new_leader} took over from {leader}")
        wait_unregistered(ctx, leader)
        ids[leader].start()
        wait_isr_full(ctx, brokers, topic, [0])

        ctrl = zk_controller(ctx)
        victim = ctrl if ctrl != leader else (leader + 1) % 3
        cur_leader = zk_state(ctx, topic, 0)["leader"]
        print(f"kill -9 the controller, broker {victim} (partition leader {cur_leader}), at {prod.n_acked()} acks")
        ids[victim].kill9()
        wait_until(lambda: zk_controller(ctx) != victim, 40, f"a controller other than broker {victim}",
                   interval=0.1)
        if cur_leader == victim:
            wait_new_leader(ctx, topic, 0, victim)
        prod.wait_more(1000, 40, f"after the controller {victim} was killed")
        wait_unregistered(ctx, victim)
        ids[victim].start()
        wait_isr_full(ctx, brokers, topic, [0])
        prod.wait_more(500, 30, "after both restarts")
    left = prod.stop()
    eq(left, 0, "records without a delivery report after flush")
    got = consume_all_kafka_python(brokers, topic, [0])
    check_no_acked_loss(prod, got, "kill -9 leader and controller")
    print(f"failover pause after kill -9: {prod.longest_pause_ms():.0f} ms")
    if prod.errors:
        print(f"delivery errors: {prod.errors[:10]}")
    wait_replicas_identical(ctx, brokers, topic, 0)


# ---------------------------------------------------------------- 3. SIGSTOP the leader past its session
@timeout(150)
def test_cluster_sigstop_leader_fenced(ctx):
    brokers = ctx.start_cluster(3, extra=CLUSTER_EXTRA)
    ids = by_id(brokers)
    topic = unique_topic("stop")
    create_topic_rf(brokers, topic, 1, 3, configs={"min.insync.replicas": "2"})
    wait_isr_full(ctx, brokers, topic, [0])
    prod = SeqProducer(brokers, topic, rate=1000)
    zombies = []  # values a deposed leader accepted with acks=1: they must not survive
    with prod:
        prod.wait_acked(2000, 40, "before SIGSTOP")
        old = ids[zk_state(ctx, topic, 0)["leader"]]
        epoch_before = zk_state(ctx, topic, 0)["leader_epoch"]
        print(f"SIGSTOP the leader, broker {old.broker_id} (controller {zk_controller(ctx)}), at "
              f"{prod.n_acked()} acks")
        old.pause()
        try:
            new = wait_new_leader(ctx, topic, 0, old.broker_id, timeout_s=40)
            st = zk_state(ctx, topic, 0)
            check(st["leader_epoch"] > epoch_before, f"leader epoch {st['leader_epoch']} after the election "
                                                    f"(was {epoch_before})")
            check(old.broker_id not in st["isr"], f"the stopped broker is still in the ISR {st['isr']}")
            # The new leader takes an acks=all write directly (whatever the client's routing is doing).
            wait_until(lambda: produce_direct(ids[new], topic, b"direct-after-failover") == (0,), 20,
                       f"broker {new} to acknowledge an acks=all produce as the new leader", interval=0.2)
            prod.wait_more(500, 40, f"with broker {new} leading while {old.broker_id} is stopped")
            # A produce (acks=1) aimed at the stopped broker waits in its socket; it is the first thing the
            # broker may see when it wakes, before it learns that it lost its session and its leadership.
            conn = kproto.connect(old.bootstrap, timeout=30)
            finish = send_produce_v3(conn, topic, 0, kproto.record_batch([(None, b"zombie-0")]), acks=1)
        finally:
            old.resume()
        try:
            res = finish()
        except (OSError, kproto.ProtocolError) as e:
            res = e
        finally:
            conn.close()
        print(f"produce to the resumed deposed leader: {res!r}")
        if isinstance(res, tuple) and res[0] == 0:
            zombies.append(b"zombie-0")
        elif isinstance(res, tuple):
            eq(res[0], kproto.NOT_LEADER_OR_FOLLOWER, "error of the produce to the resumed deposed leader")

        # The old leader must stop acting as one: its Metadata names the new leader and it refuses produce.
        def says_follower():
            with kproto.connect(old.bootstrap, timeout=3) as c:
                md = kproto.metadata_v1(c, [topic])
            return md["topics"][topic]["partitions"][0]["leader"] not in (old.broker_id, -1)
        wait_until(says_follower, 40, f"broker {old.broker_id}'s Metadata to name another leader", interval=0.1)
        n = [0]

        def refuses():
            n[0] += 1
            v = f"zombie-{n[0]}".encode()
            with kproto.connect(old.bootstrap, timeout=5) as c:
                err, _ = kproto.produce_v3(c, topic, 0, kproto.record_batch([(None, v)]), acks=1, timeout_ms=3000)
            if err == 0:
                zombies.append(v)
            return err == kproto.NOT_LEADER_OR_FOLLOWER
        wait_until(refuses, 10, f"broker {old.broker_id} to answer a produce with NOT_LEADER_OR_FOLLOWER",
                   interval=0.1)
        wait_isr_full(ctx, brokers, topic, [0], timeout_s=60)
        prod.wait_more(500, 30, f"after broker {old.broker_id} rejoined the ISR")
    left = prod.stop()
    eq(left, 0, "records without a delivery report after flush")
    ref = wait_replicas_identical(ctx, brokers, topic, 0)
    values = [v for b in kproto.decode_batches(ref) for _, _, v in b["records"]]
    check(b"direct-after-failover" in values, "the record acknowledged by the new leader is missing")
    survived = [z for z in zombies if z in values]
    check(not survived, f"records accepted by the deposed leader survived its truncation: {survived}")
    got = consume_all_kafka_python(brokers, topic, [0])
    check_no_acked_loss(prod, got, "SIGSTOP leader")
    print(f"failover pause after SIGSTOP: {prod.longest_pause_ms():.0f} ms; deposed leader accepted "
          f"{len(zombies)} acks=1 records, all truncated")


# ---------------------------------------------------------------- 3b. a new leader's high watermark (KIP-207)
def list_offsets_v5(conn, topic, partition, timestamp):
    """ListOffsets v5 (current leader epoch -1, read_uncommitted). Returns (error_code, offset)."""
    body = (kproto.i32(-1) + kproto.i8(0) + kproto.array([topic], lambda t: kproto.string(t) + kproto.array(
        [partition], lambda p: kproto.i32(p) + kproto.i32(-1) + kproto.i64(timestamp))))
    r = conn.request(kproto.API_LIST_OFFSETS, 5, body)
    r.i32()  # throttle
    for name, parts in r.array(lambda r: (r.string(), r.array(
            lambda r: (r.i32(), r.i16(), r.i64(), r.i64(), r.i32())))):
        for idx, err, _, off, _ in parts:
            if name == topic and idx == partition:
                return err, off
    raise kproto.ProtocolError(f"no partition {topic}-{partition} in list offsets response")


@timeout(120)
def test_cluster_new_leader_offset_not_available(ctx):
    """KIP-207: a follower promoted while holding records past its high watermark must not tell consumers
    that the log ends at that stale high watermark. One follower P (in the ISR) is stopped, so the leader
    L's high watermark stays at 5 while the other follower N copies 10 more acks=1 records; L then shuts
    down and N leads with log end 15 and high watermark 5. Until P fetches again, "latest" is
    OFFSET_NOT_AVAILABLE (v5+) or LEADER_NOT_AVAILABLE (older versions); then it is 15, and both
    kafka-python and librdkafka, asking meanwhile, end up with 15 rather than 5. N is the controller, so
    L's controlled shutdown does not wait for the stopped broker."""
    extra = {"zookeeper.session.timeout.ms": "30000", "replica.lag.time.max.ms": "60000"}
    brokers = ctx.start_cluster(3, extra=extra)
    ids = by_id(brokers)
    topic = unique_topic("kip207")
    wait_until(lambda: zk_controller(ctx) in ids, 20, "a controller")
    n = zk_controller(ctx)
    leader, stopped = sorted(set(ids) - {n})
    create_topic_rf(brokers, topic, 1, 3, assignment=[[leader, n, stopped]])
    wait_isr_full(ctx, brokers, topic, [0])
    for i in range(5):
        eq(produce_direct(ids[leader], topic, f"acked-{i}".encode()), (0,), f"acks=all produce {i}")
    wait_until(lambda: all(log_end_of(replica_bytes(b, topic, 0) or b"") == 5 for b in brokers), 20,
               "every replica to hold 5 records")
    ids[stopped].pause()
    resumed = threading.Event()
    try:
        for i in range(10):
            eq(produce_direct(ids[leader], topic, f"one-{i}".encode(), acks=1), (0,), f"acks=1 produce {i}")
        wait_until(lambda: log_end_of(replica_bytes(ids[n], topic, 0) or b"") == 15, 20,
                   f"broker {n} to copy the acks=1 records")
        eq(high_watermark(ids[leader], topic, 0), 5, f"high watermark of leader {leader} with broker {stopped} stopped")
        ids[leader].stop(timeout=30)
        wait_until(lambda: zk_state(ctx, topic, 0)["leader"] == n, 30, f"broker {n} to lead")

        def answers_as_leader():
            with kproto.connect(ids[n].bootstrap, timeout=5) as c:
                return kproto.list_offsets_v1(c, topic, 0, -2) == (0, 0)
        wait_until(answers_as_leader, 20, f"broker {n} to answer ListOffsets earliest as leader", interval=0.1)
        with kproto.connect(ids[n].bootstrap, timeout=5) as c:
            eq(list_offsets_v5(c, topic, 0, -1)[0], kproto.OFFSET_NOT_AVAILABLE, "ListOffsets v5 latest")
            eq(kproto.list_offsets_v1(c, topic, 0, -1)[0], kproto.LEADER_NOT_AVAILABLE, "ListOffsets v1 latest")
            eq(list_offsets_v5(c, topic, 0, -2), (0, 0), "ListOffsets v5 earliest")
            # A timestamp lookup past the high watermark cannot be answered either.
            eq(list_offsets_v5(c, topic, 0, int(time.time() * 1000) + 3600_000)[0], kproto.OFFSET_NOT_AVAILABLE,
               "ListOffsets v5 by a future timestamp")
        # Clients asking now get no end offset until the stopped broker wakes up, 3 s later: kafka-python retries
        # inside end_offsets; librdkafka's query fails and is asked again.
        rd = {"answers": [], "errors": []}

        def ask_librdkafka():
            cc = ck().Consumer({"bootstrap.servers": ids[n].bootstrap, "group.id": "kip207"})
            try:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    try:
                        got = cc.get_watermark_offsets(ck().TopicPartition(topic, 0), timeout=5)
                        rd["answers"].append((got, resumed.is_set()))
                        if got[1] == 15:
                            return
                    except Exception as e:  # noqa: BLE001 - OFFSET_NOT_AVAILABLE surfaces as KafkaException
                        rd["errors"].append(str(e))
                    time.sleep(0.2)
            finally:
                cc.close()
        asker = threading.Thread(target=ask_librdkafka)
        asker.start()
        timer = threading.Timer(3.0, lambda: (ids[stopped].resume(), resumed.set()))
        timer.start()
        kafka = require_module("kafka", "python3-kafka")
        kc = kafka.KafkaConsumer(bootstrap_servers=ids[n].bootstrap, request_timeout_ms=30000)
        try:
            end = kc.end_offsets([kafka.TopicPartition(topic, 0)])[kafka.TopicPartition(topic, 0)]
        finally:
            kc.close()
        check(resumed.is_set(), f"kafka-python got end offset {end} while broker {stopped} was still stopped")
        eq(end, 15, "kafka-python end offset")
        asker.join()
        print(f"librdkafka: answers {rd['answers']}, errors {rd['errors'][:3]} ({len(rd['errors'])})")
        check(rd["answers"] and rd["answers"][-1][0] == (0, 15), f"librdkafka watermarks: {rd}")
        early = [a for a, after in rd["answers"] if not after]
        check(not early, f"librdkafka got watermarks {early} while broker {stopped} was still stopped")
        with kproto.connect(ids[n].bootstrap, timeout=5) as c:
            eq(list_offsets_v5(c, topic, 0, -1), (0, 15), f"ListOffsets v5 latest after broker {stopped} fetched")
    finally:
        ids[stopped].resume()


# ---------------------------------------------------------------- 4. rolling restart with SIGTERM
@timeout(180)
def test_cluster_rolling_restart(ctx):
    brokers = ctx.start_cluster(3, extra=CLUSTER_EXTRA)
    topic = unique_topic("roll")
    create_topic_rf(brokers, topic, 3, 3, configs={"min.insync.replicas": "2"})
    wait_isr_full(ctx, brokers, topic, range(3))
    prod = SeqProducer(brokers, topic, partitions=3, rate=1000)
    with prod:
        prod.wait_acked(1500, 40, "before the rolling restart")
        for b in brokers:
            print(f"SIGTERM broker {b.broker_id} (controller {zk_controller(ctx)}) at {prod.n_acked()} acks")
            t0 = time.monotonic()
            rc = b.stop(timeout=40)
            eq(rc, 0, f"exit code of broker {b.broker_id} after SIGTERM")
            print(f"broker {b.broker_id} exited after {time.monotonic() - t0:.1f}s")
            b.start()
            wait_isr_full(ctx, brokers, topic, range(3), timeout_s=60)
            prod.wait_more(500, 40, f"after broker {b.broker_id} came back")
    left = prod.stop()
    eq(left, 0, "records without a delivery report after flush")
    check(not prod.errors, f"{len(prod.errors)} delivery errors during the rolling restart: {prod.errors[:5]}")
    fatal = [e for f, e in prod.client_errors if f]
    check(not fatal, f"fatal producer errors: {fatal[:5]}")
    got = consume_all_kafka_python(brokers, topic, range(3))
    check_no_acked_loss(prod, got, "rolling restart")
    print(f"failover pause after SIGTERM: {prod.longest_pause_ms():.0f} ms")
    for q in range(3):
        wait_replicas_identical(ctx, brokers, topic, q)


# ---------------------------------------------------------------- 6. delete a topic, add partitions
@timeout(90)
def test_cluster_delete_and_add_partitions(ctx):
    k = ck()
    brokers = ctx.start_cluster(3, extra=CLUSTER_EXTRA)
    topic = unique_topic("dl")
    create_topic_rf(brokers, topic, 2, 3)
    wait_isr_full(ctx, brokers, topic, range(2))

    def dirs_of(t):
        return {b.broker_id: sorted(d.name for d in Path(b.log_dir).iterdir() if d.name.startswith(t + "-"))
                for b in brokers}
    eq(dirs_of(topic), {i: [f"{topic}-0", f"{topic}-1"] for i in range(3)}, "partition dirs on every broker")

    a = admin_client(brokers)
    fut = a.create_partitions([cka().NewPartitions(topic, 4)], operation_timeout=15, request_timeout=20)[topic]
    try:
        fut.result(timeout=25)
    except Exception as e:  # noqa: BLE001
        raise Failure(f"CreatePartitions {topic} -> 4 failed: {e}")
    assign = wait_until(lambda: (lambda a_: a_ if len(a_) == 4 else None)(zk_assignment(ctx, topic)), 15,
                        f"/brokers/topics/{topic} to list 4 partitions")
    for q in (2, 3):
        eq(len(assign[q]), 3, f"replicas of new partition {q} ({assign[q]})")
        eq(len(set(assign[q])), 3, f"distinct replicas of new partition {q} ({assign[q]})")
    wait_isr_full(ctx, brokers, topic, range(4))
    ids = by_id(brokers)
    for q in (2, 3):
        for r in assign[q]:
            check((Path(ids[r].log_dir) / f"{topic}-{q}").is_dir(), f"no dir for {topic}-{q} on broker {r}")
    # The new partitions take writes and replicate them.
    p = k.Producer({"bootstrap.servers": bootstrap_of(brokers), "acks": "all", "linger.ms": 5})
    errs = []
    for i in range(200):
        p.produce(topic, value=str(i).encode(), partition=i % 4,
                  on_delivery=lambda e, m: errs.append(str(e)) if e else None)
    eq(p.flush(30), 0, "records left in the producer")
    check(not errs, f"delivery errors: {errs[:3]}")
    for q in range(4):
        data = wait_replicas_identical(ctx, brokers, topic, q)
        eq(log_end_of(data), 50, f"log end of {topic}-{q} on every replica")

    fut = a.delete_topics([topic], operation_timeout=15, request_timeout=20)[topic]
    try:
        fut.result(timeout=25)
    except Exception as e:  # noqa: BLE001
        raise Failure(f"DeleteTopics {topic} failed: {e}")
    wait_until(lambda: all(not v for v in dirs_of(topic).values()), 30,
               f"the dirs of {topic} to vanish on every broker", interval=0.2)
    zk = ctx.zk()
    wait_until(lambda: zk.exists(f"/brokers/topics/{topic}") is None, 15, f"/brokers/topics/{topic} to go")

    # Metadata for all topics: asking for this one by name (v1-v3 always allow auto-creation) would create
    # it again.
    wait_until(lambda: all(topic not in m["topics"] for m in metadata_everywhere(brokers, None)), 15,
               f"every broker to drop {topic} from its Metadata", interval=0.2)


# ---------------------------------------------------------------- 7. reassignment (kazoo)
@timeout(150)
def test_cluster_reassign(ctx):
    """Moves partition 0 of an RF-3 topic from [0,1,2] to [3,2,1] on a four-broker cluster while producing, by
    writing /admin/reassign_partitions (confluent-kafka 1.7 has no alter_partition_reassignments): the znode
    goes when the move completes, the assignment and ISR are the new set, broker 0 drops its replica, no
    acknowledged record is lost and the new replicas are byte-identical."""
    brokers = ctx.start_cluster(4, extra=CLUSTER_EXTRA)
    ids = by_id(brokers)
    topic = unique_topic("move")
    create_topic_rf(brokers, topic, 1, 3, configs={"min.insync.replicas": "2"}, assignment=[[0, 1, 2]])
    wait_isr_full(ctx, brokers, topic, [0])
    eq(zk_assignment(ctx, topic), {0: [0, 1, 2]}, "assignment before the move")
    prod = SeqProducer(brokers, topic, rate=1000)
    target = [3, 2, 1]
    with prod:
        prod.wait_acked(2000, 40, "before the reassignment")
        zk = ctx.zk()
        zk.create("/admin/reassign_partitions",
                  json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 0,
                                                            "replicas": target}]}).encode(),
                  makepath=True)
        wait_until(lambda: zk.exists("/admin/reassign_partitions") is None, 60,
                   "/admin/reassign_partitions to be deleted (reassignment complete)", interval=0.2)
        eq(zk_assignment(ctx, topic), {0: target}, "assignment after the move")
        data, _ = ctx.zk_json(f"/brokers/topics/{topic}")
        check(not data.get("adding_replicas") and not data.get("removing_replicas"),
              f"adding/removing replicas left in /brokers/topics/{topic}: {data}")
        wait_isr_full(ctx, brokers, topic, [0])
        st = zk_state(ctx, topic, 0)
        check(st["leader"] in target, f"leader {st['leader']} is not in the new replica set {target}")
        wait_until(lambda: not (Path(ids[0].log_dir) / f"{topic}-0").exists(), 30,
                   f"broker 0 to delete its replica of {topic}-0", interval=0.2)
        prod.wait_more(500, 30, "after the reassignment")
    left = prod.stop()
    eq(left, 0, "records without a delivery report after flush")
    got = consume_all_kafka_python(brokers, topic, [0])
    check_no_acked_loss(prod, got, "reassignment")
    wait_replicas_identical(ctx, brokers, topic, 0)
