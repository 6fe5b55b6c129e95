"""Log compaction (cleanup.policy=compact) end to end: the cleaner shrinks a partition that holds many updates
of few keys, and reading it from the beginning gives the newest value of every key (offsets keep their gaps);
kill -9 while the cleaner works loses no key.

The partition is read with hand-built Fetch v4 requests (kproto: every batch's CRC-32C is checked, offsets and
keys are exact) and, in the first test, also with confluent-kafka. The cleaner's progress is taken from the
broker log ("[LogCleaner] cleaning <tp> from offset A to B" / "[LogCleaner] cleaned <tp>: ... clean up to
offset N")."""

import os
import random
import re
import threading
import time

import kproto
from harness import check, create_topic, eq, exclusive, timeout, unique_topic, wait_topic_ready, wait_until
from test_confluent import ck

COMPACT = {"cleanup.policy": "compact", "segment.bytes": "20000", "min.cleanable.dirty.ratio": "0.01",
           # Replaced segments are renamed *.deleted and removed after this delay (Kafka's default is 60 s).
           "file.delete.delay.ms": "1000"}


def partition_dir(broker, topic, p=0):
    return broker.log_dir / f"{topic}-{p}"


def disk_usage(d):
    """Bytes allocated on disk for the files in d (sparse, preallocated index files count what they use)."""
    total = 0
    for name in os.listdir(d):
        try:
            total += os.stat(os.path.join(d, name)).st_blocks * 512
        except FileNotFoundError:
            pass
    return total


def live_log_bytes(d):
    """Sum of the segment .log files (not the *.deleted ones waiting for removal)."""
    total = 0
    for name in os.listdir(d):
        if name.endswith(".log"):
            try:
                total += os.path.getsize(os.path.join(d, name))
            except FileNotFoundError:
                pass
    return total


def read_all(bootstrap, topic, p=0, t=30):
    """Reads the partition from offset 0 to the high watermark with Fetch v4. Returns (records, hw) with records
    a list of (offset, key, value); checks CRCs and that offsets only grow."""
    out = []
    offset = 0
    hw = None
    deadline = time.monotonic() + t
    with kproto.connect(bootstrap, timeout=10) as c:
        while hw is None or offset < hw:
            check(time.monotonic() < deadline, f"read {len(out)} records up to offset {offset} of {hw} in {t}s")
            f = kproto.fetch_v4(c, topic, p, offset, max_bytes=1 << 20)
            eq(f["error"], 0, f"Fetch error at offset {offset}")
            hw = f["high_watermark"]
            batches = kproto.decode_batches(f["records"])
            if not batches and offset < hw:
                raise AssertionError(f"Fetch at offset {offset} (< high watermark {hw}) returned no batch")
            for b in batches:
                check(b["crc_ok"], f"bad CRC in the batch at offset {b['base_offset']}")
                check(b["attributes"] & 7 == 0, f"compressed batch at {b['base_offset']} (the test sends none)")
                for off, k, v in b["records"]:
                    if off >= offset:
                        check(not out or off > out[-1][0], f"offset {off} after {out[-1][0] if out else None}")
                        out.append((off, k, v))
                offset = max(offset, b["base_offset"] + b["last_offset_delta"] + 1)
    return out, hw


def cleaner_lines(broker, topic, p=0, since=0):
    """(cleaning starts [(from, to)], cleaned-up-to offsets, whether the last line is a start) for topic-p in the
    broker log from byte `since`."""
    with open(broker.log_path, "rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    tp = re.escape(f"{topic}-{p}")
    starts, ends, running = [], [], False
    for m in re.finditer(rf"\[LogCleaner\] (?:cleaning {tp} from offset (\d+) to (\d+)|"
                         rf"cleaned {tp}: .*clean up to offset (\d+))", text):
        if m.group(1) is not None:
            starts.append((int(m.group(1)), int(m.group(2))))
            running = True
        else:
            ends.append(int(m.group(3)))
            running = False
    return starts, ends, running


def log_size(broker):
    return os.path.getsize(broker.log_path) if broker.log_path.exists() else 0


# ---------------------------------------------------------------- 6. updates of few keys are compacted
@exclusive  # waits for the cleaner within a deadline
@timeout(150)
def test_compaction_keeps_newest_value_per_key(ctx):
    k = ck()
    # The replaced segments (*.deleted) are removed by the broker's retention pass, which runs every
    # log.retention.check.interval.ms (default 5 min), not file.delete.delay.ms after the swap as in Kafka: a
    # 1 s pass here, so that the directory shrinks within the test.
    b = ctx.start_broker(0, extra={"log.cleaner.backoff.ms": "500", "log.retention.check.interval.ms": "1000"})
    topic = unique_topic("cmp")
    create_topic(b.bootstrap, topic, partitions=1, configs=COMPACT)
    keys = [f"key-{i:02d}" for i in range(20)]
    updates = 500
    p = k.Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5, "batch.num.messages": 100,
                    "max.in.flight.requests.per.connection": 1})
    errors = []

    def cb(err, msg):
        if err is not None:
            errors.append(str(err))

    for u in range(updates):
        for key in keys:
            p.produce(topic, key=key.encode(), value=f"{key}:{u:04d}:".encode() + b"v" * 40, on_delivery=cb)
        if u < 100:  # a key written early, then deleted (tombstone) and never written again
            p.produce(topic, key=b"gone", value=f"gone:{u:04d}:".encode(), on_delivery=cb)
        elif u == 100:
            p.produce(topic, key=b"gone", value=None, on_delivery=cb)
        p.poll(0)
    eq(p.flush(60), 0, "records left in the producer queue")
    check(not errors, f"delivery errors: {errors[:3]}")
    total = updates * len(keys) + 101
    d = partition_dir(b, topic)
    before_disk = disk_usage(d)
    before_log = live_log_bytes(d)
    n_segments = len([n for n in os.listdir(d) if n.endswith(".log")])
    print(f"produced {total} records: {n_segments} segments, .log bytes {before_log}, on disk {before_disk} bytes")

    def shrunk():
        b.check_alive("while the cleaner runs")
        _, ends, _ = cleaner_lines(b, topic)
        return ends and disk_usage(d) < before_disk / 4 and live_log_bytes(d) < before_log / 4
    try:
        wait_until(shrunk, 60, f"the partition directory to shrink below a quarter of {before_disk} bytes",
                   interval=0.2)
    except AssertionError as e:
        names = sorted(os.listdir(d))
        raise AssertionError(f"{e}: now {disk_usage(d)} bytes on disk, .log bytes {live_log_bytes(d)}, "
                             f"{len(names)} files ({sum(n.endswith('.deleted') for n in names)} *.deleted), "
                             f"cleaner lines {cleaner_lines(b, topic)}")
    starts, ends, _ = cleaner_lines(b, topic)
    clean_to = max(ends)
    print(f"cleaner: {len(starts)} run(s), clean up to offset {clean_to}; now .log bytes {live_log_bytes(d)}, "
          f"on disk {disk_usage(d)} bytes, files {sorted(os.listdir(d))}")

    recs, hw = read_all(b.bootstrap, topic)
    eq(hw, total, "high watermark (compaction never changes offsets)")
    offs = [o for o, _, _ in recs]
    check(len(recs) < total / 4, f"{len(recs)} of {total} records still there after compaction")
    check(any(b_ > a + 1 for a, b_ in zip(offs, offs[1:])) or (offs and offs[0] > 0),
          "no gap in the offsets after compaction")
    last = {}
    below = {}
    for off, key, value in recs:
        kk = key.decode()
        if kk in last and value is not None and last[kk] is not None:
            check(value > last[kk], f"key {kk}: {value!r} at offset {off} after the newer {last[kk]!r}")
        last[kk] = value
        if off < clean_to:
            below[kk] = below.get(kk, 0) + 1
    for key in keys:
        check(key in last, f"key {key} lost by compaction")
        eq(last[key][:len(key) + 5], f"{key}:{updates - 1:04d}".encode(), f"newest value of {key}")
    check(last.get("gone", None) is None, f"the deleted key came back: {last.get('gone')!r}")
    dup = {kk: n for kk, n in below.items() if n > 1}
    check(not dup, f"keys more than once below the cleaned offset {clean_to}: {dup}")
    eq(sorted(set(last) - {"gone"}), sorted(keys), "keys in the compacted log")

    # A real client reads the compacted log (gaps included) to the same result.
    c = k.Consumer({"bootstrap.servers": b.bootstrap, "group.id": "unused", "enable.auto.commit": False})
    try:
        c.assign([k.TopicPartition(topic, 0, k.OFFSET_BEGINNING)])
        seen = []
        deadline = time.monotonic() + 30
        while not seen or seen[-1][0] < hw - 1:
            check(time.monotonic() < deadline, f"confluent-kafka read up to {seen[-1][0] if seen else None}")
            for m in c.consume(1000, 0.5):
                if not m.error():
                    seen.append((m.offset(), m.key(), m.value()))
        eq([o for o, _, _ in seen], offs, "offsets read by confluent-kafka vs Fetch v4")
        newest = {}
        for _, key, value in seen:
            newest[key.decode()] = value
        for key in keys:
            eq(newest.get(key), last[key], f"confluent-kafka's newest value of {key}")
    finally:
        c.close()


# ---------------------------------------------------------------- 7. kill -9 while the cleaner runs
class KeyedProducer(threading.Thread):
    """Writes versions 0, 1, 2, ... of every key in turn (acks=all, one request in flight, so a key's versions
    reach the log in order) until stop(); remembers the newest acknowledged and the newest sent version per
    key."""

    def __init__(self, bootstrap, topic, keys, start_version, pad, rate=8000, budget=40000):
        super().__init__(daemon=True)
        k = ck()
        self.p = k.Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                             "batch.num.messages": 200, "max.in.flight.requests.per.connection": 1,
                             "retries": 0, "message.timeout.ms": 4000, "queue.buffering.max.messages": 20000})
        self.topic = topic
        self.keys = keys
        self.version = start_version
        self.pad = pad
        self.rate = rate
        self.budget = budget
        self.n_sent = 0
        self.acked = {}
        self.sent = {}
        self.n_acked = 0
        self.halt = threading.Event()
        self.mu = threading.Lock()

    def _cb(self, err, msg):
        if err is None:
            key = msg.key().decode()
            v = int(msg.value().split(b":")[1])
            with self.mu:
                self.acked[key] = max(self.acked.get(key, -1), v)
                self.n_acked += 1

    def run(self):
        t0 = time.monotonic()
        while not self.halt.is_set():
            if self.n_sent >= self.budget or self.n_sent > (time.monotonic() - t0) * self.rate:
                self.p.poll(0.005)
                continue
            for key in self.keys:
                while True:
                    try:
                        self.p.produce(self.topic, key=key.encode(),
                                       value=f"{key}:{self.version}:".encode() + self.pad, on_delivery=self._cb)
                        break
                    except BufferError:
                        self.p.poll(0.01)
                        if self.halt.is_set():
                            return
                self.sent[key] = self.version
                self.n_sent += 1
            self.version += 1
            self.p.poll(0)

    def stop(self):
        self.halt.set()
        self.join(10)
        self.p.flush(8)


@timeout(170)
def test_compaction_kill9_during_cleaning(ctx):
    extra = {"log.cleaner.backoff.ms": "200", "zookeeper.session.timeout.ms": "4000"}
    b = ctx.start_broker(0, extra=extra)
    topic = unique_topic("cmpk")
    create_topic(b.bootstrap, topic, partitions=1, configs=COMPACT)
    keys = [f"key-{i:02d}" for i in range(20)]
    d = partition_dir(b, topic)
    version = 0
    acked = {}
    rng = random.Random()
    mid_clean = 0
    rounds = 5
    for rnd in range(rounds):
        mark = log_size(b)
        prod = KeyedProducer(b.bootstrap, topic, keys, version, b"p" * 100)
        prod.start()
        try:
            # Wait until this round's records are coming in and the cleaner is working on the partition, then
            # kill -9 at a random moment soon after.
            wait_until(lambda: prod.n_acked >= 1000 and cleaner_lines(b, topic, since=mark)[2], 40,
                       f"round {rnd}: 1000 records acknowledged and the cleaner running", interval=0.01)
            # The random moment of the kill (not a wait for state): soon after the start in half of the rounds,
            # where a clean of a few MB is likely still running, later in the others.
            time.sleep(rng.uniform(0, 0.03) if rnd % 2 == 0 else rng.uniform(0.03, 0.2))
            b.kill9()
        finally:
            prod.stop()
        starts, ends, mid = cleaner_lines(b, topic, since=mark)
        mid_clean += mid
        with prod.mu:
            for key, v in prod.acked.items():
                acked[key] = max(acked.get(key, -1), v)
            n_acked = prod.n_acked
        version = prod.version + 1
        print(f"round {rnd}: {n_acked} records acknowledged, cleaner runs started {len(starts)}, finished "
              f"{len(ends)}: killed {'during a clean' if mid else 'between cleans'}; files "
              f"{len([n for n in os.listdir(d) if n.endswith('.cleaned') or n.endswith('.swap')])} .cleaned/.swap")

        zk = ctx.zk()
        wait_until(lambda: zk.exists("/brokers/ids/0") is None, 20, "the killed broker's session to expire")
        b.start(timeout=40)
        wait_topic_ready(b.bootstrap, topic, 1)
        left = [n for n in os.listdir(d) if n.endswith(".cleaned") or n.endswith(".swap")]
        check(not left, f"round {rnd}: temporary cleaner files left after recovery: {left}")

        recs, hw = read_all(b.bootstrap, topic, t=60)
        newest = {}
        for off, key, value in recs:
            kk = key.decode()
            v = int(value.split(b":")[1])
            check(kk not in newest or v > newest[kk],
                  f"round {rnd}: key {kk} version {v} at offset {off} after version {newest.get(kk)}")
            newest[kk] = v
        for key in keys:
            check(key in newest, f"round {rnd}: key {key} lost (newest acknowledged version {acked.get(key)})")
            check(newest[key] >= acked.get(key, -1),
                  f"round {rnd}: key {key}: newest version in the log {newest[key]} is older than the acknowledged "
                  f"{acked[key]}")
        print(f"round {rnd}: after restart {len(recs)} records up to high watermark {hw}, every key at or past "
              f"its acknowledged version")
    print(f"killed during a clean in {mid_clean} of {rounds} rounds")

    # After the last restart the cleaner finishes the job: the same check once it has caught up. (A last kill
    # between cleans may leave nothing dirty enough to clean again, so no new "cleaned" line is required; the log
    # must be compact.)
    wait_until(lambda: live_log_bytes(d) < 200000, 60,
               f"the cleaner to compact the log after the restarts (.log bytes {live_log_bytes(d)})", interval=0.2)
    recs, _ = read_all(b.bootstrap, topic, t=60)
    newest = {}
    for _, key, value in recs:
        newest[key.decode()] = int(value.split(b":")[1])
    for key in keys:
        check(newest.get(key, -1) >= acked.get(key, -1), f"key {key} after the final clean: {newest.get(key)} "
                                                         f"< acknowledged {acked.get(key)}")


# ---------------------------------------------------------------- 8. transactional data is compacted as Kafka does
@timeout(60)
def test_compaction_transactions(ctx):
    """A transactional producer commits and aborts transactions over the same keys (aborted ones overwrite
    keys after their last commit), then plain writes roll segments. While another producer's transaction is
    open from the first offset, nothing is cleaned (the cleaner stops at the first unstable offset). Once it
    commits, the cleaner removes the aborted records (for read_uncommitted readers too, and without letting
    them shadow older committed values), keeps each key's newest committed value, and, on a later pass past
    delete.retention.ms, the markers of transactions left without records."""
    from test_transactions import TXN_ONE, consume_to_end, raw_read, txn_producer, wait_stable

    t0 = time.monotonic()
    b = ctx.start_broker(0, extra={**TXN_ONE, "log.cleaner.backoff.ms": "300",
                                   "log.retention.check.interval.ms": "1000"})
    topic = unique_topic("cmptx")
    create_topic(b.bootstrap, topic, partitions=1,
                 configs={**COMPACT, "segment.bytes": "4000", "delete.retention.ms": "500"})
    tps = [(topic, 0)]
    d = partition_dir(b, topic)
    keys = [f"key-{i}" for i in range(8)]
    committed = {}

    # The held transaction: open at offset 0 until every write is in.
    held = txn_producer(b.bootstrap, unique_topic("tid-held"))
    held.init_transactions(30)
    held.begin_transaction()
    held.produce(topic, key=b"held", value=b"held:committed:", partition=0)
    eq(held.flush(30), 0, "the held transaction's record left after flush")

    p = txn_producer(b.bootstrap, unique_topic("tid-cmp"))
    p.init_transactions(30)
    n_txns = 24
    for rnd in range(n_txns):
        # Every third transaction is aborted; the last one is too, overwriting every key after its last commit.
        abort = rnd % 3 == 2 or rnd == n_txns - 1
        tag = "aborted" if abort else "committed"
        p.begin_transaction()
        for key in keys:
            p.produce(topic, key=key.encode(), value=f"{key}:{tag}:{rnd:02d}:".encode() + b"t" * 40, partition=0)
        eq(p.flush(30), 0, f"transaction {rnd}: records left after flush")
        if abort:
            p.abort_transaction(30)
        else:
            p.commit_transaction(30)
            for key in keys:
                committed[key] = f"{key}:committed:{rnd:02d}:".encode() + b"t" * 40

    plain = ck().Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5})

    def plain_writes(n, tag):
        for i in range(n):
            key = f"plain-{i % 4}"
            value = f"{key}:{tag}:{i:03d}:".encode() + b"p" * 60
            plain.produce(topic, key=key.encode(), value=value, partition=0)
            committed[key] = value
        eq(plain.flush(30), 0, "plain records left after flush")

    plain_writes(200, "a")
    before = live_log_bytes(d)
    n_segments = len([n for n in os.listdir(d) if n.endswith(".log")])
    eq(cleaner_lines(b, topic)[1], [], "cleans while a transaction is open at offset 0")
    print(f"{n_txns} transactions and 200 plain records: {n_segments} segments, .log bytes {before}")
    held.commit_transaction(30)
    committed["held"] = b"held:committed:"
    end = wait_stable([b], tps)[(topic, 0)]

    def aborted_gone():
        b.check_alive("while the cleaner runs")
        if not cleaner_lines(b, topic)[1]:
            return False
        batches = raw_read(b.bootstrap, topic, 0, kproto.READ_UNCOMMITTED)["batches"]
        return not any(v is not None and b":aborted:" in v for bt in batches for _, _, v in bt["records"] or [])

    wait_until(aborted_gone, 20, "a clean removing the aborted records", interval=0.2)

    def check_views(what):
        for isolation in ("read_committed", "read_uncommitted"):
            got = consume_to_end(b.bootstrap, tps, isolation, t=15)[(topic, 0)]
            aborted = [v for _, v in got if b":aborted:" in v]
            check(not aborted, f"{what}, {isolation}: aborted values still read: {aborted[:3]}")
            newest = {}
            for _, v in got:
                newest[v.split(b":")[0].decode()] = v
            eq(newest, committed, f"{what}, {isolation}: newest value of each key")
            offs = [o for o, _ in got]
            check(offs == sorted(set(offs)), f"{what}, {isolation}: offsets not increasing")
        return got

    got = check_views("after the first clean")
    after = live_log_bytes(d)
    check(after < before / 2, f".log bytes {after} not below half of {before} after the clean")
    print(f"after the first clean: {len(got)} records up to {end}, .log bytes {after}, "
          f"{count_markers(b.bootstrap, topic)} markers")

    # A later pass, past delete.retention.ms: the markers of the transactions the first pass emptied go.
    mark = cleaner_lines(b, topic)[1]
    plain_writes(200, "b")
    wait_until(lambda: len(cleaner_lines(b, topic)[1]) > len(mark) and count_markers(b.bootstrap, topic) < n_txns // 2,
               20, f"a later clean to remove the markers of emptied transactions ({n_txns + 1} markers written)",
               interval=0.2)
    check_views("after the marker removal")
    print(f"after a later clean: {count_markers(b.bootstrap, topic)} of {n_txns + 1} markers left, .log bytes "
          f"{live_log_bytes(d)}; {time.monotonic() - t0:.1f}s")


def count_markers(bootstrap, topic, p=0):
    """Transaction markers left in topic-p (control batches holding a COMMIT or ABORT record), by a raw
    read_uncommitted Fetch."""
    from test_transactions import raw_read
    return sum(1 for bt in raw_read(bootstrap, topic, p, kproto.READ_UNCOMMITTED)["batches"]
               if bt["control"] and bt["control_type"] is not None)
