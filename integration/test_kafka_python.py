"""kafka-python 2.0.2 (python3-kafka): admin, producer, assign-based consumer, ListOffsets helpers."""

import time

from harness import check, eq, require_module, timeout, unique_topic, wait_topic_ready, wait_until


def topic_errors(resp):
    # CreateTopics/DeleteTopics responses: topic_errors holds (name, code[, message]) tuples.
    errs = getattr(resp, "topic_errors", None) or getattr(resp, "topic_error_codes", None) or []
    return {e[0]: e[1] for e in errs}


@timeout(90)
def test_kafka_python_produce_consume_admin(ctx):
    require_module("kafka", "python3-kafka")
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic

    b = ctx.start_broker(0)
    topic = unique_topic("kpy")
    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=15000, client_id="gregor-it")
    try:
        resp = admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)], timeout_ms=10000)
        eq(topic_errors(resp).get(topic), 0, f"CreateTopics error for {topic} ({resp})")
        wait_topic_ready(b.bootstrap, topic, 2)

        producer = KafkaProducer(bootstrap_servers=b.bootstrap, acks="all", linger_ms=5, retries=3)
        t_before = int(time.time() * 1000) - 1
        futures = [producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=i % 2)
                   for i in range(1000)]
        producer.flush(timeout=30)
        metas = [f.get(timeout=10) for f in futures]
        producer.close(timeout=10)
        for part in (0, 1):
            offs = [m.offset for m in metas if m.partition == part]
            eq(offs, list(range(500)), f"acknowledged offsets in partition {part}")

        consumer = KafkaConsumer(bootstrap_servers=b.bootstrap, group_id=None, enable_auto_commit=False,
                                 consumer_timeout_ms=1000)
        try:
            tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
            consumer.assign(tps)
            consumer.seek_to_beginning()
            got = {0: [], 1: []}
            deadline = time.monotonic() + 30
            while sum(map(len, got.values())) < 1000 and time.monotonic() < deadline:
                for tp, msgs in consumer.poll(timeout_ms=500, max_records=500).items():
                    got[tp.partition].extend((m.offset, m.key, m.value) for m in msgs)
            for part in (0, 1):
                exp = [(j, f"k{i}".encode(), f"v{i}".encode())
                       for j, i in enumerate(range(part, 1000, 2))]
                eq(got[part], exp, f"partition {part} contents")

            eq(consumer.beginning_offsets(tps), {tps[0]: 0, tps[1]: 0}, "beginning_offsets")
            eq(consumer.end_offsets(tps), {tps[0]: 500, tps[1]: 500}, "end_offsets")
            times = consumer.offsets_for_times({tps[0]: t_before, tps[1]: int(time.time() * 1000) + 3600000})
            check(times[tps[0]] is not None and times[tps[0]].offset == 0,
                  f"offsets_for_times(before the first record) = {times[tps[0]]}")
            check(times[tps[1]] is None, f"offsets_for_times(an hour ahead) = {times[tps[1]]}")
        finally:
            consumer.close()

        resp = admin.delete_topics([topic], timeout_ms=10000)
        eq(topic_errors(resp).get(topic), 0, f"DeleteTopics error for {topic} ({resp})")
        wait_until(lambda: topic not in admin.list_topics(), 20, f"{topic} to disappear from list_topics")
    finally:
        admin.close()
