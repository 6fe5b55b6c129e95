"""The idempotent producer: InitProducerId for non-transactional producers (ids in blocks of 1000 from
ZooKeeper's /latest_producer_id_block), per-partition producer state (sequence and epoch checks, retries of
the last five batches answered with their original offsets and not appended), its survival across kill -9
and clean restarts (`<20-digit offset>.snapshot` files), and on followers (a new leader deduplicates a retry
first sent to the old one).

Clients: confluent-kafka (enable.idempotence=true) and kafkajs (idempotent: true) end to end, hand-built
frames (InitProducerId v0-v4 and RecordBatch v2 carrying producer id, epoch and base sequence, built here) for
the exact error codes and offsets, kazoo for the znode, kafka-python and confluent-kafka to read back.

Error codes (Kafka's Errors.java): OUT_OF_ORDER_SEQUENCE_NUMBER 45, INVALID_PRODUCER_EPOCH 47."""

import json
import os
import re
import struct
import threading
import time
from pathlib import Path

import kproto
from harness import (INTEGRATION, Failure, Skip, check, create_topic, eq, list_offset, timeout, unique_topic,
                     wait_topic_ready, wait_until)
from test_cluster import (CLUSTER_EXTRA, by_id, consume_all_kafka_python, create_topic_rf, wait_isr_full,
                          wait_new_leader, wait_replicas_identical, wait_unregistered, zk_assignment, zk_state)
from test_confluent import ck, consume_assigned

NEEDS_NODE = True  # the runner installs kafkajs (npm) when node_modules is missing

API_INIT_PRODUCER_ID = 22
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
BLOCK = 1000
ZNODE = "/latest_producer_id_block"
INT32_MAX = 2 ** 31 - 1

# A short ZooKeeper session so a killed broker's /brokers/ids/<id> goes quickly (a restart waits for it).
SHORT_SESSION = {"zookeeper.session.timeout.ms": "4000"}


# ---------------------------------------------------------------- frames: InitProducerId, producer batches
def _skip_tagged_fields(r):
    for _ in range(r.uvarint()):
        r.uvarint()  # tag
        r.take(r.uvarint())


def init_producer_id(conn, version, transactional_id=None, timeout_ms=60000, producer_id=-1, epoch=-1):
    """InitProducerId v0-v4 (flexible from v2: request header v2, response header v1 with tagged fields).
    Returns (error_code, producer_id, producer_epoch)."""
    flexible = version >= 2
    if flexible:
        body = kproto.uvarint(0) if transactional_id is None else kproto.compact_string(transactional_id)
        body += kproto.i32(timeout_ms)
        if version >= 3:
            body += kproto.i64(producer_id) + kproto.i16(epoch)
        body += kproto.uvarint(0)
    else:
        body = kproto.string(transactional_id) + kproto.i32(timeout_ms)
    r = conn.request(API_INIT_PRODUCER_ID, version, body, flexible=flexible)
    if flexible:
        _skip_tagged_fields(r)  # response header v1
    r.i32()  # throttle
    err, pid, ep = r.i16(), r.i64(), r.i16()
    if flexible:
        _skip_tagged_fields(r)
    if r.remaining():
        raise kproto.ProtocolError(f"InitProducerId v{version}: {r.remaining()} bytes after the response")
    return err, pid, ep


def new_producer_ids(bootstrap, n, version=4):
    """n InitProducerId requests (null transactional id) on one connection; asserts error 0 and epoch 0;
    returns the ids in allocation order."""
    ids = []
    with kproto.connect(bootstrap, timeout=10) as c:
        for _ in range(n):
            err, pid, ep = init_producer_id(c, version)
            eq((err, ep), (0, 0), f"InitProducerId v{version} on {bootstrap} (error, epoch)")
            ids.append(pid)
    return ids


def producer_batch(records, producer_id, epoch, base_sequence, timestamp_ms=None):
    """RecordBatch v2 (uncompressed) with producerId/producerEpoch/baseSequence set (kproto.record_batch
    writes -1 there). records: list of (key|None, value|None)."""
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    recs = b""
    for i, (k, v) in enumerate(records):
        body = (kproto.i8(0) + kproto.varint(0) + kproto.varint(i) +
                (kproto.varint(-1) if k is None else kproto.varint(len(k)) + k) +
                (kproto.varint(-1) if v is None else kproto.varint(len(v)) + v) + kproto.varint(0))
        recs += kproto.varint(len(body)) + body
    after_crc = (kproto.i16(0) + kproto.i32(len(records) - 1) + kproto.i64(ts) + kproto.i64(ts) +
                 kproto.i64(producer_id) + kproto.i16(epoch) + kproto.i32(base_sequence) +
                 kproto.i32(len(records)) + recs)
    crc = kproto.crc32c(after_crc)
    return (kproto.i64(0) + kproto.i32(4 + 1 + 4 + len(after_crc)) + kproto.i32(-1) + kproto.i8(2) +
            struct.pack(">I", crc) + after_crc)


class Batch:
    """One producer batch, built once so that a retry sends the very same bytes."""

    def __init__(self, tag, pid, epoch, seq, n):
        self.tag, self.pid, self.epoch, self.seq, self.n = tag, pid, epoch, seq, n
        self.values = [f"{tag}-{i}".encode() for i in range(n)]
        self.data = producer_batch([(None, v) for v in self.values], pid, epoch, seq)
        self.offset = None  # base offset when appended

    def __repr__(self):
        return f"batch {self.tag} (pid {self.pid}, epoch {self.epoch}, seq {self.seq}..{self.seq + self.n - 1})"


class Plain(Batch):
    """A one-record batch without producer id (kproto.record_batch)."""

    def __init__(self, tag):
        self.tag, self.pid, self.epoch, self.seq, self.n = tag, -1, -1, -1, 1
        self.values = [tag.encode()]
        self.data = kproto.record_batch([(None, self.values[0])])
        self.offset = None


def produce(broker, topic, partition, data, timeout_ms=10000):
    """One Produce v3 (acks=-1) of raw batch bytes to this broker; (error_code, base_offset)."""
    with kproto.connect(broker.bootstrap, timeout=15) as c:
        return kproto.produce_v3(c, topic, partition, data, acks=-1, timeout_ms=timeout_ms)


def leo(broker, topic, partition):
    return list_offset(broker.bootstrap, topic, partition, -1)


def append_ok(broker, topic, partition, batch, expect_offset, what=""):
    """Sends a new batch; it must be appended at expect_offset (the log end before it)."""
    res = produce(broker, topic, partition, batch.data)
    eq(res, (0, expect_offset), f"{batch}{what}: produce (error, base offset)")
    batch.offset = expect_offset
    eq(leo(broker, topic, partition), expect_offset + batch.n, f"log end offset after appending {batch}{what}")
    return expect_offset + batch.n


def retry_dup(broker, topic, partition, batch, log_end, what=""):
    """Resends an appended batch: no error, its original base offset, nothing appended."""
    res = produce(broker, topic, partition, batch.data)
    eq(res, (0, batch.offset), f"retry of {batch}{what}: produce (error, base offset) (a duplicate is answered "
                               f"with its original offset)")
    eq(leo(broker, topic, partition), log_end, f"log end offset after the retry of {batch}{what} (nothing "
                                               f"appended)")


def refused(broker, topic, partition, batch, code, log_end, what=""):
    """Sends a batch that must be refused with `code`, appending nothing."""
    err, _ = produce(broker, topic, partition, batch.data)
    eq(err, code, f"{batch}{what}: produce error")
    eq(leo(broker, topic, partition), log_end, f"log end offset after the refused {batch}{what}")


# ---------------------------------------------------------------- reading stored batches back
HEADER = struct.Struct(">qiibIhiqqqhii")  # base offset .. record count: 61 bytes


def batch_headers(data):
    """RecordBatch v2 headers (with producer fields) of fetched bytes; a trailing partial batch is ignored."""
    out = []
    pos = 0
    while pos + 12 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        if pos + 12 + length > len(data) or length < HEADER.size - 12:
            break
        (_, _, _, magic, _, attrs, last_delta, _, _, pid, ep, seq, count) = HEADER.unpack_from(data, pos)
        out.append({"base_offset": base, "magic": magic, "attributes": attrs, "last_offset_delta": last_delta,
                    "producer_id": pid, "producer_epoch": ep, "base_sequence": seq, "count": count})
        pos += 12 + length
    return out


def read_partition_raw(broker, topic, partition, t=30):
    """Every batch of topic-partition from offset 0 to the high watermark (Fetch v4 from `broker`): a list of
    header dicts, each with "records" [(offset, key, value)] when uncompressed."""
    batches = []
    offset = 0
    deadline = time.monotonic() + t
    while True:
        check(time.monotonic() < deadline, f"reading {topic}-{partition} from {broker.bootstrap}: stuck at "
                                           f"offset {offset} after {t}s")
        with kproto.connect(broker.bootstrap, timeout=10) as c:
            f = kproto.fetch_v4(c, topic, partition, offset, max_bytes=4 << 20)
        eq(f["error"], 0, f"fetch error for {topic}-{partition} at offset {offset}")
        if offset >= f["high_watermark"]:
            return batches
        heads = batch_headers(f["records"])
        full = kproto.decode_batches(f["records"])
        check(heads, f"fetch at offset {offset} (high watermark {f['high_watermark']}) returned no whole batch")
        for h, d in zip(heads, full):
            check(d["crc_ok"], f"stored batch at offset {h['base_offset']} has a bad CRC")
            h["records"] = d["records"]
            if h["base_offset"] + h["last_offset_delta"] >= offset:
                batches.append(h)
            offset = max(offset, h["base_offset"] + h["last_offset_delta"] + 1)


def summarize(batches):
    return [(h["producer_id"], h["producer_epoch"], h["base_sequence"], h["count"], h["base_offset"])
            for h in batches]


def expected_log(appended):
    return [(b.pid, b.epoch, b.seq, b.n, b.offset) for b in appended]


def check_sequences(batches, what):
    """Every batch carries a producer id (>= 0); per (producer id, epoch) the sequences are contiguous from 0
    and each batch's sequence range matches its offset range. Returns the producer ids."""
    nxt = {}
    for h in batches:
        check(h["producer_id"] >= 0 and h["producer_epoch"] >= 0 and h["base_sequence"] >= 0,
              f"{what}: stored batch at offset {h['base_offset']} has no producer id/epoch/sequence: {h}")
        key = (h["producer_id"], h["producer_epoch"])
        exp = nxt.get(key, 0)
        check(h["base_sequence"] == exp,
              f"{what}: batch at offset {h['base_offset']} of producer {key} has base sequence "
              f"{h['base_sequence']}, expected {exp} (batches: {summarize(batches)[:20]})")
        eq(h["last_offset_delta"], h["count"] - 1, f"{what}: last offset delta of the batch at {h['base_offset']}")
        nxt[key] = exp + h["count"]
    return sorted({pid for pid, _ in nxt})


def snapshot_files(broker, topic, partition):
    d = Path(broker.log_dir) / f"{topic}-{partition}"
    return sorted(f.name for f in d.iterdir() if f.name.endswith(".snapshot")) if d.is_dir() else []


def zk_block(ctx):
    data, _ = ctx.zk_json(ZNODE)
    return data


def check_block_format(block, what):
    eq(sorted(block), ["block_end", "block_start", "broker", "version"], f"{what}: keys of {ZNODE}")
    eq(block["version"], 1, f"{what}: version in {ZNODE}")
    check(isinstance(block["block_start"], str) and isinstance(block["block_end"], str),
          f"{what}: block_start/block_end in {ZNODE} must be strings (as Kafka writes them): {block}")
    start, end = int(block["block_start"]), int(block["block_end"])
    eq(end, start + BLOCK - 1, f"{what}: block_end of {block}")
    eq(start % BLOCK, 0, f"{what}: block_start of {block} (blocks of {BLOCK} from 0)")
    return start, end


# ---------------------------------------------------------------- 1. confluent-kafka, enable.idempotence=true
@timeout(150)
def test_confluent_idempotent_20k(ctx):
    k = ck()
    b = ctx.start_broker(0)
    topic = unique_topic("idem-ck")
    create_topic(b.bootstrap, topic, partitions=3)
    client_errors = []
    p = k.Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": True, "linger.ms": 5,
                    "queue.buffering.max.messages": 200000, "message.timeout.ms": 60000,
                    "error_cb": lambda e: client_errors.append((e.fatal(), str(e)))})
    n = 20000
    acked = {}
    errors = []

    def cb(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            acked[int(msg.value().split(b"-")[1])] = (msg.partition(), msg.offset())

    for i in range(n):
        while True:
            try:
                p.produce(topic, key=f"k{i}".encode(), value=f"idem-{i}".encode(), partition=i % 3,
                          on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(60)
    eq(left, 0, "records without a delivery report after flush")
    check(not errors, f"{len(errors)} delivery errors, first: {errors[:3]}")
    fatal = [e for f, e in client_errors if f]
    check(not fatal, f"fatal producer errors: {fatal[:5]}")
    if client_errors:
        print(f"producer errors reported (not fatal): {client_errors[:10]}")
    eq(len(acked), n, "acknowledged records")
    for part in range(3):
        offs = [acked[i][1] for i in range(part, n, 3)]
        eq(offs, list(range(len(offs))), f"acknowledged offsets of partition {part} in send order")
        eq(leo(b, topic, part), len(offs), f"log end offset of partition {part}")

    got = consume_assigned(b.bootstrap, topic, [0, 1, 2], n)
    for part in range(3):
        exp = [(o, f"k{i}".encode(), f"idem-{i}".encode()) for o, i in enumerate(range(part, n, 3))]
        eq(got[part], exp, f"partition {part} read back (each record once, in send order)")

    # The producer really was idempotent: every stored batch carries its producer id, epoch 0 and
    # contiguous sequences per partition.
    pids = set()
    for part in range(3):
        batches = read_partition_raw(b, topic, part)
        pids.update(check_sequences(batches, f"partition {part}"))
        eq({h["producer_epoch"] for h in batches}, {0}, f"producer epochs of partition {part}'s batches")
        print(f"partition {part}: {len(batches)} batches")
    eq(len(pids), 1, f"producer ids in the stored batches ({sorted(pids)})")
    block = zk_block(ctx)
    start, end = check_block_format(block, "after the confluent-kafka producer")
    pid = pids.pop()
    check(start <= pid <= end, f"producer id {pid} outside the block in {ZNODE}: {block}")


# ---------------------------------------------------------------- 2. kafkajs, idempotent: true
KAFKAJS_IDEMPOTENT = r"""
'use strict';
const { Kafka, logLevel } = require('kafkajs');
async function main() {
  const [bootstrap, topic, nArg, partsArg] = process.argv.slice(2);
  const n = parseInt(nArg, 10), parts = parseInt(partsArg, 10);
  const kafka = new Kafka({
    clientId: 'gregor-it-idempotent', brokers: [bootstrap], logLevel: logLevel.ERROR,
    connectionTimeout: 5000, requestTimeout: 10000,
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const sends = [];
  for (let start = 0; start < n; start += 100) {
    const messages = [];
    for (let i = start; i < Math.min(n, start + 100); i++) {
      messages.push({ key: `k${i}`, value: `kjs-${i}`, partition: i % parts });
    }
    const res = await producer.send({ topic, acks: -1, messages });
    sends.push(res.map((r) => ({ partition: r.partition, errorCode: r.errorCode, baseOffset: r.baseOffset })));
  }
  await producer.disconnect();
  console.log(JSON.stringify({ sends }));
}
main().catch((e) => {
  console.error(`kafkajs error: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
"""


@timeout(150)
def test_kafkajs_idempotent(ctx):
    reason = os.environ.get("GREGOR_IT_NODE_UNAVAILABLE")
    if reason:
        raise Skip(f"kafkajs not installable: {reason}")
    if not (INTEGRATION / "node_modules" / "kafkajs").exists():
        raise Skip("kafkajs not installed (integration/node_modules missing)")
    b = ctx.start_broker(0)
    topic = unique_topic("idem-kjs")
    parts, n = 2, 2000
    create_topic(b.bootstrap, topic, partitions=parts)
    # `node -` reads the script from stdin; require() resolves from the working directory (integration/).
    _, out, _ = ctx.run(["node", "-", b.bootstrap, topic, str(n), str(parts)], input=KAFKAJS_IDEMPOTENT,
                        timeout=90, check_rc=0, cwd=INTEGRATION)
    sends = json.loads(out.strip().splitlines()[-1])["sends"]
    eq(len(sends), n // 100, "producer.send calls answered")
    per_send = 100 // parts
    for j, res in enumerate(sends):
        eq(sorted((r["partition"], r["errorCode"], r["baseOffset"]) for r in res),
           [(q, 0, str(j * per_send)) for q in range(parts)], f"results of send {j} (partition, error, base offset)")
    got = consume_assigned(b.bootstrap, topic, list(range(parts)), n)
    for q in range(parts):
        exp = [(o, f"k{i}".encode(), f"kjs-{i}".encode()) for o, i in enumerate(range(q, n, parts))]
        eq(got[q], exp, f"partition {q} read back (each record once, in send order)")
        eq(leo(b, topic, q), n // parts, f"log end offset of partition {q}")
    pids = set()
    for q in range(parts):
        batches = read_partition_raw(b, topic, q)
        pids.update(check_sequences(batches, f"kafkajs partition {q}"))
    eq(len(pids), 1, f"producer ids in kafkajs's stored batches ({sorted(pids)})")


# ---------------------------------------------------------------- 3. the protocol on one broker
@timeout(120)
def test_protocol_sequences_and_epochs(ctx):
    b = ctx.start_broker(0)
    with kproto.connect(b.bootstrap) as c:
        _, apis = kproto.api_versions_v0(c)
    check(API_INIT_PRODUCER_ID in apis, f"InitProducerId (22) not advertised in ApiVersions: {sorted(apis)}")
    lo, hi = apis[API_INIT_PRODUCER_ID]
    check(lo == 0 and hi >= 4, f"InitProducerId versions advertised {lo}-{hi}, expected 0-4")

    ids = []
    with kproto.connect(b.bootstrap) as c:
        for v in range(5):
            err, pid, ep = init_producer_id(c, v)
            eq((err, ep), (0, 0), f"InitProducerId v{v} (null transactional id): (error, epoch)")
            ids.append(pid)
    eq(len(set(ids)), 5, f"distinct producer ids from InitProducerId v0..v4 ({ids})")
    # The first block is 0-999 and its ids are handed out in order.
    eq(ids, list(range(5)), "producer ids of the first five InitProducerId requests")
    block = zk_block(ctx)
    check_block_format(block, "first block")
    eq(block, {"version": 1, "broker": 0, "block_start": "0", "block_end": "999"}, f"{ZNODE} after 5 ids")

    topic = unique_topic("idem-proto")
    create_topic(b.bootstrap, topic, partitions=2)
    P, Q, R = ids[0], ids[1], ids[2]
    log = []  # the batches appended to partition 0, in order

    def ok(batch, at, part=0):
        end = append_ok(b, topic, part, batch, at)
        if part == 0:
            log.append(batch)
        return end

    A = Batch("A", P, 0, 0, 3)
    B = Batch("B", P, 0, 3, 2)
    C = Batch("C", P, 0, 5, 1)
    end = ok(A, 0)   # a new producer's first batch
    end = ok(B, end)
    end = ok(C, end)
    eq(end, 6, "log end after A, B, C")
    refused(b, topic, 0, Batch("gap", P, 0, 7, 1), OUT_OF_ORDER_SEQUENCE_NUMBER, end, " (sequence 6 skipped)")
    refused(b, topic, 0, Batch("overlap", P, 0, 4, 2), OUT_OF_ORDER_SEQUENCE_NUMBER, end,
            " (overlaps B and C, not a retained batch)")
    retry_dup(b, topic, 0, C, end)
    retry_dup(b, topic, 0, B, end)
    retry_dup(b, topic, 0, A, end)
    refused(b, topic, 0, Batch("A-short", P, 0, 0, 2), OUT_OF_ORDER_SEQUENCE_NUMBER, end,
            " (A's first sequence with another last sequence: no duplicate)")
    more = [Batch(t, P, 0, 6 + i, 1) for i, t in enumerate("DEFGH")]
    for x in more:
        end = ok(x, end)
    eq(end, 11, "log end after D..H")
    # Only the last five batches are retained: A and C are gone, and out of sequence.
    refused(b, topic, 0, A, OUT_OF_ORDER_SEQUENCE_NUMBER, end, " (retry older than the last five batches)")
    refused(b, topic, 0, C, OUT_OF_ORDER_SEQUENCE_NUMBER, end, " (retry older than the last five batches)")
    retry_dup(b, topic, 0, more[0], end, " (the oldest of the last five)")
    retry_dup(b, topic, 0, more[-1], end)

    # A second producer on the same partition: its own sequences, starting anywhere.
    Q1 = Batch("Q1", Q, 0, 42, 2)
    Q2 = Batch("Q2", Q, 0, 44, 1)
    end = ok(Q1, end)
    end = ok(Q2, end)
    retry_dup(b, topic, 0, Q1, end)
    refused(b, topic, 0, Batch("Q-gap", Q, 0, 46, 1), OUT_OF_ORDER_SEQUENCE_NUMBER, end)
    I = Batch("I", P, 0, 11, 1)
    end = ok(I, end)  # P's sequence is untouched by Q's batches
    retry_dup(b, topic, 0, Q2, end)

    # Partition 1 keeps its own state for the same producer id.
    P1a = Batch("P1a", P, 0, 100, 2)
    end1 = ok(P1a, 0, part=1)
    refused(b, topic, 1, Batch("P1-gap", P, 0, 103, 1), OUT_OF_ORDER_SEQUENCE_NUMBER, end1)
    retry_dup(b, topic, 1, P1a, end1)
    # Sequences wrap from INT32_MAX to 0 (Kafka's inSequence).
    R1 = Batch("R1", R, 0, INT32_MAX - 1, 2)
    R2 = Batch("R2", R, 0, 0, 1)
    end1 = ok(R1, end1, part=1)
    end1 = ok(R2, end1, part=1)
    retry_dup(b, topic, 1, R1, end1)
    retry_dup(b, topic, 1, R2, end1)

    # A batch without a producer id is appended as always.
    end = ok(Plain("plain"), end)

    # Epochs: a higher epoch starts at sequence 0; a lower one is refused.
    refused(b, topic, 0, Batch("e1-seq7", P, 1, 7, 1), OUT_OF_ORDER_SEQUENCE_NUMBER, end,
            " (epoch 1 must start at sequence 0)")
    E1a = Batch("E1a", P, 1, 0, 2)
    end = ok(E1a, end)
    refused(b, topic, 0, Batch("e0-next", P, 0, 12, 1), INVALID_PRODUCER_EPOCH, end, " (epoch 0 after epoch 1)")
    refused(b, topic, 0, I, INVALID_PRODUCER_EPOCH, end, " (a retry of an epoch-0 batch after epoch 1)")
    E1b = Batch("E1b", P, 1, 2, 1)
    end = ok(E1b, end)
    retry_dup(b, topic, 0, E1a, end)
    refused(b, topic, 0, Batch("e1-gap", P, 1, 4, 1), OUT_OF_ORDER_SEQUENCE_NUMBER, end)
    eq(end, 19, "final log end of partition 0")

    # What is stored: every appended batch once, in order, with its producer fields intact.
    stored = read_partition_raw(b, topic, 0)
    eq(summarize(stored), expected_log(log), "stored batches of partition 0 (producer id, epoch, base sequence, "
                                             "count, offset)")
    eq([v for h in stored for _, _, v in h["records"]], [v for x in log for v in x.values], "values of partition 0")
    eq(summarize(read_partition_raw(b, topic, 1)),
       [(P, 0, 100, 2, 0), (R, 0, INT32_MAX - 1, 2, 2), (R, 0, 0, 1, 4)], "stored batches of partition 1")

    # Crossing into the next block: 1000 more ids, contiguous, and the znode moves to 1000-1999.
    more_ids = new_producer_ids(b.bootstrap, 1000)
    all_ids = ids + more_ids
    bad = next((i for i, x in enumerate(all_ids) if x != i), None)
    if bad is not None:
        raise Failure(f"producer ids in allocation order are not 0..1004: id number {bad} is {all_ids[bad]} "
                      f"(ids {bad - 3}..{bad + 3}: {all_ids[max(0, bad - 3):bad + 4]})")
    eq(zk_block(ctx), {"version": 1, "broker": 0, "block_start": "1000", "block_end": "1999"},
       f"{ZNODE} after 1005 ids")


# ---------------------------------------------------------------- 4. producer id uniqueness: 2 brokers, restart
@timeout(150)
def test_producer_ids_unique_across_brokers_and_restart(ctx):
    brokers = ctx.start_cluster(2, extra=SHORT_SESSION)
    b0, b1 = brokers
    ids0 = new_producer_ids(b0.bootstrap, 3, version=0)
    ids1 = new_producer_ids(b1.bootstrap, 3, version=2)
    all_ids = ids0 + ids1
    eq(len(set(all_ids)), 6, f"distinct ids from both brokers ({ids0}, {ids1})")
    blocks0 = {i // BLOCK for i in ids0}
    blocks1 = {i // BLOCK for i in ids1}
    eq(len(blocks0), 1, f"blocks of broker 0's ids {ids0}")
    eq(len(blocks1), 1, f"blocks of broker 1's ids {ids1}")
    eq(sorted(blocks0 | blocks1), [0, 1], f"the two brokers' blocks (ids {ids0}, {ids1})")
    block = zk_block(ctx)
    start, end = check_block_format(block, "after both brokers allocated")
    eq(start, 1000, f"block_start after two blocks ({block})")
    latest_owner = 0 if blocks0 == {1} else 1
    eq(block["broker"], latest_owner, f"broker of the latest block ({block}; ids {ids0}, {ids1})")
    print(f"broker 0 ids {ids0}, broker 1 ids {ids1}; {ZNODE} {block}")

    # kill -9 broker 1 and restart it: it takes a new block, above everything handed out.
    b1.kill9()
    wait_unregistered(ctx, 1)
    b1.start(timeout=40)
    ids1b = new_producer_ids(b1.bootstrap, 3, version=4)
    block2 = zk_block(ctx)
    start2, end2 = check_block_format(block2, "after broker 1's restart")
    eq((start2, block2["broker"]), (end + 1, 1), f"block_start and broker of {ZNODE} after broker 1 restarted "
                                                 f"(previous {block}, now {block2})")
    check(all(start2 <= i <= end2 for i in ids1b), f"ids {ids1b} of the restarted broker 1 outside {block2}")
    ids0b = new_producer_ids(b0.bootstrap, 3, version=3)
    check(all(i // BLOCK in blocks0 for i in ids0b), f"broker 0 left its block: {ids0b} after {ids0}")
    all_ids += ids1b + ids0b
    eq(len(set(all_ids)), len(all_ids), f"distinct ids across brokers and the restart ({all_ids})")

    # Both brokers allocating several blocks at once: no id handed out twice, no block shared.
    n = 2500
    results = {}

    def allocate(b):
        try:
            results[b.broker_id] = new_producer_ids(b.bootstrap, n, version=4)
        except BaseException as e:  # noqa: BLE001 - reported below
            results[b.broker_id] = e
    threads = [threading.Thread(target=allocate, args=(b,)) for b in brokers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for bid in (0, 1):
        r = results.get(bid)
        if not isinstance(r, list):
            raise Failure(f"concurrent InitProducerId on broker {bid} failed: {r!r}")
        check(all(x < y for x, y in zip(r, r[1:])), f"broker {bid}'s ids not increasing in allocation order")
    c0, c1 = results[0], results[1]
    everything = all_ids + c0 + c1
    dups = len(everything) - len(set(everything))
    eq(dups, 0, "producer ids handed out twice")
    shared = {i // BLOCK for i in c0 + ids0 + ids0b} & {i // BLOCK for i in c1 + ids1 + ids1b}
    check(not shared, f"blocks used by both brokers: {sorted(shared)}")
    final = zk_block(ctx)
    fstart, fend = check_block_format(final, "after concurrent allocation")
    top = max(everything)
    check(fstart <= top <= fend, f"the highest id {top} is not in the latest block {final}")
    eq(final["broker"], 0 if top in c0 else 1, f"broker of the latest block {final} (highest id {top})")
    used = sorted({i // BLOCK for i in everything})
    eq(used, list(range(fend // BLOCK + 1)), f"blocks used (none skipped, all below {final})")
    print(f"concurrent: broker 0 got {len(c0)} ids in blocks {sorted({i // BLOCK for i in c0})}, broker 1 in "
          f"{sorted({i // BLOCK for i in c1})}; {ZNODE} {final}")


# ---------------------------------------------------------------- 5. survival of kill -9 and clean restarts
@timeout(180)
def test_state_survives_kill9_and_clean_restart(ctx):
    b = ctx.start_broker(0, extra=SHORT_SESSION)
    topic = unique_topic("idem-restart")
    # Small segments: the log rolls several times, so recovery meets more than one segment.
    create_topic(b.bootstrap, topic, partitions=1, configs={"segment.bytes": "1024"})
    P, Q = new_producer_ids(b.bootstrap, 2)
    log = []
    end = 0
    pseq, qseq = 0, 0
    for i in range(40):
        x = Batch(f"P{i}", P, 0, pseq, 1 + i % 3)
        end = append_ok(b, topic, 0, x, end)
        pseq += x.n
        log.append(x)
        if i in (3, 10, 17):
            y = Batch(f"Q{i}", Q, 0, qseq, 2)
            end = append_ok(b, topic, 0, y, end)
            qseq += 2
            log.append(y)
    p_last = log[-1]
    q_last = [x for x in log if x.pid == Q][-1]
    segs = sorted(f.name for f in (Path(b.log_dir) / f"{topic}-0").glob("*.log"))
    print(f"before kill -9: log end {end}, segments {segs}, snapshots {snapshot_files(b, topic, 0)}")
    check(len(segs) >= 2, f"the log did not roll (segment.bytes=1024): segments {segs}")

    def after_restart(what):
        wait_topic_ready(b.bootstrap, topic, 1)
        eq(leo(b, topic, 0), end, f"log end offset after {what}")
        retry_dup(b, topic, 0, p_last, end, f" after {what}")
        retry_dup(b, topic, 0, q_last, end, f" (the other producer's last) after {what}")
        refused(b, topic, 0, Batch("P-gap", P, 0, pseq + 1, 1), OUT_OF_ORDER_SEQUENCE_NUMBER, end,
                f" after {what} (the producer is still known)")
        refused(b, topic, 0, Batch("Q-gap", Q, 0, qseq + 5, 1), OUT_OF_ORDER_SEQUENCE_NUMBER, end,
                f" after {what} (the producer is still known)")

    # kill -9: the state is rebuilt from the log (and whatever snapshots exist).
    b.kill9()
    wait_unregistered(ctx, 0)
    b.start(timeout=40)
    after_restart("kill -9 and restart")
    x = Batch("P-after-kill", P, 0, pseq, 2)
    end = append_ok(b, topic, 0, x, end, " after kill -9")
    pseq += 2
    log.append(x)
    p_last = x

    # Clean stop: snapshots are written; the state comes back from them.
    eq(b.stop(timeout=30), 0, "exit code after SIGTERM")
    snaps = snapshot_files(b, topic, 0)
    print(f"after the clean stop: snapshots {snaps}")
    bad = [s for s in snaps if not re.fullmatch(r"\d{20}\.snapshot", s)]
    check(snaps and not bad, f"snapshot files in {topic}-0 after a clean shutdown: {snaps} (expected "
                             f"<20-digit offset>.snapshot)")
    wait_unregistered(ctx, 0)
    b.start(timeout=40)
    after_restart("a clean stop and start")
    x = Batch("P-after-clean", P, 0, pseq, 3)
    end = append_ok(b, topic, 0, x, end, " after the clean restart")
    pseq += 3
    log.append(x)
    p_last = x

    # kill -9 again: recovery starts from the clean shutdown's snapshot and replays what came after it.
    b.kill9()
    wait_unregistered(ctx, 0)
    b.start(timeout=40)
    after_restart("the second kill -9")
    x = Batch("P-final", P, 0, pseq, 1)
    end = append_ok(b, topic, 0, x, end, " after the second kill -9")
    log.append(x)

    stored = read_partition_raw(b, topic, 0)
    eq(summarize(stored), expected_log(log), "stored batches (producer id, epoch, base sequence, count, offset)")


# ---------------------------------------------------------------- 6. replicated: a new leader deduplicates
@timeout(180)
def test_replicated_retry_deduplicated_after_leader_kill(ctx):
    brokers = ctx.start_cluster(3, extra=CLUSTER_EXTRA)
    ids = by_id(brokers)
    topic = unique_topic("idem-rep")
    create_topic_rf(brokers, topic, 1, 3, configs={"min.insync.replicas": "2"})
    wait_isr_full(ctx, brokers, topic, [0])
    preferred = zk_assignment(ctx, topic)[0][0]
    old = ids[zk_state(ctx, topic, 0)["leader"]]
    other = next(x for x in brokers if x is not old)
    (P,) = new_producer_ids(other.bootstrap, 1)  # any broker hands out ids
    log = []
    end = 0
    for i in range(8):
        x = Batch(f"R{i}", P, 0, 2 * i, 2)
        end = append_ok(old, topic, 0, x, end, f" (acks=all, leader broker {old.broker_id})")
        log.append(x)
    last, third_last = log[-1], log[-3]
    print(f"8 batches acknowledged by leader {old.broker_id}; kill -9 it")
    old.kill9()
    new_id = wait_new_leader(ctx, topic, 0, old.broker_id)
    new = ids[new_id]

    def retried():
        res = produce(new, topic, 0, last.data, timeout_ms=5000)
        if res[0] in (kproto.NOT_LEADER_OR_FOLLOWER, kproto.LEADER_NOT_AVAILABLE, kproto.UNKNOWN_TOPIC_OR_PARTITION):
            return None  # the new leader has not been told yet
        return [res]
    res = wait_until(retried, 30, f"broker {new_id} to answer the retried batch as leader", interval=0.1)[0]
    eq(res, (0, last.offset), f"retry of {last} to the new leader {new_id}: (error, base offset)")
    eq(leo(new, topic, 0), end, f"log end on the new leader {new_id} after the retry")
    retry_dup(new, topic, 0, third_last, end, f" (third from last) to the new leader {new_id}")
    refused(new, topic, 0, Batch("gap", P, 0, 2 * 8 + 1, 1), OUT_OF_ORDER_SEQUENCE_NUMBER, end,
            f" to the new leader {new_id}")
    x = Batch("R-new", P, 0, 16, 2)
    end = append_ok(new, topic, 0, x, end, f" to the new leader {new_id}")
    log.append(x)

    # The old leader comes back, catches up, and (auto rebalance) leads again: it knows the producer too.
    wait_unregistered(ctx, old.broker_id)
    old.start()
    wait_isr_full(ctx, brokers, topic, [0])
    wait_replicas_identical(ctx, brokers, topic, 0)
    got = consume_all_kafka_python(brokers, topic, [0])
    values = [v for _, v in got[0]]
    eq(values, [v for x in log for v in x.values], "records read back (each acknowledged batch once, in order)")
    if preferred == old.broker_id:
        wait_until(lambda: zk_state(ctx, topic, 0)["leader"] == preferred, 40,
                   f"the preferred replica {preferred} to lead again (auto leader rebalance)", interval=0.2)
        wait_topic_ready(old.bootstrap, topic, 1)

        def answered():
            r = produce(old, topic, 0, x.data, timeout_ms=5000)
            return None if r[0] in (kproto.NOT_LEADER_OR_FOLLOWER, kproto.LEADER_NOT_AVAILABLE) else [r]
        r = wait_until(answered, 30, f"broker {old.broker_id} to answer as leader again", interval=0.1)[0]
        eq(r, (0, x.offset), f"retry of {x} (written while broker {old.broker_id} was down) to it as leader again")
        eq(leo(old, topic, 0), end, f"log end on broker {old.broker_id} after that retry")
        refused(old, topic, 0, Batch("gap2", P, 0, 19, 1), OUT_OF_ORDER_SEQUENCE_NUMBER, end,
                f" to broker {old.broker_id} leading again")
    else:
        print(f"the first leader {old.broker_id} was not the preferred replica {preferred}; rebalance part skipped")
    eq(summarize(read_partition_raw(ids[zk_state(ctx, topic, 0)["leader"]], topic, 0)), expected_log(log),
       "stored batches (producer id, epoch, base sequence, count, offset)")
