"""The partition side of transactions (KIP-98), the transaction coordinator played by hand: producers from
InitProducerId v0 write transactional batches (attribute 0x10) with Produce v3, and this test sends
WriteTxnMarkers v0/v1 to the partition leader as a coordinator would. The produce requests carry a transactional
id (Kafka refuses transactional batches without one) and the brokers run with transaction.partition.verification.
enable=false: no coordinator knows the transactions played here, so KIP-890 verification would refuse them
(test_txn_verification.py covers that).

- Before the markers, a READ_COMMITTED Fetch v4 stops at the first transactional record (the last stable
  offset, LSO) while READ_UNCOMMITTED sees everything; ListOffsets v2 "latest" is the LSO for read_committed,
  the high watermark otherwise.
- A COMMIT for one producer and an ABORT for another move the LSO to the high watermark; read_committed fetches
  then list the aborted transaction (producer id, first offset) from the .txnindex; per-partition errors for a
  partition not hosted (UNKNOWN_TOPIC_OR_PARTITION), a fenced coordinator (TRANSACTION_COORDINATOR_FENCED) or
  producer epoch (INVALID_PRODUCER_EPOCH), a follower (NOT_LEADER_OR_FOLLOWER).
- A read_committed long poll at the LSO completes when the markers move it.
- Real clients in read_committed mode (confluent-kafka `isolation.level`, and kafka-python when its version has
  `isolation_level`) read exactly the committed records.
- kill -9 of a single broker (its .txnindex deleted while it is down: recovery rebuilds it byte for byte), and
  kill -9 of the leader of an RF 3 partition (the new leader's .txnindex and open transactions come from
  replication; every replica's .log and .txnindex end up identical).

Error codes (Kafka's Errors.java): UNKNOWN_TOPIC_OR_PARTITION 3, NOT_LEADER_OR_FOLLOWER 6, INVALID_PRODUCER_EPOCH
47, TRANSACTION_COORDINATOR_FENCED 52."""

import threading
import time
from pathlib import Path

import kproto
from harness import Failure, bootstrap_of, check, create_topic, eq, timeout, unique_topic, wait_until
from test_cluster import (CLUSTER_EXTRA, by_id, create_topic_rf, wait_isr_full, wait_new_leader,
                          wait_replicas_identical, wait_unregistered)
from test_confluent import ck

RC = kproto.READ_COMMITTED
RU = kproto.READ_UNCOMMITTED
# A short ZooKeeper session so that a killed broker's registration goes quickly (its restart waits for that).
PLAYED_TXN_ID = "played-by-the-test"
UNVERIFIED = {"transaction.partition.verification.enable": "false"}
SHORT_SESSION = {"zookeeper.session.timeout.ms": "4000", **UNVERIFIED}
NOT_ENOUGH_REPLICAS = 19


# ---------------------------------------------------------------- producers and the coordinator's part
def new_pids(broker, n):
    out = []
    with kproto.connect(broker.bootstrap, timeout=10) as c:
        for _ in range(n):
            err, pid, epoch = kproto.init_producer_id_v0(c)
            eq((err, epoch), (0, 0), "InitProducerId v0 (error, epoch)")
            out.append(pid)
    return out


class Producer:
    """A producer id writing numbered batches (its sequence carried on)."""

    def __init__(self, pid, epoch=0):
        self.pid, self.epoch, self.seq = pid, epoch, 0

    def batch(self, tag, n, transactional=True):
        values = [f"{tag}-{i}".encode() for i in range(n)]
        data = kproto.transactional_batch([(None, v) for v in values], self.pid, self.epoch, self.seq,
                                          transactional=transactional)
        self.seq += n
        return values, data


def plain(tag, n):
    values = [f"{tag}-{i}".encode() for i in range(n)]
    return values, kproto.record_batch([(None, v) for v in values])


def produce(broker, topic, data, what):
    with kproto.connect(broker.bootstrap, timeout=15) as c:
        err, base = kproto.produce_v3(c, topic, 0, data, acks=-1, timeout_ms=10000, transactional_id=PLAYED_TXN_ID)
    eq(err, 0, f"Produce v3 of {what} to {topic}-0 on broker {broker.broker_id}")
    return base


def marker(pid, commit, topics, coordinator_epoch, producer_epoch=0):
    return {"producer_id": pid, "producer_epoch": producer_epoch, "commit": commit,
            "coordinator_epoch": coordinator_epoch, "topics": topics}


def send_markers(broker, markers, version=1):
    with kproto.connect(broker.bootstrap, timeout=40) as c:
        return kproto.write_txn_markers(c, markers, version=version)


# ---------------------------------------------------------------- reading back
def fetch_all(broker, topic, isolation, offset=0):
    """Fetch v4 from `offset` until a fetch brings nothing. Returns (batches, aborted transactions (sorted, no
    duplicates; None for read_uncommitted), the last response)."""
    batches, aborted = [], set()
    with kproto.connect(broker.bootstrap, timeout=10) as c:
        while True:
            r = kproto.fetch_v4_isolated(c, topic, 0, offset, isolation)
            eq(r["error"], 0, f"Fetch v4 (isolation {isolation}) of {topic}-0 at {offset}: error")
            if isolation == RC:
                check(r["aborted_transactions"] is not None,
                      "a READ_COMMITTED fetch lists its aborted transactions (an empty list, not null)")
                aborted.update(tuple(x) for x in r["aborted_transactions"])
            else:
                check(r["aborted_transactions"] is None,
                      f"a READ_UNCOMMITTED fetch has null aborted transactions (Kafka), got "
                      f"{r['aborted_transactions']}")
            got = kproto.decode_batches_txn(r["records"])
            if not got:
                return batches, (sorted(aborted) if isolation == RC else None), r
            batches += got
            offset = got[-1]["last_offset"] + 1


def values_of(records):
    return [v for _, _, v in records]


def uncommitted_values(batches):
    return [v for b in batches if not b["control"] for _, _, v in b["records"]]


def list_latest(broker, topic, isolation):
    with kproto.connect(broker.bootstrap, timeout=10) as c:
        err, off = kproto.list_offsets_v2(c, topic, 0, -1, isolation)
    eq(err, 0, f"ListOffsets v2 latest (isolation {isolation}) error")
    return off


def describe(broker, topic):
    with kproto.connect(broker.bootstrap, timeout=10) as c:
        res = kproto.describe_producers_v0(c, topic, [0])
    eq(res[0]["error"], 0, f"DescribeProducers of {topic}-0 on broker {broker.broker_id}: error")
    return {p["producer_id"]: p for p in res[0]["producers"]}


def txnindex_bytes(broker, topic):
    """The concatenated .txnindex files of topic-0 on this broker, in base-offset order."""
    d = Path(broker.log_dir) / f"{topic}-0"
    return b"".join(f.read_bytes() for f in sorted(d.glob("*.txnindex"), key=lambda f: int(f.stem)))


def ck_read(bootstrap, topic, isolation, expected, t=60):
    """confluent-kafka (librdkafka) assign-based consumer of topic-0 from offset 0 with `isolation.level`:
    reads until `expected` values arrived, then 2 s more must bring nothing. Returns the values in order."""
    k = ck()
    c = k.Consumer({"bootstrap.servers": bootstrap, "group.id": "gregor-it-unused", "enable.auto.commit": False,
                    "enable.partition.eof": False, "isolation.level": isolation})
    try:
        c.assign([k.TopicPartition(topic, 0, 0)])
        got, errors = [], []
        deadline = time.monotonic() + t
        quiet_until = None
        while time.monotonic() < deadline:
            for m in c.consume(num_messages=1000, timeout=0.3):
                if m.error():
                    errors.append(str(m.error()))
                else:
                    got.append(m.value())
            if len(got) >= len(expected):
                quiet_until = quiet_until or time.monotonic() + 2
                if time.monotonic() >= quiet_until:
                    break
        eq(got, expected, f"confluent-kafka {isolation} values of {topic}-0 (consumer errors: {errors[:3]})")
        return got
    finally:
        c.close()


def kafka_python_read_committed(bootstrap, topic, expected, t=60):
    """kafka-python with isolation_level='read_committed'; Debian's python3-kafka 2.0.2 has no such setting
    (its fetcher always asks READ_UNCOMMITTED): then nothing is checked and the test says so."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaConfigurationError
    import kafka
    try:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                 isolation_level="read_committed", consumer_timeout_ms=1000)
    except (KafkaConfigurationError, TypeError, AssertionError) as e:
        print(f"kafka-python {kafka.__version__} has no isolation_level ({e}); its read_committed read is not "
              f"checked")
        return
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning()
        got = []
        deadline = time.monotonic() + t
        quiet_until = None
        while time.monotonic() < deadline:
            for msgs in consumer.poll(timeout_ms=300, max_records=5000).values():
                got.extend(m.value for m in msgs)
            if len(got) >= len(expected):
                quiet_until = quiet_until or time.monotonic() + 2
                if time.monotonic() >= quiet_until:
                    break
        eq(got, expected, f"kafka-python read_committed values of {topic}-0")
    finally:
        consumer.close()


class LongPoll(threading.Thread):
    """A READ_COMMITTED Fetch v4 (min_bytes 1, max_wait_ms `wait_ms`) in the background: its answer time and
    batches."""

    def __init__(self, broker, topic, offset, wait_ms=20000):
        super().__init__(daemon=True)
        self.broker, self.topic, self.offset, self.wait_ms = broker, topic, offset, wait_ms
        self.result, self.error, self.elapsed = None, None, None

    def run(self):
        try:
            with kproto.connect(self.broker.bootstrap, timeout=self.wait_ms / 1000 + 10) as c:
                start = time.monotonic()
                self.result = kproto.fetch_v4_isolated(c, self.topic, 0, self.offset, RC, max_wait_ms=self.wait_ms,
                                                       min_bytes=1)
                self.elapsed = time.monotonic() - start
        except Exception as e:  # noqa: BLE001
            self.error = e

    def outcome(self, what):
        self.join(self.wait_ms / 1000 + 15)
        check(not self.is_alive(), f"{what}: the long poll did not return")
        if self.error:
            raise Failure(f"{what}: the long poll failed: {self.error}")
        eq(self.result["error"], 0, f"{what}: long poll error")
        return self.result, self.elapsed


# ---------------------------------------------------------------- one broker
@timeout(60)
def test_txn_partition_two_markers_of_one_producer_answered_as_one(ctx):
    """A coordinator may put two markers of one producer in one WriteTxnMarkers request (Kafka's does after a
    leadership move sends both partitions to the same broker). Kafka answers one entry per producer id with all
    its partitions, and Kafka's coordinator reads the answer as a map by producer id: a second entry would hide
    the first one's partitions and leave that transaction in PrepareCommit for ever (seen in the live migration
    from Kafka 2.4). Both versions of the request must get one entry with both partitions."""
    b = ctx.start_broker(0)
    topics = [unique_topic("txnm"), unique_topic("txnm")]
    for t in topics:
        create_topic(b.bootstrap, t, 1)
    (pid,) = new_pids(b, 1)
    for version in (0, 1):
        with kproto.connect(b.bootstrap, timeout=40) as c:
            got = kproto.write_txn_markers(c, [marker(pid, True, {t: [0]}, 0) for t in topics], version=version,
                                           raw=True)
        eq(got, [(pid, {(t, 0): 0 for t in topics})], f"WriteTxnMarkers v{version} answer to two markers of producer "
           f"{pid}")


@timeout(180)
def test_txn_partition_markers_read_committed_and_kill9(ctx):
    """Transactional batches, LSO and read_committed fetches before and after COMMIT/ABORT markers, the coordinator
    checks, real read_committed clients, and kill -9 with the .txnindex rebuilt by recovery."""
    b = ctx.start_broker(0, extra=SHORT_SESSION)
    topic = unique_topic("txnp")
    create_topic(b.bootstrap, topic, 1)
    pid_a, pid_b, pid_c = new_pids(b, 3)
    pa, pb, pc = Producer(pid_a), Producer(pid_b), Producer(pid_c, epoch=2)

    p0, data = plain("p0", 2)
    eq(produce(b, topic, data, "p0"), 0, "p0 offset")
    a1, data = pa.batch("a1", 2)
    eq(produce(b, topic, data, "a1"), 2, "a1 offset (producer A opens a transaction)")
    b1, data = pb.batch("b1", 3)
    eq(produce(b, topic, data, "b1"), 4, "b1 offset (producer B opens a transaction)")
    p1, data = plain("p1", 1)
    eq(produce(b, topic, data, "p1"), 7, "p1 offset")
    a2, data = pa.batch("a2", 1)
    eq(produce(b, topic, data, "a2"), 8, "a2 offset")

    # Before any marker: read_committed stops at A's first record.
    batches, aborted, last = fetch_all(b, topic, RU)
    eq(uncommitted_values(batches), p0 + a1 + b1 + p1 + a2, "READ_UNCOMMITTED values")
    eq((last["high_watermark"], last["last_stable_offset"]), (9, 2), "(high watermark, LSO) before the markers")
    batches, aborted, last = fetch_all(b, topic, RC)
    eq(uncommitted_values(batches), p0, "READ_COMMITTED values before the markers (stop at the LSO)")
    eq(aborted, [], "aborted transactions before the markers")
    eq(last["last_stable_offset"], 2, "LSO in a READ_COMMITTED fetch")
    eq((list_latest(b, topic, RU), list_latest(b, topic, RC)), (9, 2),
       "ListOffsets v2 latest (read_uncommitted, read_committed)")
    producers = describe(b, topic)
    eq({p: (s["current_txn_start_offset"], s["last_sequence"]) for p, s in producers.items()},
       {pid_a: (2, 2), pid_b: (4, 2)}, "DescribeProducers (txn start offset, last sequence) per producer")

    # A read_committed long poll waiting at the LSO: the markers must end it, not its max wait.
    poll = LongPoll(b, topic, 2)
    poll.start()
    time.sleep(0.3)  # let it park (if it has not, it answers at once with the same data: still correct)
    res = send_markers(b, [marker(pid_a, True, {topic: [0]}, 5),
                           marker(pid_b, False, {topic: [0], "no-such-topic": [0]}, 5)])
    eq(res, {pid_a: {(topic, 0): 0}, pid_b: {(topic, 0): 0, ("no-such-topic", 0): 3}},
       "WriteTxnMarkers v1 per-partition errors (COMMIT A, ABORT B, an unknown partition)")
    got, elapsed = poll.outcome("read_committed long poll at the LSO")
    check(elapsed < 10, f"the read_committed long poll returned after {elapsed:.1f}s: the markers did not wake it")
    check(kproto.decode_batches_txn(got["records"]), "the woken read_committed long poll brought records")
    print(f"read_committed long poll woken by the markers after {elapsed * 1000:.0f} ms")

    # Markers at 9 (COMMIT A) and 10 (ABORT B): everything is stable.
    batches, aborted, last = fetch_all(b, topic, RC)
    eq((last["high_watermark"], last["last_stable_offset"]), (11, 11), "(high watermark, LSO) after the markers")
    eq(aborted, [(pid_b, 4)], "READ_COMMITTED aborted transactions (producer id, first offset)")
    committed = p0 + a1 + p1 + a2
    eq(values_of(kproto.read_committed_view(batches, aborted)), committed, "what a read_committed client keeps")
    eq([(x["base_offset"], x["control_type"]) for x in batches if x["control"]],
       [(9, kproto.CONTROL_COMMIT), (10, kproto.CONTROL_ABORT)], "marker batches (offset, type)")
    _, aborted_from_7, _ = fetch_all(b, topic, RC, offset=7)
    eq(aborted_from_7, [(pid_b, 4)], "aborted transactions of a fetch from inside B's transaction")
    eq((list_latest(b, topic, RU), list_latest(b, topic, RC)), (11, 11), "ListOffsets v2 latest after the markers")

    # The coordinator's checks: an older coordinator epoch, an older producer epoch (v0 frames).
    res = send_markers(b, [marker(pid_a, False, {topic: [0]}, 4)], version=0)
    eq(res, {pid_a: {(topic, 0): kproto.TRANSACTION_COORDINATOR_FENCED}}, "a marker from a fenced coordinator")
    c1, data = pc.batch("c1", 1)
    eq(produce(b, topic, data, "c1 (producer C, epoch 2)"), 11, "c1 offset")
    res = send_markers(b, [marker(pid_c, True, {topic: [0]}, 5, producer_epoch=1)], version=0)
    eq(res, {pid_c: {(topic, 0): kproto.INVALID_PRODUCER_EPOCH}}, "a marker with an older producer epoch")
    eq(list_latest(b, topic, RC), 11, "LSO with producer C's transaction open")
    producers = describe(b, topic)
    eq({p: (s["producer_epoch"], s["coordinator_epoch"], s["current_txn_start_offset"]) for p, s in producers.items()},
       {pid_a: (0, 5, -1), pid_b: (0, 5, -1), pid_c: (2, -1, 11)},
       "DescribeProducers (epoch, coordinator epoch, txn start offset)")

    # Real clients.
    ck_read(b.bootstrap, topic, "read_committed", committed)
    ck_read(b.bootstrap, topic, "read_uncommitted", p0 + a1 + b1 + p1 + a2 + c1)
    kafka_python_read_committed(b.bootstrap, topic, committed)

    # kill -9; the .txnindex is deleted while the broker is down: recovery of the unflushed tail rebuilds it.
    d = Path(b.log_dir) / f"{topic}-0"
    index_before = txnindex_bytes(b, topic)
    eq(len(index_before), 34, ".txnindex size (one aborted transaction)")
    b.kill9()
    for f in d.glob("*.txnindex"):
        f.unlink()
    wait_unregistered(ctx, 0)
    b.start()

    def serving():
        try:
            return list_latest(b, topic, RU) == 12
        except (Failure, OSError, kproto.ProtocolError):
            return False
    wait_until(serving, 30, "the restarted broker to serve the partition again", interval=0.2)
    eq(txnindex_bytes(b, topic), index_before, ".txnindex after kill -9 and recovery (rebuilt byte for byte)")
    batches, aborted, last = fetch_all(b, topic, RC)
    eq((last["high_watermark"], last["last_stable_offset"]), (12, 11), "(HW, LSO) after the restart (C still open)")
    eq(aborted, [(pid_b, 4)], "aborted transactions after the restart")
    eq(values_of(kproto.read_committed_view(batches, aborted)), committed, "read_committed view after the restart")
    eq(describe(b, topic)[pid_c]["current_txn_start_offset"], 11, "producer C's open transaction after the restart")

    res = send_markers(b, [marker(pid_c, True, {topic: [0]}, 5, producer_epoch=2)])
    eq(res, {pid_c: {(topic, 0): 0}}, "COMMIT of producer C after the restart")
    eq(list_latest(b, topic, RC), 13, "LSO after C's commit")
    ck_read(b.bootstrap, topic, "read_committed", committed + c1)


# ---------------------------------------------------------------- three brokers, replication factor 3
@timeout(300)
def test_txn_partition_leader_failover_rf3(ctx):
    """Markers wait for the ISR; followers build the same .txnindex and open transactions, so a new leader after
    kill -9 of the old one answers read_committed fetches the same way and takes the remaining markers."""
    brokers = ctx.start_cluster(3, extra={**CLUSTER_EXTRA, **UNVERIFIED})
    ids = by_id(brokers)
    topic = unique_topic("txnrf3")
    create_topic_rf(brokers, topic, 1, 3, configs={"min.insync.replicas": "2"})
    st = wait_isr_full(ctx, brokers, topic, [0])[0]
    leader = ids[st["leader"]]
    followers = [x for x in brokers if x is not leader]
    pid_a, pid_b, pid_c = new_pids(leader, 3)
    pa, pb, pc = Producer(pid_a), Producer(pid_b), Producer(pid_c)

    p0, data = plain("p0", 2)
    eq(produce(leader, topic, data, "p0"), 0, "p0 offset")
    a1, data = pa.batch("a1", 2)
    eq(produce(leader, topic, data, "a1"), 2, "a1 offset")
    b1, data = pb.batch("b1", 2)
    eq(produce(leader, topic, data, "b1"), 4, "b1 offset")
    p1, data = plain("p1", 1)
    eq(produce(leader, topic, data, "p1"), 6, "p1 offset")
    c1, data = pc.batch("c1", 1)
    eq(produce(leader, topic, data, "c1"), 7, "c1 offset")
    eq(list_latest(leader, topic, RC), 2, "LSO before the markers")

    res = send_markers(followers[0], [marker(pid_a, True, {topic: [0]}, 3)])
    eq(res, {pid_a: {(topic, 0): kproto.NOT_LEADER_OR_FOLLOWER}}, "WriteTxnMarkers to a follower")

    # The LSO moves only once the markers are below the HW, i.e. replicated: the long poll waits for that.
    poll = LongPoll(leader, topic, 2)
    poll.start()
    time.sleep(0.3)
    res = send_markers(leader, [marker(pid_a, True, {topic: [0]}, 3), marker(pid_b, False, {topic: [0]}, 3)])
    eq(res, {pid_a: {(topic, 0): 0}, pid_b: {(topic, 0): 0}}, "COMMIT A, ABORT B on the leader")
    got, elapsed = poll.outcome("read_committed long poll on the leader")
    check(elapsed < 10, f"the read_committed long poll returned after {elapsed:.1f}s")
    print(f"read_committed long poll woken after {elapsed * 1000:.0f} ms (markers replicated to the ISR)")
    batches, aborted, last = fetch_all(leader, topic, RC)
    eq(last["last_stable_offset"], 7, "LSO: producer C's transaction is open")
    eq(aborted, [(pid_b, 4)], "aborted transactions on the leader")
    eq(values_of(kproto.read_committed_view(batches, aborted)), p0 + a1 + p1, "read_committed view on the leader")

    # Followers wrote the same .txnindex (the same LSO in its entry: they track the same open transactions) and
    # describe the same producers (as in Kafka, any replica answers DescribeProducers).
    ref = txnindex_bytes(leader, topic)
    eq(len(ref), 34, "the leader's .txnindex size")
    wait_until(lambda: all(txnindex_bytes(f, topic) == ref for f in followers), 30,
               "the followers' .txnindex to equal the leader's")
    for f in followers:
        eq(describe(f, topic)[pid_c]["current_txn_start_offset"], 7,
           f"producer C's open transaction as follower {f.broker_id} describes it")

    # kill -9 of the leader: the new one answers from its replicated state.
    old = leader.broker_id
    leader.kill9()
    new_id = wait_new_leader(ctx, topic, 0, old)
    new_leader = ids[new_id]
    live = [x for x in brokers if x.alive()]

    def lso_back():
        try:
            return list_latest(new_leader, topic, RC) == 7 and list_latest(new_leader, topic, RU) == 10
        except (Failure, OSError, kproto.ProtocolError):
            return False
    wait_until(lso_back, 60, f"new leader {new_id} to serve LSO 7 and high watermark 10", interval=0.2)
    batches, aborted, _ = fetch_all(new_leader, topic, RC)
    eq(aborted, [(pid_b, 4)], "aborted transactions on the new leader")
    eq(values_of(kproto.read_committed_view(batches, aborted)), p0 + a1 + p1, "read_committed view on the new leader")

    def commit_c():
        r = send_markers(new_leader, [marker(pid_c, True, {topic: [0]}, 3)])
        err = r[pid_c][(topic, 0)]
        # Not leader yet, or the ISR still counts the dead broker: nothing was appended, try again. (After a
        # timeout the marker would be in the log: a retry would append a second one, as a coordinator's does.)
        if err in (kproto.NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS):
            return False
        eq(err, 0, "COMMIT of producer C on the new leader")
        return True
    wait_until(commit_c, 60, "the new leader to take producer C's COMMIT", interval=0.5)
    res = send_markers(new_leader, [marker(pid_c, False, {topic: [0]}, 2)])
    eq(res, {pid_c: {(topic, 0): kproto.TRANSACTION_COORDINATOR_FENCED}}, "a zombie coordinator's ABORT")
    eq(list_latest(new_leader, topic, RC), 11, "LSO on the new leader after C's commit")
    ck_read(bootstrap_of(live), topic, "read_committed", p0 + a1 + p1 + c1)

    # The old leader comes back, catches up: identical .log and .txnindex everywhere.
    wait_unregistered(ctx, old)
    leader.start()
    wait_isr_full(ctx, brokers, topic, [0])
    wait_replicas_identical(ctx, brokers, topic, 0)
    ref = txnindex_bytes(new_leader, topic)
    eq(len(ref), 34, "the new leader's .txnindex size")
    for x in brokers:
        eq(txnindex_bytes(x, topic), ref, f"broker {x.broker_id}'s .txnindex")
