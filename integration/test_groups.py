"""Consumer groups end to end: the group coordinator, __consumer_offsets and the group APIs, with real clients.

- confluent-kafka (librdkafka) consumers run as separate processes (`python3 -c CONSUMER`), each printing its
  assignments, generation, consumed records and commits as JSON lines, so that one can be killed with -9 (a
  crash: no LeaveGroup) while the others keep running: failover within the session timeout, disjoint
  assignments over time, at-least-once delivery with commits after processing.
- kafka-python: a restarted consumer resumes exactly at its committed offsets (also across a broker restart).
- static membership (group.instance.id): a member restarted within the session timeout gets its old partitions
  back without a rebalance (the other member's generation and assignment stay the same); a new member does
  cause one (the control that shows the observation can fail).
- coordinator failover on three brokers with a replicated __consumer_offsets: committed offsets survive kill -9
  of the coordinator's broker.
- hand-built group requests (out of order, wrong generation, member id required, truncated) over raw sockets.
- kafkajs (npm; SKIP when it cannot be installed) consumes in a group and commits; librdkafka resumes there.

The generation a librdkafka consumer is in is read from its serialized consumer group metadata
(`consumer_group_metadata()`: "CGMDv2:", generation id as a native int32, then group id, member id and group
instance id as NUL-terminated strings)."""

import json
import os
import subprocess
import sys
import threading
import time

import kproto
from harness import (INTEGRATION, Failure, Skip, bootstrap_of, check, create_topic, eq, require_module, timeout,
                     unique_topic, wait_topic_ready, wait_until)
from test_confluent import ck, produce_all

NEEDS_NODE = True  # the runner installs kafkajs (npm) when node_modules is missing

# Brokers: no initial rebalance delay (these tests are not about it), a light offsets topic.
GROUP_EXTRA = {"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "4",
               "offsets.topic.replication.factor": "1"}

# Kafka error codes (clients/src/main/java/org/apache/kafka/common/protocol/Errors.java).
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
UNKNOWN_MEMBER_ID = 25
REBALANCE_IN_PROGRESS = 27
MEMBER_ID_REQUIRED = 79

API_JOIN_GROUP = 11
API_HEARTBEAT = 12
API_LEAVE_GROUP = 13
API_SYNC_GROUP = 14

# One group member as a process. argv[1] is JSON: the librdkafka config plus "topic" and "name".
# "process.ms" (not a librdkafka key) makes it sleep between printing a batch and committing it.
# Output, one JSON object per line, each with "t" (time.time()) and "ev":
#   subscribed | assign {parts, gen, member} | revoke {parts} | recs {recs: [[p, o, v]...]} |
#   committing {offs} | committed {offs} | commit_error {err} | gen {gen, member} (every 0.25 s) | error {err}
CONSUMER = r'''
import json, sys, time
import confluent_kafka as ck
cfg = json.loads(sys.argv[1])
topic = cfg.pop("topic")
process_s = cfg.pop("process.ms", 0) / 1000.0  # time "processing" a batch, between printing and committing
def out(**kw):
    kw["t"] = time.time()
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()
def cgmd(c):
    try:
        md = c.consumer_group_metadata()
        rest = md[11:].split(b"\0")
        return int.from_bytes(md[7:11], sys.byteorder, signed=True), rest[1].decode()
    except Exception as e:
        return None, repr(e)
def on_assign(c, parts):
    gen, member = cgmd(c)
    out(ev="assign", parts=sorted(p.partition for p in parts), gen=gen, member=member)
def on_revoke(c, parts):
    out(ev="revoke", parts=sorted(p.partition for p in parts))
c = ck.Consumer(cfg)
c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
out(ev="subscribed")
last = 0.0
while True:
    msgs = c.consume(500, 0.1)
    recs, offs = [], {}
    for m in msgs:
        if m.error():
            out(ev="error", err=str(m.error()))
            continue
        recs.append([m.partition(), m.offset(), m.value().decode()])
        offs[m.partition()] = m.offset() + 1
    if recs:
        out(ev="recs", recs=recs)  # processed: printed before the commit
        if process_s:
            time.sleep(process_s)
        out(ev="committing", offs=offs)
        try:
            c.commit(offsets=[ck.TopicPartition(topic, p, o) for p, o in offs.items()], asynchronous=False)
            out(ev="committed", offs=offs)
        except ck.KafkaException as e:
            out(ev="commit_error", err=str(e))
    if time.time() - last >= 0.25:
        last = time.time()
        gen, member = cgmd(c)
        out(ev="gen", gen=gen, member=member)
'''


class Member:
    """One consumer process running CONSUMER; a thread collects its JSON lines."""

    def __init__(self, ctx, name, bootstrap, topic, group, extra=None):
        self.name = name
        conf = {"bootstrap.servers": bootstrap, "group.id": group, "topic": topic,
                "auto.offset.reset": "earliest", "enable.auto.commit": False,
                "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000}
        conf.update(extra or {})
        self.err = open(ctx.dir / f"consumer-{name}.err", "ab")
        self.proc = ctx.popen([sys.executable, "-u", "-c", CONSUMER, json.dumps(conf)],
                              stdout=subprocess.PIPE, stderr=self.err)
        self.lock = threading.Lock()
        self.events = []
        self.killed_at = None
        self.log = open(ctx.dir / f"consumer-{name}.jsonl", "a")
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("ev") != "gen":
                self.log.write(line.decode())
                self.log.flush()
            with self.lock:
                self.events.append(ev)

    def evs(self, kind=None):
        with self.lock:
            return [e for e in self.events if kind is None or e["ev"] == kind]

    def assignment(self):
        """The current assignment (eager protocol: a revoke drops everything, an assign sets it); None when
        the process is dead."""
        if self.killed_at is not None:
            return None
        cur = set()
        for e in self.evs():
            if e["ev"] == "assign":
                cur = set(e["parts"])
            elif e["ev"] == "revoke":
                cur = set()
        return cur

    def last_gen(self):
        g = self.evs("gen")
        return g[-1] if g else None

    def check_alive(self):
        if self.killed_at is None and self.proc.poll() is not None:
            self.err.flush()
            with open(self.err.name, errors="replace") as f:
                raise Failure(f"consumer {self.name} exited with {self.proc.returncode}: {f.read()[-800:]}")

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.killed_at = time.time()


def coverage(members, partitions):
    """True when the live members' assignments are disjoint, every one non-empty, and together are exactly
    `partitions`."""
    seen = []
    for m in members:
        m.check_alive()
        a = m.assignment()
        if not a:
            return False
        seen.extend(a)
    return sorted(seen) == sorted(partitions)


def check_no_overlap(members):
    """Replays every member's assign/revoke (and kill) in time order: no partition may be owned by two members
    at once. With the eager protocol a member revokes before it rejoins, and a new assignment is handed out only
    after every member rejoined, so the revoke always precedes the other member's assign."""
    timeline = []
    for m in members:
        for e in m.evs():
            if e["ev"] in ("assign", "revoke"):
                timeline.append((e["t"], m.name, e["ev"], e["parts"]))
        if m.killed_at is not None:
            timeline.append((m.killed_at, m.name, "killed", []))
    timeline.sort(key=lambda x: x[0])
    owner = {}
    for t, name, ev, parts in timeline:
        for p in [p for p, o in owner.items() if o == name]:
            del owner[p]
        if ev == "assign":
            for p in parts:
                check(p not in owner, f"partition {p} assigned to {name} at {t:.3f} while {owner.get(p)} still "
                                      f"owned it (timeline: {timeline})")
                owner[p] = name


def find_coordinator(conn, key):
    """FindCoordinator v1 (group). Returns (error, node_id, host, port)."""
    r = conn.request(kproto.API_FIND_COORDINATOR, 1, kproto.string(key) + kproto.i8(0))
    r.i32()  # throttle
    err = r.i16()
    r.string()  # error message
    return err, r.i32(), r.string(), r.i32()


def wait_coordinator(bootstrap, group, t=30, not_node=None):
    """Polls FindCoordinator until it names a coordinator (other than not_node); returns (node, host, port)."""
    def found():
        for addr in bootstrap.split(","):  # the first broker that answers
            try:
                with kproto.connect(addr, timeout=5) as c:
                    err, node, host, port = find_coordinator(c, group)
            except (OSError, kproto.ProtocolError):
                continue
            return (node, host, port) if err == 0 and node != not_node else None
        return None
    return wait_until(found, t, f"FindCoordinator({group}) to succeed via {bootstrap}", interval=0.2)


def java_hash(s):
    h = 0
    for ch in s.encode("utf-16-be").decode("utf-16-be"):
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def offsets_partition_for(group, n):
    """Kafka's Utils.abs(groupId.hashCode) % offsets.topic.num.partitions (abs maps MIN_VALUE to 0)."""
    h = java_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % n


# ---------------------------------------------------------------- 1. three members, one killed
@timeout(150)
def test_groups_three_members_kill9(ctx):
    k = ck()
    b = ctx.start_broker(0, extra=GROUP_EXTRA)
    topic = unique_topic("grp3")
    create_topic(b.bootstrap, topic, partitions=6)
    group = unique_topic("g3")
    parts = list(range(6))

    # The victim (c1) spends 300 ms "processing" each batch before committing it, so that the kill most likely
    # finds records it printed but did not commit: the survivors must read those again.
    members = [Member(ctx, f"c{i}", b.bootstrap, topic, group, extra={"process.ms": 300 if i == 1 else 0})
               for i in range(3)]
    wait_until(lambda: coverage(members, parts), 60, "three members to own 6 disjoint partitions between them",
               interval=0.1)
    print("initial assignments:", {m.name: sorted(m.assignment()) for m in members})

    # Produce a numbered sequence at a steady rate, kill one member in the middle of it.
    p = k.Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 2})
    acked = {}
    errors = []

    def cb(err, msg):
        if err is None:
            acked[msg.value().decode()] = (msg.partition(), msg.offset())
        else:
            errors.append(str(err))

    total = 1200
    t0 = time.monotonic()
    victim = members[1]
    survivors = [members[0], members[2]]
    for i in range(total):
        p.produce(topic, value=str(i).encode(), partition=i % 6, on_delivery=cb)
        p.poll(0)
        # ~200 records/s; the kill comes at record 400 (about 2 s in), while every member is consuming.
        while time.monotonic() < t0 + i / 200:
            p.poll(0.002)
        if i == 400:
            check(victim.evs("committed"), "the victim committed nothing before the kill")
            victim_parts = sorted(victim.assignment())
            check(victim_parts, "the victim owned no partition")
            victim.kill9()
            print(f"killed {victim.name} (owning {victim_parts}) at record {i}")
    eq(p.flush(30), 0, "records left in the producer queue")
    check(not errors, f"delivery errors: {errors[:3]}")
    eq(len(acked), total, "acknowledged records")

    wait_until(lambda: coverage(survivors, parts), 30, "the two survivors to own all 6 partitions", interval=0.1)
    # The time of the assignment that completed the takeover, from the members' own clocks.
    takeover = max(e["t"] for m in survivors for e in m.evs("assign"))
    pause = takeover - victim.killed_at
    print(f"takeover after kill -9: {pause:.2f} s (session.timeout.ms 6000, heartbeat.interval.ms 1000); "
          f"survivor assignments {[sorted(m.assignment()) for m in survivors]}")
    check(pause <= 6.0 + 6.0, f"survivors owned all partitions only {pause:.2f} s after the kill "
                              f"(session.timeout.ms is 6 s)")
    check_no_overlap(members)

    # At least once: every record processed by someone. For the partitions the victim owned when it died, its
    # records count only below the offset the survivor resumed at, and that offset must be what the victim
    # committed last (or the commit it had in flight): nothing committed is lost and nothing skipped.
    def resume_offsets():
        """partition -> the first offset a survivor read on it after the kill (one owner at a time)."""
        firsts = []
        for m in survivors:
            for e in m.evs("recs"):
                if e["t"] >= victim.killed_at:
                    firsts.extend((e["t"], part, off) for part, off, _ in e["recs"] if part in victim_parts)
        out = {}
        for _, part, off in sorted(firsts):
            out.setdefault(part, off)
        return out

    def consumed():
        seen = {v for m in survivors for e in m.evs("recs") for _, _, v in e["recs"]}
        res = resume_offsets()
        for e in victim.evs("recs"):
            for part, off, v in e["recs"]:
                if part not in victim_parts or (part in res and off < res[part]):
                    seen.add(v)
        return seen

    def all_seen():
        for m in survivors:
            m.check_alive()
        return set(acked) <= consumed()

    try:
        wait_until(all_seen, 60, "every produced record to be consumed by some member", interval=0.2)
    except Failure:
        missing = sorted(set(acked) - consumed(), key=int)
        raise Failure(f"{len(missing)} records never consumed (skipped), e.g. "
                      f"{[(v, acked[v]) for v in missing[:20]]}; resume offsets {resume_offsets()}")
    committed, intent = {}, {}
    for e in victim.evs():
        if e["ev"] == "committed":
            for part, off in e["offs"].items():
                committed[int(part)] = off
        elif e["ev"] == "committing":
            for part, off in e["offs"].items():
                intent[int(part)] = off
    res = resume_offsets()
    for part in victim_parts:
        if part not in committed:
            continue
        check(part in res, f"no survivor read partition {part} after the kill")
        check(res[part] in (committed[part], intent.get(part)),
              f"partition {part}: a survivor resumed at offset {res[part]}, but the victim's last acknowledged "
              f"commit was {committed[part]} (in flight: {intent.get(part)})")
    dups = sum(len(e["recs"]) for m in members for e in m.evs("recs")) - total
    print(f"resume offsets {res}, victim's last commits {committed}; {dups} records delivered twice")


# ---------------------------------------------------------------- 2. kafka-python resumes at its commit
@timeout(120)
def test_groups_kafka_python_resume(ctx):
    require_module("kafka", "python3-kafka")
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    b = ctx.start_broker(0, extra=GROUP_EXTRA)
    topic = unique_topic("kpy")
    create_topic(b.bootstrap, topic, partitions=2)
    produce_all(b.bootstrap, topic, [(i % 2, None, f"a{i}".encode()) for i in range(200)])
    group = unique_topic("gk")
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]

    def consumer():
        return KafkaConsumer(bootstrap_servers=b.bootstrap, group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=1000,
                             request_timeout_ms=30000, max_poll_records=15)

    # First run: process records in small batches, commit after each, stop past 120 (uncommitted tail after).
    c1 = consumer()
    c1.subscribe([topic])
    done = {0: [], 1: []}
    committed = {0: 0, 1: 0}
    deadline = time.monotonic() + 60
    while sum(len(v) for v in done.values()) < 120:
        check(time.monotonic() < deadline, f"first consumer read only {done} in 60 s")
        batch = c1.poll(timeout_ms=500)
        offs = {}
        for tp, msgs in batch.items():
            for m in msgs:
                done[tp.partition].append(m.offset)
                offs[tp] = OffsetAndMetadata(m.offset + 1, "")
        if offs:
            c1.commit(offs)
            for tp, om in offs.items():
                committed[tp.partition] = om.offset
    # One more batch, processed but never committed: the next run must read these again.
    uncommitted = {}
    deadline = time.monotonic() + 20
    while not uncommitted and time.monotonic() < deadline:
        for tp, msgs in c1.poll(timeout_ms=500).items():
            uncommitted[tp.partition] = [m.offset for m in msgs]
    check(uncommitted, "no records beyond the committed ones")
    c1.close(autocommit=False)
    print(f"first run committed {committed}; read but did not commit {uncommitted}")
    for part in (0, 1):
        eq(done[part], list(range(committed[part])), f"first run's committed offsets of partition {part}")

    # Second run: the committed offsets are visible, and reading resumes exactly there, up to the end.
    c2 = consumer()
    eq({tp.partition: c2.committed(tp) for tp in tps}, committed, "committed offsets seen by the second run")
    c2.subscribe([topic])
    got = {0: [], 1: []}
    deadline = time.monotonic() + 60
    while len(got[0]) + len(got[1]) < 200 - committed[0] - committed[1]:
        check(time.monotonic() < deadline, f"second run read {[len(v) for v in got.values()]} in 60 s")
        for tp, msgs in c2.poll(timeout_ms=500).items():
            got[tp.partition].extend(m.offset for m in msgs)
    for part in (0, 1):
        eq(got[part], list(range(committed[part], 100)), f"second run's offsets of partition {part}")
        for o in uncommitted.get(part, []):
            check(o in got[part], f"uncommitted record {part}/{o} was not read again")
    c2.commit({tp: OffsetAndMetadata(100, "end") for tp in tps})
    c2.close(autocommit=False)

    # The commits are in __consumer_offsets: a broker restart keeps them.
    b.stop()
    b.start()
    wait_topic_ready(b.bootstrap, topic, 2)
    produce_all(b.bootstrap, topic, [(i % 2, None, f"b{i}".encode()) for i in range(10)])
    c3 = consumer()
    try:
        wait_until(lambda: {tp.partition: c3.committed(tp) for tp in tps} == {0: 100, 1: 100}, 30,
                   "committed offsets 100/100 after the broker restart")
        c3.subscribe([topic])
        got = {0: [], 1: []}
        deadline = time.monotonic() + 40
        while len(got[0]) + len(got[1]) < 10:
            check(time.monotonic() < deadline, f"third run read {got} in 40 s")
            for tp, msgs in c3.poll(timeout_ms=500).items():
                got[tp.partition].extend(m.offset for m in msgs)
        eq(got, {0: list(range(100, 105)), 1: list(range(100, 105))}, "third run's offsets after broker restart")
    finally:
        c3.close(autocommit=False)


# ---------------------------------------------------------------- 3. static membership
@timeout(120)
def test_groups_static_member_restart(ctx):
    ck()
    b = ctx.start_broker(0, extra=GROUP_EXTRA)
    topic = unique_topic("static")
    create_topic(b.bootstrap, topic, partitions=6)
    group = unique_topic("gs")
    parts = list(range(6))
    session_ms = 10000
    conf = {"session.timeout.ms": session_ms, "heartbeat.interval.ms": 500}

    # a first, so that it is the leader: the member restarted below is a follower.
    a = Member(ctx, "a", b.bootstrap, topic, group, extra=dict(conf, **{"group.instance.id": "inst-a"}))
    wait_until(lambda: a.assignment(), 30, "the first static member to get an assignment", interval=0.05)
    b1 = Member(ctx, "b", b.bootstrap, topic, group, extra=dict(conf, **{"group.instance.id": "inst-b"}))

    def stable(ms):
        """Every member assigned (disjoint, covering) in one generation, and reporting that generation."""
        if not coverage(ms, parts):
            return False
        gens = set()
        for m in ms:
            if m.last_gen() is None:
                return False
            gens.update((m.evs("assign")[-1]["gen"], m.last_gen()["gen"]))
        return len(gens) == 1
    wait_until(lambda: stable([a, b1]), 60, "two static members to share 6 partitions in one generation",
               interval=0.1)
    gen = a.evs("assign")[-1]["gen"]
    a_parts = sorted(a.assignment())
    b_parts = sorted(b1.assignment())
    b_member = b1.evs("assign")[-1]["member"]
    a_events = len(a.evs("assign")) + len(a.evs("revoke"))
    print(f"generation {gen}: a {a_parts}, b {b_parts} (member {b_member})")

    # Crash b and start it again with the same group.instance.id, well within the session timeout.
    b1.kill9()
    b2 = Member(ctx, "b-restarted", b.bootstrap, topic, group, extra=dict(conf, **{"group.instance.id": "inst-b"}))
    wait_until(lambda: b2.assignment(), 30, "the restarted static member to get an assignment", interval=0.05)
    back = b2.evs("assign")[-1]
    took = back["t"] - b1.killed_at
    print(f"restarted static member assigned {back['parts']} in generation {back['gen']} after {took:.2f} s, "
          f"member id {back['member']}")
    check(took < session_ms / 1000, f"the restarted member waited {took:.2f} s, more than the session timeout")
    eq(back["parts"], b_parts, "partitions of the restarted static member")
    eq(back["gen"], gen, "generation the restarted static member joined")
    check(back["member"] != b_member, f"the restarted member kept the old member id {b_member}")

    # Both members work, and a watches for a while (heartbeats every 0.5 s would carry a rebalance to it).
    produce_all(b.bootstrap, topic, [(i % 6, None, f"s{i}".encode()) for i in range(60)])

    def consumed():
        return {v for m in (a, b2) for e in m.evs("recs") for _, _, v in e["recs"]}
    wait_until(lambda: len(consumed()) == 60, 30, "a and the restarted b to consume 60 records", interval=0.1)
    watch_from = time.time()
    wait_until(lambda: a.last_gen() and a.last_gen()["t"] > watch_from + 3.0, 20,
               "a to report its generation 3 s later", interval=0.1)
    eq(len(a.evs("assign")) + len(a.evs("revoke")), a_events, "a's assign/revoke callbacks since the restart "
                                                              "(a rebalance happened)")
    eq(sorted(a.assignment()), a_parts, "a's partitions")
    eq(a.last_gen()["gen"], gen, "a's generation after the static member's restart")

    # Control: a member with another instance id does cause a rebalance, and a sees it.
    c = Member(ctx, "c", b.bootstrap, topic, group, extra=dict(conf, **{"group.instance.id": "inst-c"}))
    wait_until(lambda: a.last_gen() and a.last_gen()["gen"] > gen and c.assignment() is not None and
               stable([a, b2, c]), 40, "a new static member to trigger a rebalance seen by a", interval=0.1)
    print(f"control: new member joined, generation {a.last_gen()['gen']}, "
          f"assignments {[sorted(m.assignment()) for m in (a, b2, c)]}")


# ---------------------------------------------------------------- 4. coordinator failover
@timeout(150)
def test_groups_coordinator_failover(ctx):
    from test_cluster import CLUSTER_EXTRA, create_topic_rf, wait_isr_full, wait_unregistered, zk_state
    k = ck()
    extra = dict(CLUSTER_EXTRA, **GROUP_EXTRA)
    extra["offsets.topic.replication.factor"] = "3"
    brokers = ctx.start_cluster(3, extra=extra)
    boot = bootstrap_of(brokers)
    topic = unique_topic("fo")
    create_topic_rf(brokers, topic, 2, 3)
    wait_isr_full(ctx, brokers, topic, [0, 1])
    produce_all(boot, topic, [(i % 2, None, f"f{i}".encode()) for i in range(100)])
    # A group whose Java hashCode is not negative: test_groups_offsets_partition_like_kafka covers the others.
    group = unique_topic("gfo")
    while java_hash(group) < 0:
        group = unique_topic("gfo")

    node, _, _ = wait_coordinator(boot, group)  # creates __consumer_offsets (RF 3, 4 partitions)
    wait_isr_full(ctx, brokers, "__consumer_offsets", range(4))
    node, host, port = wait_coordinator(boot, group)
    part = offsets_partition_for(group, 4)
    leader = zk_state(ctx, "__consumer_offsets", part)["leader"]
    print(f"group {group}: __consumer_offsets-{part}, coordinator {node} ({host}:{port}), leader {leader}")
    eq(node, leader, f"coordinator of {group} (leader of __consumer_offsets-{part})")
    for b in brokers:  # every broker names the same coordinator
        eq(wait_coordinator(b.bootstrap, group)[0], node, f"coordinator according to broker {b.broker_id}")

    c = k.Consumer({"bootstrap.servers": boot, "group.id": group, "enable.auto.commit": False,
                    "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    c.subscribe([topic])
    n = 0
    deadline = time.monotonic() + 40
    while n < 100:
        check(time.monotonic() < deadline, f"consumed {n} of 100 before the commit")
        for m in c.consume(100, 0.5):
            if not m.error():
                n += 1
    want = {0: 30, 1: 17}
    c.commit(offsets=[k.TopicPartition(topic, p, o) for p, o in want.items()], asynchronous=False)
    got = c.committed([k.TopicPartition(topic, p) for p in want], timeout=10)
    eq({tp.partition: tp.offset for tp in got}, want, "committed offsets before the failover")
    c.close()

    coord = next(b for b in brokers if b.broker_id == node)
    rest = [b for b in brokers if b is not coord]
    t_kill = time.monotonic()
    coord.kill9()
    wait_unregistered(ctx, node)
    new_node, _, _ = wait_coordinator(bootstrap_of(rest), group, t=40, not_node=node)
    check(new_node in [b.broker_id for b in rest], f"new coordinator {new_node} is not a surviving broker")
    c2 = k.Consumer({"bootstrap.servers": bootstrap_of(rest), "group.id": group, "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    try:
        def committed():
            r = c2.committed([k.TopicPartition(topic, p) for p in want], timeout=5)
            return {tp.partition: tp.offset for tp in r} == want
        wait_until(committed, 40, f"the new coordinator to return the committed offsets {want}", interval=0.2)
        print(f"new coordinator {new_node} served the committed offsets {time.monotonic() - t_kill:.1f} s after "
              f"kill -9 of {node}")
        c2.subscribe([topic])
        first = {}
        deadline = time.monotonic() + 40
        while len(first) < 2:
            check(time.monotonic() < deadline, f"after the failover the new member read only {first}")
            for m in c2.consume(100, 0.5):
                if not m.error():
                    first.setdefault(m.partition(), m.offset())
        eq(first, want, "first offsets read after the coordinator failover")
    finally:
        c2.close()


# ---------------------------------------------------------------- 4b. which __consumer_offsets partition
@timeout(60)
def test_groups_offsets_partition_like_kafka(ctx):
    """A group's offsets go to __consumer_offsets-(Utils.abs(groupId.hashCode()) % partitions), as in Kafka (a
    migrated offsets topic and every tool that computes partitionFor rely on it). Groups with odd negative hash
    codes are the ones where `hash & 0x7fffffff` would pick another partition."""
    k = ck()
    b = ctx.start_broker(0, extra=GROUP_EXTRA)
    topic = unique_topic("ocp")
    create_topic(b.bootstrap, topic, partitions=1)
    groups = []
    while len(groups) < 6:
        g = unique_topic("gp")
        h = java_hash(g)
        # Four with odd negative hash codes, then two with non-negative ones.
        if (h < 0 and h % 2 == 1) if len(groups) < 4 else h >= 0:
            groups.append(g)
    wait_coordinator(b.bootstrap, groups[0])  # creates __consumer_offsets
    wait_topic_ready(b.bootstrap, "__consumer_offsets", 4)

    def ends():
        with kproto.connect(b.bootstrap) as c:
            return [kproto.list_offsets_v1(c, "__consumer_offsets", p, -1)[1] for p in range(4)]

    wrong = []
    for g in groups:
        wait_coordinator(b.bootstrap, g)
        before = ends()
        c = k.Consumer({"bootstrap.servers": b.bootstrap, "group.id": g, "enable.auto.commit": False})
        try:
            c.commit(offsets=[k.TopicPartition(topic, 0, 7)], asynchronous=False)
        finally:
            c.close()
        after = ends()
        grew = [p for p in range(4) if after[p] > before[p]]
        h = java_hash(g)
        kafka_p = offsets_partition_for(g, 4)
        if grew != [kafka_p]:
            wrong.append(f"{g} (hashCode {h}): written to {grew}, Kafka uses {kafka_p}")
    check(not wrong, "offset commits in the wrong __consumer_offsets partition: " + "; ".join(wrong))


# ---------------------------------------------------------------- 5. raw group requests
def consumer_meta(topic):
    """ConsumerProtocolSubscription v0: version, topics, user data."""
    return kproto.i16(0) + kproto.array([topic], kproto.string) + kproto.kbytes(b"")


def join_group_v4(conn, group, member_id, meta, protocol_type="consumer", session_ms=10000, rebalance_ms=10000):
    body = (kproto.string(group) + kproto.i32(session_ms) + kproto.i32(rebalance_ms) + kproto.string(member_id) +
            kproto.string(protocol_type) +
            kproto.array([("range", meta)], lambda p: kproto.string(p[0]) + kproto.kbytes(p[1])))
    r = conn.request(API_JOIN_GROUP, 4, body)
    r.i32()
    d = {"error": r.i16(), "generation": r.i32(), "protocol": r.string(), "leader": r.string(),
         "member_id": r.string()}
    d["members"] = r.array(lambda r: (r.string(), r.bytes()))
    return d


def sync_group_v1(conn, group, generation, member_id, assignments):
    body = (kproto.string(group) + kproto.i32(generation) + kproto.string(member_id) +
            kproto.array(assignments, lambda a: kproto.string(a[0]) + kproto.kbytes(a[1])))
    r = conn.request(API_SYNC_GROUP, 1, body)
    r.i32()
    return r.i16(), r.bytes()


def heartbeat_v1(conn, group, generation, member_id):
    r = conn.request(API_HEARTBEAT, 1, kproto.string(group) + kproto.i32(generation) + kproto.string(member_id))
    r.i32()
    return r.i16()


def leave_group_v1(conn, group, member_id):
    r = conn.request(API_LEAVE_GROUP, 1, kproto.string(group) + kproto.string(member_id))
    r.i32()
    return r.i16()


def send_expect_close_or_error(bootstrap, api_key, version, body, what):
    """Sends one request with a bad body: the broker must close the connection or answer with an error."""
    with kproto.connect(bootstrap, timeout=10) as c:
        c.send_raw(kproto.frame(kproto.request_header(api_key, version, 77) + body))
        c.sock.settimeout(8)
        try:
            resp = c.recv_frame()
        except OSError as e:
            if "timed out" in str(e):
                raise Failure(f"{what}: no answer and the connection stayed open for 8 s")
            return "closed"
        if resp is None:
            return "closed"
        r = kproto.Reader(resp)
        eq(r.i32(), 77, f"{what}: correlation id")
        r.i32()  # throttle (JoinGroup v4)
        err = r.i16()
        check(err != 0, f"{what}: answered with error 0")
        return f"error {err}"


@timeout(90)
def test_groups_raw_protocol_errors(ctx):
    k = ck()
    b = ctx.start_broker(0, extra=GROUP_EXTRA)
    topic = unique_topic("raw")
    create_topic(b.bootstrap, topic, partitions=2)
    produce_all(b.bootstrap, topic, [(i % 2, None, f"r{i}".encode()) for i in range(20)])
    group = unique_topic("graw")
    node, _, _ = wait_coordinator(b.bootstrap, group)
    eq(node, 0, "coordinator")
    meta = consumer_meta(topic)

    with kproto.connect(b.bootstrap) as c:
        # Out of order: nobody joined yet.
        eq(sync_group_v1(c, group, 1, "nobody", [])[0], UNKNOWN_MEMBER_ID, "SyncGroup before any JoinGroup")
        eq(heartbeat_v1(c, group, 1, "nobody"), UNKNOWN_MEMBER_ID, "Heartbeat before any JoinGroup")

        # JoinGroup v4 with an empty member id: MEMBER_ID_REQUIRED with the id to use, then success with it.
        j = join_group_v4(c, group, "", meta)
        eq(j["error"], MEMBER_ID_REQUIRED, "JoinGroup v4 with an empty member id")
        mid = j["member_id"]
        check(mid, "MEMBER_ID_REQUIRED came without a member id")
        j = join_group_v4(c, group, mid, meta)
        eq(j["error"], 0, "JoinGroup with the assigned member id")
        eq(j["member_id"], mid, "member id in the JoinGroup response")
        eq(j["leader"], mid, "leader of a one-member group")
        eq(j["protocol"], "range", "chosen protocol")
        eq(j["members"], [(mid, meta)], "members (with metadata) sent to the leader")
        gen = j["generation"]
        check(gen >= 1, f"generation {gen}")

        # SyncGroup with a wrong generation, then the right one.
        eq(sync_group_v1(c, group, gen + 1, mid, [(mid, b"x")])[0], ILLEGAL_GENERATION, "SyncGroup, wrong generation")
        assignment = kproto.i16(0) + kproto.array([(topic, [0, 1])], lambda t: kproto.string(t[0]) + kproto.array(
            t[1], kproto.i32)) + kproto.kbytes(b"")
        eq(sync_group_v1(c, group, gen, mid, [(mid, assignment)]), (0, assignment), "SyncGroup from the leader")

        eq(heartbeat_v1(c, group, gen, mid), 0, "Heartbeat, right generation")
        eq(heartbeat_v1(c, group, gen + 5, mid), ILLEGAL_GENERATION, "Heartbeat, wrong generation")
        eq(heartbeat_v1(c, group, gen - 1, mid), ILLEGAL_GENERATION, "Heartbeat, old generation")
        eq(heartbeat_v1(c, group, gen, "stranger"), UNKNOWN_MEMBER_ID, "Heartbeat, unknown member")
        eq(heartbeat_v1(c, group, gen, mid), 0, "Heartbeat after the errors")

        # Another protocol type on a group of consumers.
        j2 = join_group_v4(c, group, "", meta, protocol_type="connect")
        eq(j2["error"], INCONSISTENT_GROUP_PROTOCOL, "JoinGroup with protocol type 'connect' into a consumer group")

    # Broken bodies: truncated after the session timeout, and an absurd protocol count.
    outcomes = []
    outcomes.append(send_expect_close_or_error(
        b.bootstrap, API_JOIN_GROUP, 4, kproto.string(group) + kproto.i32(10000), "truncated JoinGroup"))
    outcomes.append(send_expect_close_or_error(
        b.bootstrap, API_JOIN_GROUP, 4,
        kproto.string(group) + kproto.i32(10000) + kproto.i32(10000) + kproto.string("") +
        kproto.string("consumer") + kproto.i32(0x7FFFFFFF), "JoinGroup with 2^31-1 protocols"))
    outcomes.append(send_expect_close_or_error(
        b.bootstrap, API_SYNC_GROUP, 1, kproto.string(group) + kproto.i32(1) + kproto.i16(30000) + b"ab",
        "SyncGroup with a member id longer than the frame"))
    print("broken requests:", outcomes)
    b.check_alive("after malformed group requests")
    with kproto.connect(b.bootstrap) as c:
        eq(kproto.api_versions_v0(c)[0], 0, "ApiVersions after the malformed requests")
        eq(heartbeat_v1(c, group, gen, mid), 0, "the raw member's Heartbeat after the malformed requests")
        eq(leave_group_v1(c, group, mid), 0, "LeaveGroup of the raw member")
        eq(heartbeat_v1(c, group, gen, mid), UNKNOWN_MEMBER_ID, "Heartbeat after LeaveGroup")

    # The group still works for a real client.
    cons = k.Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                       "enable.auto.commit": False, "session.timeout.ms": 6000})
    try:
        cons.subscribe([topic])
        got = set()
        deadline = time.monotonic() + 40
        while len(got) < 20:
            check(time.monotonic() < deadline, f"a real consumer in {group} read {len(got)} of 20 records")
            for m in cons.consume(100, 0.5):
                if not m.error():
                    got.add(m.value())
        cons.commit(asynchronous=False)
        r = cons.committed([k.TopicPartition(topic, 0), k.TopicPartition(topic, 1)], timeout=10)
        eq(sorted(tp.offset for tp in r), [10, 10], "offsets committed by the real consumer")
    finally:
        cons.close()


# ---------------------------------------------------------------- 6. kafkajs in a group, offsets shared
KAFKAJS_GROUP = r'''
const { Kafka, logLevel } = require('kafkajs');
const [bootstrap, topic, group, n] = process.argv.slice(1);
(async () => {
  const kafka = new Kafka({ clientId: 'gregor-it', brokers: [bootstrap], logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = [];
  let finish;
  const done = new Promise((r) => { finish = r; });
  const timer = setTimeout(() => {
    console.log(JSON.stringify({ error: 'timeout', seen })); process.exit(2);
  }, 40000);
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.push([partition, Number(message.offset), message.value.toString()]);
      if (seen.length >= Number(n)) finish();
    },
  });
  await done;
  clearTimeout(timer);
  await consumer.disconnect();  // stops the runner (the finished batch's offsets are committed), LeaveGroup
  console.log(JSON.stringify({ seen }));
})().catch((e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
'''


@timeout(90)
def test_groups_kafkajs_commits_resumed_by_librdkafka(ctx):
    reason = os.environ.get("GREGOR_IT_NODE_UNAVAILABLE")
    if reason or not (INTEGRATION / "node_modules" / "kafkajs").exists():
        raise Skip(f"kafkajs not installable: {reason or 'integration/node_modules missing'}")
    k = ck()
    b = ctx.start_broker(0, extra=GROUP_EXTRA)
    topic = unique_topic("kjsg")
    create_topic(b.bootstrap, topic, partitions=3)
    produce_all(b.bootstrap, topic, [(i % 3, None, f"j{i}".encode()) for i in range(60)])
    group = unique_topic("gjs")
    _, out, _ = ctx.run(["node", "-e", KAFKAJS_GROUP, b.bootstrap, topic, group, "60"], timeout=60, check_rc=0,
                        cwd=INTEGRATION)
    res = json.loads(out.strip().splitlines()[-1])
    eq(sorted(v for _, _, v in res["seen"]), sorted(f"j{i}" for i in range(60)), "values consumed by kafkajs")

    # librdkafka in the same group sees kafkajs's commits and continues after them.
    produce_all(b.bootstrap, topic, [(i % 3, None, f"k{i}".encode()) for i in range(6)])
    c = k.Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                    "enable.auto.commit": False, "session.timeout.ms": 6000})
    try:
        r = c.committed([k.TopicPartition(topic, p) for p in range(3)], timeout=10)
        eq(sorted((tp.partition, tp.offset) for tp in r), [(0, 20), (1, 20), (2, 20)],
           "offsets committed by kafkajs, read by librdkafka")
        c.subscribe([topic])
        got = []
        deadline = time.monotonic() + 30
        while len(got) < 6:
            check(time.monotonic() < deadline, f"librdkafka read {got} after kafkajs's commits")
            got.extend((m.partition(), m.offset(), m.value().decode()) for m in c.consume(100, 0.5)
                       if not m.error())
        eq(sorted(got), sorted((i % 3, 20 + i // 3, f"k{i}") for i in range(6)),
           "records read after kafkajs's commits (partition, offset, value)")
    finally:
        c.close()
