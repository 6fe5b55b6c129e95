"""Memory footprint: a fresh broker with no topics stays small (the log cleaner allocates its offset map for a
cleaning pass, sized to the pass, not the whole log.cleaner.dedupe.buffer.size up front), a thousand empty
partitions cost little (index entries are allocated as they are written), and a compacted topic is still
compacted, after which the broker is back under the bound (the pass's map was freed).

Memory is read from /proc/<pid>/status: VmRSS (resident, including the binary's text) and RssAnon (heap,
stacks, anonymous mappings). A bound on resident memory means nothing under a sanitizer or a wrapper such as
valgrind, so those runs skip these tests."""

import os
import time

import kproto
from harness import Skip, check, create_topic, eq, timeout, unique_topic, wait_until
from test_compaction import COMPACT, cleaner_lines, live_log_bytes, partition_dir, read_all
from test_confluent import ck

# Measured on x86-64 (Debian 12, g++ 12 -O2): about 11 MB resident idle, 16 MB with 1,000 empty partitions;
# before the cleaner's map was sized per pass, 142 MB idle.
IDLE_RSS_BOUND_KB = 40 * 1024
PARTITIONS_RSS_BOUND_KB = 48 * 1024


def memory_kb(broker):
    """(VmRSS, RssAnon) of the broker process in kB."""
    fields = {}
    with open(f"/proc/{broker.proc.pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon"):
                fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["RssAnon"]


def require_plain_broker(broker):
    if os.environ.get("GREGOR_IT_WRAPPER"):
        raise Skip("GREGOR_IT_WRAPPER is set: the broker's memory is the wrapper's")
    with open(f"/proc/{broker.proc.pid}/maps") as f:
        maps = f.read()
    for lib in ("libasan", "libtsan", "libmsan"):
        if lib in maps:
            raise Skip(f"sanitizer build ({lib}): resident memory is not comparable")


def peak_memory_kb(broker, seconds=2.0):
    """The largest (VmRSS, RssAnon) seen while sampling for `seconds` (a measurement window, not a wait for
    state): catches memory allocated and freed again in between, such as a cleaner pass."""
    rss = anon = 0
    end = time.monotonic() + seconds
    while True:
        broker.check_alive("while its memory is read")
        r, a = memory_kb(broker)
        rss, anon = max(rss, r), max(anon, a)
        if time.monotonic() >= end:
            return rss, anon
        time.sleep(0.1)


# ---------------------------------------------------------------- idle
@timeout(60)
def test_idle_broker_is_small(ctx):
    b = ctx.start_broker(0)
    require_plain_broker(b)
    # The cleaner threads have started and looked for work once by the time the broker is ready; the window
    # covers a few more of their wake-ups.
    wait_until(lambda: "[LogCleaner] started" in b.log_path.read_text(errors="replace"), 10,
               "the log cleaner to start")
    rss, anon = peak_memory_kb(b)
    print(f"idle broker: VmRSS {rss} kB, RssAnon {anon} kB")
    check(rss < IDLE_RSS_BOUND_KB, f"idle VmRSS {rss} kB >= {IDLE_RSS_BOUND_KB} kB (RssAnon {anon} kB)")


# ---------------------------------------------------------------- 1,000 empty partitions
@timeout(120)
def test_thousand_empty_partitions_are_small(ctx):
    b = ctx.start_broker(0)
    require_plain_broker(b)
    topics = [unique_topic(f"fp{i}") for i in range(10)]
    with kproto.connect(b.bootstrap, timeout=30) as c:
        res = kproto.create_topics_v0(c, [(t, 100, 1, {}) for t in topics], timeout_ms=30000)
    for t in topics:
        eq(res.get(t), kproto.NONE, f"CreateTopics error for {t}")

    def all_led():
        with kproto.connect(b.bootstrap, timeout=5) as c:
            md = kproto.metadata_v1(c, topics)
        return all(len(md["topics"].get(t, {}).get("partitions", [])) == 100 and
                   all(p["error"] == 0 and p["leader"] >= 0 for p in md["topics"][t]["partitions"])
                   for t in topics)
    wait_until(all_led, 90, "1,000 partitions to have leaders", interval=0.5)
    wait_until(lambda: sum(1 for n in os.listdir(b.log_dir) if n.startswith("fp")) == 1000, 30,
               "1,000 partition directories")
    rss, anon = peak_memory_kb(b)
    print(f"1,000 empty partitions: VmRSS {rss} kB, RssAnon {anon} kB")
    check(rss < PARTITIONS_RSS_BOUND_KB,
          f"VmRSS with 1,000 partitions {rss} kB >= {PARTITIONS_RSS_BOUND_KB} kB (RssAnon {anon} kB)")


# ---------------------------------------------------------------- compaction still works, memory comes back
@timeout(150)
def test_compacted_topic_is_compacted_and_memory_returns(ctx):
    k = ck()
    b = ctx.start_broker(0, extra={"log.cleaner.backoff.ms": "500", "log.retention.check.interval.ms": "1000"})
    require_plain_broker(b)
    topic = unique_topic("fpc")
    create_topic(b.bootstrap, topic, partitions=1, configs=COMPACT)
    keys = [f"key-{i:03d}" for i in range(100)]
    updates = 60
    p = k.Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5, "batch.num.messages": 200})
    errors = []

    def cb(err, msg):
        if err is not None:
            errors.append(str(err))

    for u in range(updates):
        for key in keys:
            p.produce(topic, key=key.encode(), value=f"{key}:{u:04d}:".encode() + b"v" * 60, on_delivery=cb)
        p.poll(0)
    eq(p.flush(60), 0, "records left in the producer queue")
    check(not errors, f"delivery errors: {errors[:3]}")
    total = updates * len(keys)
    d = partition_dir(b, topic)
    before_log = live_log_bytes(d)

    def compacted():
        b.check_alive("while the cleaner runs")
        _, ends, _ = cleaner_lines(b, topic)
        return ends and live_log_bytes(d) < before_log / 4
    wait_until(compacted, 60, f"the partition's .log bytes to shrink below a quarter of {before_log}",
               interval=0.2)
    _, ends, _ = cleaner_lines(b, topic)
    clean_to = max(ends)
    recs, hw = read_all(b.bootstrap, topic)
    eq(hw, total, "high watermark (compaction never changes offsets)")
    check(len(recs) < total / 4, f"{len(recs)} of {total} records still there after compaction")
    newest, below = {}, {}
    for off, key, value in recs:
        kk = key.decode()
        newest[kk] = value
        if off < clean_to:
            below[kk] = below.get(kk, 0) + 1
    for key in keys:
        check(key in newest, f"key {key} lost by compaction")
        eq(newest[key][:len(key) + 5], f"{key}:{updates - 1:04d}".encode(), f"newest value of {key}")
    dup = {kk: n for kk, n in below.items() if n > 1}
    check(not dup, f"keys more than once below the cleaned offset {clean_to}: {dup}")

    # The pass's offset map and buffers are gone: the broker is back under the idle bound.
    rss, anon = memory_kb(b)
    print(f"after compacting {total} records to {len(recs)} (clean up to {clean_to}): VmRSS {rss} kB, "
          f"RssAnon {anon} kB")
    check(rss < IDLE_RSS_BOUND_KB, f"VmRSS after cleaning {rss} kB >= {IDLE_RSS_BOUND_KB} kB (RssAnon {anon} kB)")
