"""KIP-890 part 1: partition leaders verify transactional produce requests with the transaction coordinator
(transaction.partition.verification.enable, on by default as in Kafka 3.6+).

Hand-built frames (kproto plus the few written here: Produce v3 with a transactional id, AddPartitionsToTxn v0,
EndTxn v0) play a transactional producer and its late batches, the way the Jepsen/Bufstream 2024 analysis of
Kafka found them: a batch for a partition never added to the transaction, and a retried batch of a transaction
that has already ended. Each must be refused without appending anything and without leaving an open (hanging)
transaction behind: the last stable offset (ListOffsets v2 read_committed) equals the high watermark.
One broker (the coordinator answers locally), three brokers (the leader asks another broker's coordinator with
AddPartitionsToTxn v4 verify_only), and verification off (the hanging transaction it prevents). The
confluent-kafka transactional producer is covered by test_transactions.py, which runs with the default (on),
including the coordinator's kill -9 (test_txn_coordinator_failover)."""

import kproto
from harness import Failure, check, eq, timeout, unique_topic, wait_until
from test_cluster import by_id, create_topic_rf, wait_isr_full
from test_transactions import TXN_ONE, TXN_THREE, find_txn_coordinator, leader_of, wait_txn_state

# Kafka error codes (Errors.java).
NONE = 0
NOT_ENOUGH_REPLICAS = 19
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53

API_ADD_PARTITIONS_TO_TXN = 24
API_END_TXN = 26
READ_UNCOMMITTED, READ_COMMITTED = 0, 1


# ---------------------------------------------------------------- frames
def produce_txn_v3(conn, tid, topic, partition, batch, acks=-1, timeout_ms=10000):
    """Produce v3 with a transactional id. Returns the partition's error code and base offset."""
    return kproto.produce_v3(conn, topic, partition, batch, acks, timeout_ms, transactional_id=tid)


def add_partitions_to_txn_v0(conn, tid, pid, epoch, topic, partitions):
    """AddPartitionsToTxn v0. Returns {partition: error_code}."""
    body = (kproto.string(tid) + kproto.i64(pid) + kproto.i16(epoch) +
            kproto.array([topic], lambda t: kproto.string(t) + kproto.array(partitions, kproto.i32)))
    r = conn.request(API_ADD_PARTITIONS_TO_TXN, 0, body)
    r.i32()  # throttle
    out = {}
    for name, parts in r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16())))):
        for p, err in parts:
            if name == topic:
                out[p] = err
    return out


def end_txn_v0(conn, tid, pid, epoch, commit):
    r = conn.request(API_END_TXN, 0, kproto.string(tid) + kproto.i64(pid) + kproto.i16(epoch) +
                     kproto.i8(1 if commit else 0))
    r.i32()  # throttle
    return r.i16()


# ---------------------------------------------------------------- helpers
def offsets(leader, topic, p):
    """(high watermark, last stable offset) of topic-p from its leader."""
    with kproto.connect(leader.bootstrap, timeout=5) as c:
        e1, hw = kproto.list_offsets_v2(c, topic, p, -1, READ_UNCOMMITTED)
        e2, lso = kproto.list_offsets_v2(c, topic, p, -1, READ_COMMITTED)
    eq((e1, e2), (0, 0), f"ListOffsets v2 errors for {topic}-{p}")
    return hw, lso


def wait_stable_at(leader, topic, p, end, what):
    """Polls until the high watermark is `end` and the LSO has caught up with it (no open transaction)."""
    last = {}

    def stable():
        last["o"] = offsets(leader, topic, p)
        return last["o"] == (end, end)
    try:
        wait_until(stable, 20, what, interval=0.1)
    except Failure as e:
        raise Failure(f"{e}: (high watermark, LSO) = {last.get('o')}, expected ({end}, {end})")


def init_txn_producer(brokers, coordinator_id, tid):
    with kproto.connect(by_id(brokers)[coordinator_id].bootstrap, timeout=10) as c:
        def init():
            err, pid, epoch = kproto.init_producer_id_v0(c, tid, timeout_ms=60000)
            return (pid, epoch) if err == 0 else None
        return wait_until(init, 30, f"InitProducerId({tid!r})", interval=0.2)


def batch(pid, epoch, seq, tag):
    return kproto.transactional_batch([(b"k", f"{tag}-{seq}".encode())], pid, epoch, seq)


def run_scenario(brokers, topic, p, tid):
    """(a) a batch for a partition never added is refused; (b) after AddPartitionsToTxn it is accepted;
    (c) after the commit, a late batch of the ended transaction is refused; (d) after a new InitProducerId,
    a batch with the old epoch is refused with INVALID_PRODUCER_EPOCH. Nothing refused is appended and the
    LSO never hangs."""
    coordinator_id = find_txn_coordinator(brokers, tid)
    coordinator = by_id(brokers)[coordinator_id]
    leader = leader_of(brokers, topic, p)
    check(leader is not None, f"{topic}-{p} has a leader")
    print(f"transactional id {tid!r}: coordinator broker {coordinator_id}, {topic}-{p} leader broker "
          f"{leader.broker_id}")
    pid, epoch = init_txn_producer(brokers, coordinator_id, tid)
    hw0, _ = offsets(leader, topic, p)

    with kproto.connect(leader.bootstrap, timeout=30) as lc, kproto.connect(coordinator.bootstrap, timeout=30) as cc:
        # (a) never added to the transaction.
        err, _ = produce_txn_v3(lc, tid, topic, p, batch(pid, epoch, 0, "a"))
        eq(err, INVALID_TXN_STATE, "(a) produce to a partition not in the transaction")
        wait_stable_at(leader, topic, p, hw0, "(a) nothing appended, no open transaction")

        # (b) added, then accepted; the transaction is open in the partition.
        eq(add_partitions_to_txn_v0(cc, tid, pid, epoch, topic, [p]), {p: NONE}, "(b) AddPartitionsToTxn")
        err, base = produce_txn_v3(lc, tid, topic, p, batch(pid, epoch, 0, "b"))
        eq(err, NONE, "(b) produce after AddPartitionsToTxn")
        eq(base, hw0, "(b) base offset")
        err, base = produce_txn_v3(lc, tid, topic, p, batch(pid, epoch, 1, "b"))
        eq((err, base), (NONE, hw0 + 1), "(b) second batch of the open transaction (no verification needed)")
        hw, lso = offsets(leader, topic, p)
        eq((hw, lso), (hw0 + 2, hw0), "(b) (high watermark, LSO) while the transaction is open")

        # (c) committed; a late retry of a batch of that transaction arrives afterwards.
        eq(end_txn_v0(cc, tid, pid, epoch, True), NONE, "(c) EndTxn(commit)")
        wait_txn_state(coordinator, tid, ["CompleteCommit"])
        end = hw0 + 3  # two batches and the COMMIT marker
        wait_stable_at(leader, topic, p, end, "(c) the commit marker written and stable")
        err, _ = produce_txn_v3(lc, tid, topic, p, batch(pid, epoch, 2, "late"))
        eq(err, INVALID_TXN_STATE, "(c) late batch of the committed transaction")
        wait_stable_at(leader, topic, p, end, "(c) the late batch appended nothing and left no hanging transaction")

    # (d) the producer restarts (epoch bump); a batch of the old epoch is fenced.
    pid2, epoch2 = init_txn_producer(brokers, coordinator_id, tid)
    eq(pid2, pid, "(d) same producer id after the second InitProducerId")
    check(epoch2 > epoch, f"(d) epoch bumped ({epoch} -> {epoch2})")
    with kproto.connect(leader.bootstrap, timeout=30) as lc:
        err, _ = produce_txn_v3(lc, tid, topic, p, batch(pid, epoch, 3, "zombie"))
        eq(err, INVALID_PRODUCER_EPOCH, "(d) batch with the old epoch")
    wait_stable_at(leader, topic, p, end, "(d) nothing appended")
    return coordinator_id, leader.broker_id


@timeout(120)
def test_txn_verification_one_broker(ctx):
    b = ctx.start_broker(0, extra={**TXN_ONE, "transaction.partition.verification.enable": "true"})
    topic = unique_topic("verify")
    create_topic_rf([b], topic, 1, 1)
    run_scenario([b], topic, 0, "verify-one")


@timeout(240)
def test_txn_verification_three_brokers(ctx):
    brokers = ctx.start_cluster(3, extra={**TXN_THREE, "transaction.partition.verification.enable": "true"})
    tid = "verify-three"
    coordinator_id = find_txn_coordinator(brokers, tid)
    others = [b.broker_id for b in brokers if b.broker_id != coordinator_id]
    topic = unique_topic("verify")
    # The partition's preferred leader is another broker than the coordinator.
    create_topic_rf(brokers, topic, 1, 3, assignment=[[others[0], others[1], coordinator_id]])
    wait_isr_full(ctx, brokers, topic, [0])
    c, l = run_scenario(brokers, topic, 0, tid)
    check(c != l, f"coordinator {c} and leader {l} differ")


@timeout(120)
def test_txn_verification_off_lets_a_stray_batch_hang(ctx):
    """The failure verification prevents: with it off, a batch for a partition never added to the transaction
    is appended and opens a transaction no coordinator will ever end (the LSO stays behind). Even so, a
    transactional batch without a transactional id is refused as Kafka refuses it (the write is authorized on
    the id): TRANSACTIONAL_ID_AUTHORIZATION_FAILED, nothing appended."""
    b = ctx.start_broker(0, extra={**TXN_ONE, "transaction.partition.verification.enable": "false"})
    topic = unique_topic("verify")
    create_topic_rf([b], topic, 1, 1)
    tid = "verify-off"
    coordinator_id = find_txn_coordinator([b], tid)
    pid, epoch = init_txn_producer([b], coordinator_id, tid)
    with kproto.connect(b.bootstrap, timeout=30) as c:
        err, base = produce_txn_v3(c, None, topic, 0, batch(pid, epoch, 0, "no-id"))
        eq((err, base), (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1), "transactional batch without a transactional id")
        eq(offsets(b, topic, 0), (0, 0), "(high watermark, LSO) after the refused batch")
        err, base = produce_txn_v3(c, tid, topic, 0, batch(pid, epoch, 0, "stray"))
    eq((err, base), (NONE, 0), "stray batch accepted without verification")
    hw, lso = offsets(b, topic, 0)
    eq((hw, lso), (1, 0), "(high watermark, LSO): the stray batch hangs")
