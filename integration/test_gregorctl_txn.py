"""gregorctl transactions list/describe/describe-producers/abort/find-hanging (KIP-664, like
kafka-transactions.sh) against one broker.

An open transaction of a confluent-kafka transactional producer must show in all three views with the facts the
producer created (its partitions, the start offset of the transaction, the last sequence), and change with the
commit. A hanging transaction (a transactional producer killed with SIGKILL after writing, with a transaction
timeout far beyond the test, so the coordinator does not abort it) holds the last stable offset back until
`transactions abort --start-offset` writes the ABORT marker; then a read_committed consumer reads the records
after it and none of the hanging ones. `transactions find-hanging` reports a transactional batch written
without AddPartitionsToTxn (verification off) once it is older than --max-transaction-timeout, never a
healthy open transaction, and nothing once `abort` has ended it. Errors come back with Kafka's error names and
exit status 1, bad usage with 2.

GREGOR_IT_GREGORCTL=/path/to/gregorctl tests another gregorctl build.
"""

import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import kproto
from harness import GREGORCTL, Failure, check, create_topic, eq, timeout, unique_topic, wait_until
from test_confluent import ck, produce_all

CTL = Path(os.environ.get("GREGOR_IT_GREGORCTL", GREGORCTL)).resolve()

# One broker: the internal topics with one replica, few partitions for a quick start-up.
ONE_BROKER = {"transaction.state.log.replication.factor": "1", "transaction.state.log.min.isr": "1",
              "transaction.state.log.num.partitions": "4", "offsets.topic.replication.factor": "1",
              "offsets.topic.num.partitions": "4", "group.initial.rebalance.delay.ms": "0"}

API_LIST_OFFSETS = 2
READ_UNCOMMITTED = 0
READ_COMMITTED = 1


def ctl(ctx, b, *args, check_rc=0, t=40):
    if not CTL.exists():
        raise Failure(f"{CTL} is not built")
    return ctx.run([CTL, "-b", b.bootstrap, "-X", "socket.timeout.ms=20000", *args], timeout=t,
                   check_rc=check_rc)


def table(out):
    """A gregorctl table (cells without spaces) -> list of {header: cell}."""
    lines = [line for line in out.splitlines() if line.strip()]
    check(lines, f"no table in {out!r}")
    header = lines[0].split()
    rows = [dict(zip(header, line.split())) for line in lines[1:]]
    for r in rows:
        eq(len(r), len(header), f"cells of a table row ({out!r})")
    return rows


def end_offsets(b, topic, p):
    """(high watermark, last stable offset) of topic-p: ListOffsets v2 latest under both isolation levels."""
    def latest(c, isolation):
        body = (kproto.i32(-1) + kproto.i8(isolation) +
                kproto.array([topic], lambda t: kproto.string(t) +
                             kproto.array([p], lambda q: kproto.i32(q) + kproto.i64(-1))))
        r = c.request(API_LIST_OFFSETS, 2, body)
        r.i32()  # throttle
        parts = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
        (_, [(_, err, _, offset)]), = parts
        eq(err, 0, f"ListOffsets v2 (isolation {isolation}) error for {topic}-{p}")
        return offset
    with kproto.connect(b.bootstrap, timeout=5) as c:
        return latest(c, READ_UNCOMMITTED), latest(c, READ_COMMITTED)


def read_committed(bootstrap, topic, p, t=40):
    """Values of topic-p from the beginning to the end of partition under read_committed (an assign-based
    confluent-kafka consumer, no group)."""
    k = ck()
    c = k.Consumer({"bootstrap.servers": bootstrap, "group.id": "gregor-it-unused", "enable.auto.commit": False,
                    "enable.partition.eof": True, "isolation.level": "read_committed",
                    "auto.offset.reset": "error"})
    try:
        c.assign([k.TopicPartition(topic, p, k.OFFSET_BEGINNING)])
        values, errors = [], []
        deadline = time.monotonic() + t
        while True:
            check(time.monotonic() < deadline, f"read_committed consumer did not reach the end of {topic}-{p} "
                                               f"within {t}s (read {len(values)}; errors {errors[:3]})")
            m = c.poll(0.3)
            if m is None:
                continue
            if m.error():
                if m.error().code() == k.KafkaError._PARTITION_EOF:
                    return values
                errors.append(str(m.error()))
                continue
            values.append(m.value().decode())
    finally:
        c.close()


def txn_producer(bootstrap, tid, timeout_ms):
    return ck().Producer({"bootstrap.servers": bootstrap, "transactional.id": tid, "linger.ms": 5, "acks": "all",
                          "transaction.timeout.ms": timeout_ms})


@timeout(120)
def test_gregorctl_txn_views(ctx):
    b = ctx.start_broker(0, extra=ONE_BROKER)
    topic = unique_topic("ctltxn")
    create_topic(b.bootstrap, topic, partitions=2)
    tid = unique_topic("ctl-tid")
    p = txn_producer(b.bootstrap, tid, 60000)
    p.init_transactions(30)

    # Before any transaction: Empty, nothing open.
    _, out, _ = ctl(ctx, b, "transactions", "describe", "--transactional-id", tid)
    (d,) = table(out)
    eq((d["CoordinatorId"], d["TransactionalId"], d["TransactionState"], d["TransactionTimeoutMs"],
        d["TopicPartitions"]), ("0", tid, "Empty", "60000", "-"), "`transactions describe` after init_transactions")
    pid, epoch = d["ProducerId"], d["ProducerEpoch"]
    check(int(pid) >= 0 and int(epoch) >= 0, f"producer id/epoch {pid}/{epoch}")

    t_begin_ms = int(time.time() * 1000)
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, value=f"v{i}".encode(), partition=0)
    for i in range(2):
        p.produce(topic, value=f"w{i}".encode(), partition=1)
    eq(p.flush(30), 0, "records without a delivery report")
    now_ms = int(time.time() * 1000)

    _, out, _ = ctl(ctx, b, "transactions", "list")
    rows = [r for r in table(out) if r["TransactionalId"] == tid]
    eq(rows, [{"TransactionalId": tid, "Coordinator": "0", "ProducerId": pid, "TransactionState": "Ongoing"}],
       "`transactions list` rows of the open transaction")
    _, out, _ = ctl(ctx, b, "transactions", "list", "--state", "ongoing", "--producer-id", pid)
    eq([r["TransactionalId"] for r in table(out)], [tid], "`transactions list --state ongoing --producer-id`")
    _, out, _ = ctl(ctx, b, "transactions", "list", "--state", "CompleteCommit")
    check(all(r["TransactionalId"] != tid for r in table(out)), f"--state CompleteCommit lists {tid}: {out}")

    _, out, _ = ctl(ctx, b, "transactions", "describe", "--transactional-id", tid)
    (d,) = table(out)
    eq((d["ProducerId"], d["ProducerEpoch"], d["TransactionState"], d["TransactionTimeoutMs"],
        d["TopicPartitions"]), (pid, epoch, "Ongoing", "60000", f"{topic}-0,{topic}-1"),
       "`transactions describe` of the open transaction")
    start = int(d["CurrentTransactionStartTimeMs"])
    check(t_begin_ms - 1000 <= start <= now_ms + 1000, f"start time {start} outside [{t_begin_ms}, {now_ms}]")
    check(int(d["TransactionDurationMs"]) >= 0, f"duration {d['TransactionDurationMs']}")

    for q, last_seq in ((0, "2"), (1, "1")):
        _, out, _ = ctl(ctx, b, "transactions", "describe-producers", "--topic", topic, "--partition", str(q))
        mine = [r for r in table(out) if r["ProducerId"] == pid]
        eq(len(mine), 1, f"`describe-producers` partition {q}: rows of producer {pid} ({out})")
        eq((mine[0]["ProducerEpoch"], mine[0]["LastSequence"], mine[0]["CurrentTransactionStartOffset"]),
           (epoch, last_seq, "0"), f"`describe-producers` partition {q} while open (epoch, last sequence, start)")
        check(int(mine[0]["LastTimestamp"]) >= t_begin_ms - 1000, f"last timestamp {mine[0]}")
    # The same with the replica named (one broker: the leader).
    _, out, _ = ctl(ctx, b, "transactions", "describe-producers", "--topic", topic, "--partition", "0",
                    "--broker-id", "0")
    eq([r["CurrentTransactionStartOffset"] for r in table(out) if r["ProducerId"] == pid], ["0"],
       "`describe-producers --broker-id 0`")

    p.commit_transaction(30)

    def committed():
        (d,) = table(ctl(ctx, b, "transactions", "describe", "--transactional-id", tid)[1])
        return d if d["TransactionState"] == "CompleteCommit" else None
    d = wait_until(committed, 20, "`transactions describe` to show CompleteCommit")
    eq((d["ProducerId"], d["TopicPartitions"]), (pid, "-"), "`transactions describe` after the commit")
    _, out, _ = ctl(ctx, b, "transactions", "describe-producers", "--topic", topic, "--partition", "1")
    eq([(r["ProducerId"], r["CurrentTransactionStartOffset"]) for r in table(out) if r["ProducerId"] == pid],
       [(pid, "-")], "`describe-producers` after the commit")
    check(int([r for r in table(out) if r["ProducerId"] == pid][0]["LatestCoordinatorEpoch"]) >= 0,
          f"coordinator epoch after the commit marker: {out}")

    # Errors: Kafka's names, exit 1; bad usage, exit 2.
    _, _, err = ctl(ctx, b, "transactions", "describe", "--transactional-id", "no-such-tid", check_rc=1)
    check("TRANSACTIONAL_ID_NOT_FOUND" in err, f"describe of an unknown id: {err!r}")
    _, _, err = ctl(ctx, b, "transactions", "describe-producers", "--topic", "no-such-topic-x", "--partition",
                     "0", check_rc=1)
    check("UNKNOWN_TOPIC_OR_PARTITION" in err, f"describe-producers of a missing topic: {err!r}")
    _, _, err = ctl(ctx, b, "transactions", "describe-producers", "--topic", topic, "--partition", "7",
                     check_rc=1)
    check("UNKNOWN_TOPIC_OR_PARTITION" in err, f"describe-producers of a missing partition: {err!r}")
    ctl(ctx, b, "transactions", "describe", check_rc=2)
    ctl(ctx, b, "transactions", "abort", "--topic", topic, "--partition", "0", check_rc=2)
    ctl(ctx, b, "transactions", "list", "--state", "Running", check_rc=2)
    # A security setting the raw client does not speak is bad usage; TLS against a plain port fails cleanly.
    ctl(ctx, b, "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=GSSAPI", "-X", "sasl.username=u",
        "transactions", "list", check_rc=2)
    _, _, err = ctl(ctx, b, "-X", "security.protocol=SSL", "-X", "socket.timeout.ms=3000", "transactions", "list",
                    check_rc=1)
    check("TLS handshake failed" in err, f"TLS against the PLAINTEXT port: {err!r}")


# A transactional producer that writes into an open transaction, reports, and waits to be killed.
VICTIM = r"""
import sys, time
import confluent_kafka
bootstrap, tid, topic, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "transactional.id": tid, "acks": "all",
                              "linger.ms": 5, "transaction.timeout.ms": 600000})
p.init_transactions(30)
p.begin_transaction()
offsets = []
for i in range(n):
    p.produce(topic, value=f"hang-{i}".encode(), partition=0,
              on_delivery=lambda err, m: offsets.append(-1 if err else m.offset()))
assert p.flush(30) == 0
print("READY " + " ".join(map(str, sorted(offsets))), flush=True)
while True:
    time.sleep(60)
"""


def start_victim(ctx, b, tid, topic, n, t=40):
    """Runs VICTIM; returns (process, offsets of its records) once it has written them."""
    proc = ctx.popen([sys.executable, "-c", VICTIM, b.bootstrap, tid, topic, str(n)], stdout=subprocess.PIPE,
                     stderr=open(ctx.dir / "victim.log", "ab"))
    deadline = time.monotonic() + t
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            proc.kill()
            raise Failure(f"the transactional producer did not report its records (exit {proc.poll()}; "
                          f"output {buf!r}; see victim.log)")
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                continue
            buf += chunk
    line = buf.decode().splitlines()[0]
    check(line.startswith("READY"), f"transactional producer said {line!r}")
    return proc, [int(x) for x in line.split()[1:]]


@timeout(150)
def test_gregorctl_txn_abort_hanging(ctx):
    # transaction.timeout.ms 600000 (within the default transaction.max.timeout.ms): the coordinator leaves the
    # killed producer's transaction open for the whole test.
    b = ctx.start_broker(0, extra=ONE_BROKER)
    topic = unique_topic("hang")
    create_topic(b.bootstrap, topic, partitions=1)
    tid = unique_topic("hang-tid")

    victim, offsets = start_victim(ctx, b, tid, topic, 5)
    eq(offsets, [0, 1, 2, 3, 4], "offsets of the hanging transaction's records")
    victim.kill()
    victim.wait()
    # An idempotent producer, so that the partition has a second producer with nothing open.
    produce_all(b.bootstrap, topic, [(0, None, f"after-{i}".encode()) for i in range(10)],
                extra={"enable.idempotence": True})

    hw, lso = end_offsets(b, topic, 0)
    eq((hw, lso), (15, 0), "(high watermark, last stable offset) behind the hanging transaction")

    _, out, _ = ctl(ctx, b, "transactions", "describe", "--transactional-id", tid)
    (d,) = table(out)
    eq((d["TransactionState"], d["TopicPartitions"]), ("Ongoing", f"{topic}-0"),
       "`transactions describe` of the killed producer's id")
    pid, epoch = d["ProducerId"], d["ProducerEpoch"]
    _, out, _ = ctl(ctx, b, "transactions", "list", "--state", "Ongoing")
    check(any(r["TransactionalId"] == tid and r["ProducerId"] == pid for r in table(out)),
          f"`transactions list --state Ongoing` lacks {tid}: {out}")
    _, out, _ = ctl(ctx, b, "transactions", "describe-producers", "--topic", topic, "--partition", "0")
    rows = table(out)
    eq([(r["ProducerEpoch"], r["LastSequence"], r["CurrentTransactionStartOffset"]) for r in rows
        if r["ProducerId"] == pid], [(epoch, "4", "0")], f"`describe-producers` row of producer {pid}")
    eq([r["CurrentTransactionStartOffset"] for r in rows if r["ProducerId"] != pid], ["-"],
       "`describe-producers`: the idempotent producer of the later records has nothing open")

    # No transaction starts at offset 3: nothing is written.
    _, _, err = ctl(ctx, b, "transactions", "abort", "--topic", topic, "--partition", "0", "--start-offset", "3",
                    check_rc=1)
    check("no open transaction starts at offset 3" in err and "0 (producer " + pid + ")" in err,
          f"abort at a wrong offset: {err!r}")
    eq(end_offsets(b, topic, 0), (15, 0), "(high watermark, last stable offset) after the refused abort")

    _, out, _ = ctl(ctx, b, "transactions", "abort", "--topic", topic, "--partition", "0", "--start-offset", "0")
    check(out.startswith(f"Aborted the transaction of producer {pid} (epoch {epoch}, coordinator epoch ")
          and out.rstrip().endswith(f"on {topic}-0, which started at offset 0"), f"`transactions abort` said {out!r}")

    # The marker (offset 15) releases the last stable offset.
    wait_until(lambda: end_offsets(b, topic, 0) == (16, 16), 20, "the last stable offset to reach the high "
                                                                 "watermark 16 after the abort")
    eq(read_committed(b.bootstrap, topic, 0), [f"after-{i}" for i in range(10)],
       "read_committed values after the abort (the hanging records dropped)")
    _, out, _ = ctl(ctx, b, "transactions", "describe-producers", "--topic", topic, "--partition", "0")
    eq([r["CurrentTransactionStartOffset"] for r in table(out) if r["ProducerId"] == pid], ["-"],
       "`describe-producers` after the abort")
    _, _, err = ctl(ctx, b, "transactions", "abort", "--topic", topic, "--partition", "0", "--start-offset", "0",
                    check_rc=1)
    check("no open transaction" in err, f"a second abort: {err!r}")


def produce_txn_v3(c, tid, topic, partition, batch):
    """Produce v3 (acks=all) of one batch with a transactional id; (error code, base offset)."""
    body = (kproto.string(tid) + kproto.i16(-1) + kproto.i32(10000) +
            kproto.array([topic], lambda t: kproto.string(t) + kproto.array(
                [partition], lambda q: kproto.i32(q) + kproto.kbytes(batch))))
    r = c.request(kproto.API_PRODUCE, 3, body)
    resp = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
    (_, [(_, err, base, _)]), = resp
    return err, base


def find_hanging(ctx, b, *args):
    return table(ctl(ctx, b, "transactions", "find-hanging", *args)[1])


@timeout(150)
def test_gregorctl_txn_find_hanging(ctx):
    # Verification off (transaction.partition.verification.enable=false): the broker appends a transactional
    # batch for a partition the coordinator never added, which is how a transaction hangs.
    b = ctx.start_broker(0, extra={**ONE_BROKER, "transaction.partition.verification.enable": "false"})
    topic = unique_topic("fhang")
    create_topic(b.bootstrap, topic, partitions=2)

    # A healthy open transaction on partition 0: its coordinator lists the partition, so it never hangs, even
    # with --max-transaction-timeout 0 (every open transaction a suspect, looked up at its coordinator).
    ok_tid = unique_topic("fhang-ok")
    healthy = txn_producer(b.bootstrap, ok_tid, 60000)
    healthy.init_transactions(30)
    healthy.begin_transaction()
    healthy.produce(topic, value=b"ok-0", partition=0)
    eq(healthy.flush(30), 0, "records without a delivery report")
    eq(find_hanging(ctx, b, "--topic", topic, "--max-transaction-timeout", "0"), [],
       "find-hanging --topic with only a healthy open transaction")
    eq(find_hanging(ctx, b, "--broker-id", "0", "--max-transaction-timeout", "0"), [],
       "find-hanging --broker-id with only a healthy open transaction")

    # A stray transactional batch on partition 1 from a producer whose coordinator knows its id (InitProducerId)
    # but never heard of the partition; its records carry a timestamp 20 minutes old, the age find-hanging
    # measures (the producer's LastTimestamp).
    stray_tid = unique_topic("fhang-stray")
    old_ts = int(time.time() * 1000) - 20 * 60 * 1000
    with kproto.connect(b.bootstrap, timeout=30) as c:
        def init():
            err, pid, epoch = kproto.init_producer_id_v0(c, stray_tid, timeout_ms=60000)
            return (pid, epoch) if err == 0 else None
        pid, epoch = wait_until(init, 30, f"InitProducerId({stray_tid!r})", interval=0.2)
        batch = kproto.transactional_batch([(None, b"stray-0"), (None, b"stray-1")], pid, epoch, 0,
                                           timestamp_ms=old_ts)
        eq(produce_txn_v3(c, stray_tid, topic, 1, batch), (0, 0), "stray transactional batch (error, base offset)")
    eq(end_offsets(b, topic, 1), (2, 0), "(high watermark, last stable offset) behind the stray batch")

    expected = {"Topic": topic, "Partition": "1", "ProducerId": str(pid), "ProducerEpoch": str(epoch),
                "CoordinatorEpoch": "-1", "StartOffset": "0", "LastTimestamp": str(old_ts)}

    def only_stray(rows, what):
        eq(len(rows), 1, f"{what}: rows {rows}")
        (row,) = rows
        check(row.pop("Duration(min)") in ("20", "21"), f"{what}: duration of {rows}")
        eq(row, expected, what)

    only_stray(find_hanging(ctx, b, "--topic", topic), "find-hanging --topic (default 15 minutes)")
    only_stray(find_hanging(ctx, b, "--topic", topic, "--max-transaction-timeout", "0"),
               "find-hanging --topic --max-transaction-timeout 0 (the healthy one left out)")
    only_stray(find_hanging(ctx, b, "--broker-id", "0"), "find-hanging --broker-id 0")
    only_stray(find_hanging(ctx, b, "--topic", topic, "--partition", "1", "--broker-id", "0"),
               "find-hanging --topic --partition 1 --broker-id 0")
    only_stray(find_hanging(ctx, b, "--topic", topic, "--partitions", "0,1"), "find-hanging --partitions 0,1")
    eq(find_hanging(ctx, b, "--topic", topic, "--partitions", "0", "--max-transaction-timeout", "0"), [],
       "find-hanging of partition 0 alone")
    eq(find_hanging(ctx, b, "--topic", topic, "--max-transaction-timeout", "30"), [],
       "find-hanging --max-transaction-timeout 30 (the stray batch is younger)")

    # `transactions abort` at the reported start offset ends it: nothing hangs, the LSO moves past the marker.
    _, out, _ = ctl(ctx, b, "transactions", "abort", "--topic", topic, "--partition", "1", "--start-offset", "0")
    check(out.startswith(f"Aborted the transaction of producer {pid} (epoch {epoch}, "), f"abort said {out!r}")
    wait_until(lambda: end_offsets(b, topic, 1) == (3, 3), 20, "the LSO of partition 1 past the ABORT marker")
    eq(find_hanging(ctx, b, "--topic", topic), [], "find-hanging after the abort")
    eq(find_hanging(ctx, b, "--broker-id", "0", "--max-transaction-timeout", "0"), [],
       "find-hanging --broker-id after the abort (the healthy transaction still open)")
    healthy.commit_transaction(30)
    eq(read_committed(b.bootstrap, topic, 0), ["ok-0"], "read_committed values of partition 0 after the commit")

    # Errors: exit 1 with a message; bad usage, exit 2.
    _, _, err = ctl(ctx, b, "transactions", "find-hanging", "--topic", "no-such-topic-x", check_rc=1)
    check("UNKNOWN_TOPIC_OR_PARTITION" in err, f"find-hanging of a missing topic: {err!r}")
    _, _, err = ctl(ctx, b, "transactions", "find-hanging", "--topic", topic, "--partitions", "1,7", check_rc=1)
    check("no partition 7" in err and "UNKNOWN_TOPIC_OR_PARTITION" in err, f"a missing partition: {err!r}")
    _, _, err = ctl(ctx, b, "transactions", "find-hanging", "--broker-id", "7", check_rc=1)
    check("broker 7 is not in the cluster's metadata" in err, f"find-hanging of an unknown broker: {err!r}")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    _, _, err = ctx.run([CTL, "-b", dead, "-X", "socket.timeout.ms=2000", "transactions", "find-hanging",
                         "--topic", topic], timeout=20, check_rc=1)
    check("cannot connect" in err, f"find-hanging with no broker reachable: {err!r}")
    ctl(ctx, b, "transactions", "find-hanging", check_rc=2)
    ctl(ctx, b, "transactions", "find-hanging", "--partition", "0", "--broker-id", "0", check_rc=2)
    ctl(ctx, b, "transactions", "find-hanging", "--topic", topic, "--partitions", "0,x", check_rc=2)
    ctl(ctx, b, "transactions", "find-hanging", "--topic", topic, "--max-transaction-timeout", "-1", check_rc=2)
