"""confluent-kafka (python3-confluent-kafka 1.7.0 on librdkafka 2.0.2): admin, produce, assign-based consume,
compression."""

import time

import kproto
from harness import check, create_topic, eq, require_module, timeout, unique_topic, wait_until


def ck():
    return require_module("confluent_kafka", "python3-confluent-kafka")


def admin_result(futures, what, t=20):
    for key, f in futures.items():
        try:
            f.result(timeout=t)
        except Exception as e:  # noqa: BLE001
            raise AssertionError(f"{what} failed for {key}: {e}")


def produce_all(bootstrap, topic, records, extra=None, t=60):
    """records: list of (partition, key, value). Returns {value: (partition, offset)}; asserts every
    delivery report is OK."""
    k = ck()
    conf = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
            "queue.buffering.max.messages": 200000}
    conf.update(extra or {})
    p = k.Producer(conf)
    acked = {}
    errors = []

    def cb(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            acked[msg.value()] = (msg.partition(), msg.offset())

    for part, key, value in records:
        p.produce(topic, key=key, value=value, partition=part, on_delivery=cb)
        p.poll(0)
    left = p.flush(t)
    eq(left, 0, "messages still in the producer queue after flush")
    check(not errors, f"{len(errors)} delivery errors, first: {errors[:3]}")
    eq(len(acked), len(records), "delivery reports")
    return acked


def consume_assigned(bootstrap, topic, partitions, expected, t=60, extra=None):
    """Assign-based consumer (no group protocol): reads from offset 0 of each partition until `expected`
    records arrived. Returns {partition: [(offset, key, value)]}."""
    k = ck()
    conf = {"bootstrap.servers": bootstrap, "group.id": "gregor-it-unused", "enable.auto.commit": False,
            "enable.auto.offset.store": False, "enable.partition.eof": False}
    conf.update(extra or {})
    c = k.Consumer(conf)
    try:
        c.assign([k.TopicPartition(topic, p, 0) for p in partitions])
        got = {p: [] for p in partitions}
        n = 0
        deadline = time.monotonic() + t
        errors = []
        while n < expected and time.monotonic() < deadline:
            for m in c.consume(num_messages=1000, timeout=0.5):
                if m.error():
                    errors.append(str(m.error()))
                    continue
                got[m.partition()].append((m.offset(), m.key(), m.value()))
                n += 1
        check(n == expected, f"consumed {n} of {expected} records within {t}s; consumer errors: {errors[:3]}")
        return got
    finally:
        c.close()


def describe_topic_configs(admin, topic):
    k = ck()
    res = k.admin.ConfigResource(k.admin.RESOURCE_TOPIC, topic)
    fut = admin.describe_configs([res])
    return list(fut.values())[0].result(timeout=15)


def topic_partitions(admin, topic):
    md = admin.list_topics(topic=topic, timeout=10)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return None
    return t.partitions


@timeout(120)
def test_admin_produce_consume_10k(ctx):
    k = ck()
    from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewPartitions, NewTopic
    b = ctx.start_broker(0)
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    topic = unique_topic("ck")

    admin_result(admin.create_topics([NewTopic(topic, 3, 1, config={"retention.ms": "3600000"})],
                                     operation_timeout=15), "CreateTopics")
    wait_until(lambda: (topic_partitions(admin, topic) or {}).keys() == {0, 1, 2} and
               all(p.leader == 0 for p in topic_partitions(admin, topic).values()),
               20, f"{topic} to have 3 partitions led by broker 0")

    cfg = describe_topic_configs(admin, topic)
    check("retention.ms" in cfg, f"retention.ms missing from DescribeConfigs: {sorted(cfg)[:20]}")
    eq(cfg["retention.ms"].value, "3600000", "retention.ms value")
    eq(cfg["retention.ms"].source, ConfigSource.DYNAMIC_TOPIC_CONFIG.value, "retention.ms source")
    check("segment.bytes" in cfg, "segment.bytes missing from DescribeConfigs")
    eq(cfg["segment.bytes"].value, "1073741824", "segment.bytes default value")
    eq(cfg["segment.bytes"].source, ConfigSource.DEFAULT_CONFIG.value, "segment.bytes source")

    # AlterConfigs (not incremental): the given set replaces the topic's overrides.
    admin_result(admin.alter_configs([ConfigResource(k.admin.RESOURCE_TOPIC, topic,
                                                     set_config={"retention.ms": "7200000"})]), "AlterConfigs")
    wait_until(lambda: describe_topic_configs(admin, topic)["retention.ms"].value == "7200000", 10,
               "retention.ms to read back as 7200000 after AlterConfigs")

    n = 10000
    records = [(i % 3, f"k{i}".encode(), f"value-{i:05d}".encode()) for i in range(n)]
    acked = produce_all(b.bootstrap, topic, records)
    for part in range(3):
        offs = sorted(off for p, off in acked.values() if p == part)
        eq(offs, list(range(len(offs))), f"acknowledged offsets of partition {part} (dense from 0)")

    got = consume_assigned(b.bootstrap, topic, [0, 1, 2], n)
    for part in range(3):
        exp = [(acked[v][1], key, v) for p, key, v in records if p == part]
        eq(got[part], exp, f"partition {part} contents in order")

    admin_result(admin.create_partitions([NewPartitions(topic, 5)], operation_timeout=15), "CreatePartitions")
    wait_until(lambda: len(topic_partitions(admin, topic) or {}) == 5 and
               all(p.leader >= 0 for p in topic_partitions(admin, topic).values()),
               20, f"{topic} to have 5 partitions with leaders")
    # The new partitions take writes.
    acked2 = produce_all(b.bootstrap, topic, [(4, b"k", b"in-new-partition")])
    eq(acked2[b"in-new-partition"], (4, 0), "first record in new partition 4")

    admin_result(admin.delete_topics([topic], operation_timeout=15), "DeleteTopics")
    wait_until(lambda: topic not in admin.list_topics(timeout=10).topics, 20, f"{topic} to be gone from metadata")


def advertised_apis(b):
    with kproto.connect(b.bootstrap) as c:
        return kproto.api_versions_v0(c)[1]


@timeout(90)
def test_compression_codecs(ctx):
    b = ctx.start_broker(0)
    codec_ids = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
    problems = []
    for codec, cid in codec_ids.items():
        topic = unique_topic(f"cz-{codec}")
        create_topic(b.bootstrap, topic, partitions=1)
        records = [(0, f"k{i}".encode(), (f"{codec} record {i} " + "abc" * 20).encode()) for i in range(500)]
        acked = produce_all(b.bootstrap, topic, records,
                            extra={"compression.type": codec, "linger.ms": 50, "batch.num.messages": 100})
        got = consume_assigned(b.bootstrap, topic, [0], len(records))
        eq([(o, key, v) for o, key, v in got[0]], [(acked[v][1], key, v) for _, key, v in records],
           f"{codec}: records read back")
        # The broker keeps the producer's codec (compression.type=producer), so the stored batches carry it.
        # librdkafka <= 2.11 silently sends gzip/snappy/lz4 uncompressed when the broker's Produce range
        # does not include v0, so this also checks what ApiVersions advertises.
        with kproto.connect(b.bootstrap) as c:
            f = kproto.fetch_v4(c, topic, 0, 0)
        eq(f["error"], 0, f"{codec}: raw fetch error")
        batches = kproto.decode_batches(f["records"])
        check(batches, f"{codec}: raw fetch returned no batches")
        check(all(bt["crc_ok"] for bt in batches), f"{codec}: stored batch CRC mismatch")
        got_codecs = {bt["attributes"] & 7 for bt in batches}
        if codec == "lz4" and kproto.API_FIND_COORDINATOR not in advertised_apis(b):
            # librdkafka 2.0.2 ties its LZ4 feature flag to FindCoordinator v0 (rdkafka_feature.c), so
            # before consumer groups exist it sends lz4 uncompressed; nothing to check on the broker.
            continue
        if got_codecs != {cid}:
            problems.append(f"{codec}: stored batches have compression {sorted(got_codecs)}, expected {cid}")
    # A gzip batch built by hand (independent of what librdkafka chooses to send): stored and served as is,
    # and a real client decompresses it.
    topic = unique_topic("cz-raw-gzip")
    create_topic(b.bootstrap, topic, partitions=1)
    raw = [(f"k{i}".encode(), f"raw gzip {i} ".encode() * 5) for i in range(50)]
    with kproto.connect(b.bootstrap) as c:
        eq(kproto.produce_v3(c, topic, 0, kproto.record_batch(raw, compression=1)), (0, 0),
           "raw gzip batch (error, base offset)")
        f = kproto.fetch_v4(c, topic, 0, 0)
    eq([bt["attributes"] & 7 for bt in kproto.decode_batches(f["records"])], [1], "stored raw gzip batch codec")
    got = consume_assigned(b.bootstrap, topic, [0], len(raw))
    eq([(k, v) for _, k, v in got[0]], raw, "raw gzip batch read back by librdkafka")
    eq([o for o, _, _ in got[0]], list(range(50)), "offsets inside the raw gzip batch")
    if problems:
        apis = advertised_apis(b)
        raise AssertionError("; ".join(problems) + f" (broker advertises Produce {apis.get(0)}, "
                             f"Fetch {apis.get(1)})")
