"""DeleteRecords and Fetch long polling, over raw protocol frames."""

import threading
import time

import kproto
from harness import check, create_topic, eq, list_offset, timeout, unique_topic, wait_topic_ready


def produce_n(bootstrap, topic, partition, n, per_batch=10):
    with kproto.connect(bootstrap) as c:
        for start in range(0, n, per_batch):
            recs = [(f"k{i}".encode(), f"v{i}".encode()) for i in range(start, min(n, start + per_batch))]
            err, base = kproto.produce_v3(c, topic, partition, kproto.record_batch(recs))
            eq(err, 0, "produce error")
            eq(base, start, "produce base offset")


@timeout(60)
def test_delete_records_advances_log_start(ctx):
    # confluent-kafka 1.7.0 has no AdminClient.delete_records (added in 2.4), so DeleteRecords v0 goes raw.
    b = ctx.start_broker(0)
    topic = unique_topic("delrec")
    create_topic(b.bootstrap, topic, partitions=1)
    produce_n(b.bootstrap, topic, 0, 100)

    with kproto.connect(b.bootstrap) as c:
        err, low = kproto.delete_records_v0(c, topic, 0, 40)
        eq(err, 0, "DeleteRecords error")
        eq(low, 40, "DeleteRecords low watermark")
        eq(list_offset(b.bootstrap, topic, 0, -2), 40, "earliest offset after DeleteRecords")
        eq(list_offset(b.bootstrap, topic, 0, -1), 100, "latest offset after DeleteRecords")

        f = kproto.fetch_v4(c, topic, 0, 10)
        eq(f["error"], kproto.OFFSET_OUT_OF_RANGE, "fetch below the log start offset")
        f = kproto.fetch_v4(c, topic, 0, 40)
        eq(f["error"], 0, "fetch at the log start offset")
        recs = [r for bt in kproto.decode_batches(f["records"]) for r in bt["records"] if r[0] >= 40]
        check(recs, "no records at offset 40")
        eq(recs[0], (40, b"k40", b"v40"), "first readable record")

        # Offset -1 means "up to the high watermark" (Kafka's HIGH_WATERMARK sentinel).
        err, low = kproto.delete_records_v0(c, topic, 0, -1)
        eq((err, low), (0, 100), "DeleteRecords to the high watermark")
        # Past the high watermark is an error.
        err, _ = kproto.delete_records_v0(c, topic, 0, 500)
        eq(err, kproto.OFFSET_OUT_OF_RANGE, "DeleteRecords beyond the high watermark")

    # Survives a restart (log-start-offset checkpoint).
    eq(b.stop(), 0, "exit code after SIGTERM")
    b.start()
    wait_topic_ready(b.bootstrap, topic, 1)  # leadership comes back asynchronously (controller)
    eq(list_offset(b.bootstrap, topic, 0, -2), 100, "earliest offset after restart")


@timeout(60)
def test_fetch_long_poll_wakes_on_produce(ctx):
    b = ctx.start_broker(0)
    topic = unique_topic("longpoll")
    create_topic(b.bootstrap, topic, partitions=1)

    # An empty partition with no producer: the fetch waits about max_wait_ms and returns empty.
    with kproto.connect(b.bootstrap) as c:
        t0 = time.monotonic()
        f = kproto.fetch_v4(c, topic, 0, 0, max_wait_ms=2000)
        waited = time.monotonic() - t0
    eq(f["error"], 0, "empty fetch error")
    eq(kproto.decode_batches(f["records"]), [], "records in an empty fetch")
    check(1.7 <= waited <= 6.0, f"empty fetch with max_wait 2000ms returned after {waited:.2f}s")

    # Now a record arrives 300 ms into a 10 s wait: the fetch must return with it, long before
    # the wait is over (the bound leaves room for a slow, loaded machine).
    def produce_later():
        time.sleep(0.3)  # the delay *is* the scenario: produce while the fetch is parked
        with kproto.connect(b.bootstrap) as c2:
            kproto.produce_v3(c2, topic, 0, kproto.record_batch([(b"k", b"wake-up")]))

    th = threading.Thread(target=produce_later)
    with kproto.connect(b.bootstrap, timeout=30) as c:
        t0 = time.monotonic()
        th.start()
        f = kproto.fetch_v4(c, topic, 0, 0, max_wait_ms=10000)
        waited = time.monotonic() - t0
    th.join()
    eq(f["error"], 0, "fetch error")
    recs = [r for bt in kproto.decode_batches(f["records"]) for r in bt["records"]]
    eq(recs, [(0, b"k", b"wake-up")], "records returned by the woken fetch")
    check(waited < 5.0, f"fetch returned {waited:.2f}s after start; the record was produced at 0.3s")
