"""Compression on the broker side, with real clients and real codecs (issue 12):
- a topic's compression.type (gzip, snappy, lz4, zstd, uncompressed) recompresses what producers send, with the
  offsets assigned once, and confluent-kafka (librdkafka) and kafka-python read every record back in order; the
  segment files hold batches of the topic's codec; with "producer" each batch keeps the producer's codec;
- the cleaner compacts topics written by compressing producers, for each codec: the newest value of every key
  stays, in a batch of the same codec;
- a compacted topic refuses keyless records inside compressed batches (INVALID_RECORD);
- the group coordinator reloads committed offsets from a zstd-compressed __consumer_offsets after a restart."""

import struct
import time

from harness import GREGORCTL, check, create_topic, eq, require_module, timeout, unique_topic, wait_until
from test_compaction import partition_dir
from test_confluent import ck, consume_assigned, produce_all

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def stored_codecs(broker, topic, p=0):
    """The codec of every batch of topic-p's segment files, in offset order (the batch header's attributes)."""
    out = []
    for path in sorted(partition_dir(broker, topic, p).glob("*.log")):
        data = path.read_bytes()
        pos = 0
        while pos + 61 <= len(data):
            length = struct.unpack_from(">i", data, pos + 8)[0]
            attributes = struct.unpack_from(">h", data, pos + 21)[0]
            count = struct.unpack_from(">i", data, pos + 57)[0]
            if count > 0:
                out.append(attributes & 7)
            pos += 12 + length
    return out


def kafka_python_read(bootstrap, topic, expected, t=60):
    kafka = require_module("kafka", "python3-kafka")
    c = kafka.KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
                            consumer_timeout_ms=2000, api_version=(2, 4, 0))
    try:
        c.assign([kafka.TopicPartition(topic, 0)])
        c.seek_to_beginning()
        got = []
        deadline = time.monotonic() + t
        while len(got) < expected and time.monotonic() < deadline:
            for batch in c.poll(timeout_ms=1000).values():
                got.extend((m.offset, m.key, m.value) for m in batch)
        return got
    finally:
        c.close()


@timeout(240)
def test_topic_compression_type_recompresses_for_every_codec(ctx):
    b = ctx.start_broker(0)
    records = [(0, b"k%05d" % i, b"value-%05d-" % i + b"x" * (i % 50)) for i in range(600)]
    want = [(k, v) for _, k, v in records]
    for target, producer_codec in [("gzip", "none"), ("snappy", "lz4"), ("lz4", "zstd"), ("zstd", "gzip"),
                                   ("uncompressed", "snappy"), ("producer", "lz4")]:
        topic = unique_topic(f"cz-{target}")
        create_topic(b.bootstrap, topic, partitions=1, configs={"compression.type": target})
        acked = produce_all(b.bootstrap, topic, records, extra={"compression.codec": producer_codec,
                                                                "batch.num.messages": 100})
        offsets = sorted(o for _, o in acked.values())
        eq(offsets, list(range(len(records))), f"{target}: offsets assigned once, contiguous")
        got = consume_assigned(b.bootstrap, topic, [0], len(records))[0]
        eq([(k, v) for _, k, v in got], want, f"{target}: confluent-kafka reads every record in order")
        eq([o for o, _, _ in got], list(range(len(records))), f"{target}: offsets as acknowledged")
        kp = kafka_python_read(b.bootstrap, topic, len(records))
        eq([(k, v) for _, k, v in kp], want, f"{target}: kafka-python reads every record in order")
        stored = set(stored_codecs(b, topic))
        if target == "producer":
            # Stored as sent: librdkafka sends a batch uncompressed when compressing would not
            # shrink it (a small batch cut by timing), and such a batch stays uncompressed.
            check(CODECS[producer_codec] in stored and stored <= {CODECS[producer_codec], 0},
                  f"producer from a {producer_codec} producer: codecs of the stored batches {stored}")
        else:
            eq(stored, {CODECS.get(target, 0)},
               f"{target} from a {producer_codec} producer: codecs of the stored batches")
        print(f"compression.type={target}, producer {producer_codec}: {len(records)} records, "
              f"stored as {sorted(stored)}")


@timeout(120)
def test_kafka_python_compressing_producers_into_recompressing_topics(ctx):
    """kafka-python 2.0.2 (a second, independent client) produces with gzip, lz4 and zstd into topics that store
    another codec; librdkafka reads every record back in order, and the segments hold the topic's codec."""
    kafka = require_module("kafka", "python3-kafka")
    b = ctx.start_broker(0)
    for producer_codec, target in [("gzip", "lz4"), ("lz4", "zstd"), ("zstd", "snappy")]:
        topic = unique_topic(f"kpc-{producer_codec}")
        create_topic(b.bootstrap, topic, partitions=1, configs={"compression.type": target})
        p = kafka.KafkaProducer(bootstrap_servers=b.bootstrap, compression_type=producer_codec, linger_ms=20,
                                api_version=(2, 4, 0), acks=1)
        futures = [p.send(topic, key=b"k%04d" % i, value=b"kafka-python-%04d" % i, partition=0)
                   for i in range(400)]
        p.flush(30)
        offsets = [f.get(timeout=30).offset for f in futures]
        p.close()
        eq(offsets, list(range(400)), f"{producer_codec} -> {target}: offsets as acknowledged")
        got = consume_assigned(b.bootstrap, topic, [0], 400)[0]
        eq([(k, v) for _, k, v in got], [(b"k%04d" % i, b"kafka-python-%04d" % i) for i in range(400)],
           f"{producer_codec} -> {target}: every record in order")
        eq(set(stored_codecs(b, topic)), {CODECS[target]}, f"{producer_codec} -> {target}: stored codec")


@timeout(240)
def test_compacted_topics_of_compressing_producers_are_cleaned(ctx):
    b = ctx.start_broker(0, extra={"log.cleaner.backoff.ms": "300", "log.retention.check.interval.ms": "1000"})
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        topic = unique_topic(f"cc-{codec}")
        create_topic(b.bootstrap, topic, partitions=1,
                     configs={"cleanup.policy": "compact", "segment.bytes": "2000",
                              "min.cleanable.dirty.ratio": "0.01", "file.delete.delay.ms": "1000"})
        # 40 updates of 13 keys, then filler records of another key that roll the updates out of the active
        # segment.
        updates = [(0, b"key-%02d" % (i % 13), b"%s-update-%02d" % (codec.encode(), i)) for i in range(40)]
        produce_all(b.bootstrap, topic, updates, extra={"compression.codec": codec, "linger.ms": 50})
        filler = [(0, b"filler", b"f%03d" % i + b"." * 200) for i in range(40)]
        produce_all(b.bootstrap, topic, filler, extra={"compression.codec": codec, "batch.num.messages": 2})
        latest = {}
        for _, k, v in updates:
            latest[k] = v

        def cleaned():
            kept = [(k, v) for _, k, v in read_to_end(b.bootstrap, topic) if k != b"filler"]
            return kept if len(kept) == 13 else None
        kept = wait_until(cleaned, 60, f"{codec}: the 40 updates compacted to one record per key")
        eq(dict(kept), latest, f"{codec}: the newest value of every key")
        codecs = stored_codecs(b, topic)
        check(CODECS[codec] in codecs and set(codecs) == {CODECS[codec]},
              f"{codec}: the cleaned batches keep their codec ({sorted(set(codecs))})")
        print(f"{codec}: 40 updates of 13 keys compacted to {len(kept)} records")


def read_to_end(bootstrap, topic, t=20):
    """Every record of topic-0 from the log start to the end (confluent-kafka, until PARTITION_EOF)."""
    k = ck()
    c = k.Consumer({"bootstrap.servers": bootstrap, "group.id": "gregor-it-unused", "enable.auto.commit": False,
                    "enable.partition.eof": True})
    try:
        c.assign([k.TopicPartition(topic, 0, k.OFFSET_BEGINNING)])
        got = []
        deadline = time.monotonic() + t
        while time.monotonic() < deadline:
            m = c.poll(1)
            if m is None:
                continue
            if m.error():
                if m.error().code() == k.KafkaError._PARTITION_EOF:
                    return got
                continue
            got.append((m.offset(), m.key(), m.value()))
        raise AssertionError(f"no end of partition within {t}s ({len(got)} records read)")
    finally:
        c.close()


@timeout(60)
def test_compacted_topic_refuses_keyless_records_in_compressed_batches(ctx):
    k = ck()
    b = ctx.start_broker(0)
    topic = unique_topic("ck")
    create_topic(b.bootstrap, topic, partitions=1, configs={"cleanup.policy": "compact"})
    for codec in ("lz4", "zstd"):
        p = k.Producer({"bootstrap.servers": b.bootstrap, "compression.codec": codec, "linger.ms": 1000,
                        "message.send.max.retries": 0})
        reports = {}
        p.produce(topic, key=b"a", value=b"keyed", on_delivery=lambda e, m: reports.__setitem__(m.value(), e))
        p.produce(topic, key=None, value=b"keyless", on_delivery=lambda e, m: reports.__setitem__(m.value(), e))
        eq(p.flush(20), 0, "flushed")
        e = reports.get(b"keyless")
        check(e is not None and e.code() == k.KafkaError.INVALID_RECORD,
              f"{codec}: the batch holding a keyless record is refused with INVALID_RECORD: {reports}")
        # librdkafka may have sent the keyed record in a batch of its own (accepted) or with the keyless one
        # (refused with it).
        e = reports.get(b"keyed", "missing")
        check(e is None or e.code() == k.KafkaError.INVALID_RECORD, f"{codec}: keyed record: {reports}")
    got = read_to_end(b.bootstrap, topic)
    check(all(key == b"a" for _, key, _ in got), f"no keyless record was appended: {got}")


@timeout(120)
def test_group_offsets_survive_restart_in_zstd_consumer_offsets(ctx):
    k = ck()
    b = ctx.start_broker(0)
    topic = unique_topic("cg")
    create_topic(b.bootstrap, topic, partitions=1)
    produce_all(b.bootstrap, topic, [(0, None, b"r%03d" % i) for i in range(100)])
    # Creates __consumer_offsets, then makes it store zstd batches.
    group = "cg-" + topic
    c = k.Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False,
                    "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    wait_until(lambda: c.poll(0.5) is not None, 30, "first record")
    ctx.run([GREGORCTL, "-b", b.bootstrap, "config", "alter", "--topic", "__consumer_offsets",
             "--set", "compression.type=zstd"], timeout=30, check_rc=0)
    for n in (17, 42, 63):
        c.commit(offsets=[k.TopicPartition(topic, 0, n)], asynchronous=False)
    c.close()
    codecs = set()
    for p in range(50):
        if partition_dir(b, "__consumer_offsets", p).exists():
            codecs.update(stored_codecs(b, "__consumer_offsets", p))
    check(4 in codecs, f"__consumer_offsets holds zstd batches ({sorted(codecs)})")
    b.stop()
    b.start()
    c = k.Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        def committed():
            r = c.committed([k.TopicPartition(topic, 0)], timeout=5)
            return r[0].offset if r and r[0].offset >= 0 else None
        eq(wait_until(committed, 30, "committed offset after the restart"), 63,
           "the last commit, read back from zstd batches")
    finally:
        c.close()
