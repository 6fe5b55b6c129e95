"""Compound failures under load: a partition leader and the controller die (one after the other, in either
order, or at the same moment) while two confluent-kafka producers send numbered records with acks=all, one
without idempotence and one with enable.idempotence=true (each on its own topic; both live through the same
faults). The idempotent one must also leave no duplicate and no fatal client error.

Setup, as in the issue that asked for it: three brokers, one topic with 3 partitions, replication factor 3,
min.insync.replicas=2, a producer (acks=all, request.timeout.ms=5000, message.timeout.ms=60000, no
idempotence) sending 1,000 numbered records/s round robin over the partitions. replica.lag.time.max.ms stays
at its 30 s default on purpose: a dead broker must leave the ISRs through the controller (at once when it
learns of the death, or at once when a new controller takes over and finds it absent from /brokers/ids), not
through the leaders' lag check.

The checker reads every partition back (kafka-python) and counts: acknowledged, failed deliveries (must be 0:
the message timeout is longer than any failover), lost acknowledged numbers (must be 0), duplicates (reported:
without idempotence a retried request whose first attempt was appended shows up twice) and the longest gap
between two consecutive acknowledgements.

make torture runs these scenarios ten times in a row. The pause is the figure the issue asks for, so these
three run alone (@exclusive), never beside another test. make check runs the compound one (both at once); the
two one-after-the-other orders, half a minute each of a machine to themselves, run in make torture only
(@torture_only; -k names them)."""

import time

from harness import check, eq, exclusive, timeout, torture_only, unique_topic, wait_until
from test_cluster import (SeqProducer, by_id, consume_all_kafka_python, create_topic_rf, wait_isr_full,
                          wait_unregistered, zk_controller, zk_state)

# Kafka 2.4's zookeeper.session.timeout.ms (6 s); everything else at its default.
FAILOVER_EXTRA = {"zookeeper.session.timeout.ms": "6000"}
PARTITIONS = 3

# Longest acceptable gap between acknowledgements. A dead broker is noticed when its ZooKeeper session
# expires: 6 s after its last heartbeat, rounded up to ZooKeeper's tick, then an election and the client's
# metadata refresh. One death at a time must stay within that; two at once leave a single live broker,
# below min.insync.replicas, until a victim is back, has caught up and is in the ISR again.
ONE_AT_A_TIME_PAUSE_MS = 10000
BOTH_AT_ONCE_PAUSE_MS = 15000



class PartitionTimedProducer(SeqProducer):
    """SeqProducer that also keeps each partition's acknowledgement times: a stall of one partition (its
    leader waiting on a dead follower still in the ISR) hides behind the others' acknowledgements in the
    producer-wide gap."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.part_ack_times = {}

    def _on_delivery(self, err, msg):
        if err is None:
            now = time.monotonic()
            with self.mu:
                self.part_ack_times.setdefault(msg.partition(), []).append(now)
        super()._on_delivery(err, msg)

    def worst_gap(self):
        """(partition, start, end) of the longest gap, in seconds after the scenario's t0: which fault it
        followed, for the failure message."""
        t0 = getattr(self, "t0", 0.0)
        best = None
        with self.mu:
            for p, ts in self.part_ack_times.items():
                ts = sorted(ts)
                for a, b in zip(ts, ts[1:]):
                    if best is None or b - a > best[2] - best[1]:
                        best = (p, a, b)
        return None if best is None else (best[0], round(best[1] - t0, 2), round(best[2] - t0, 2))

    def longest_partition_pause_ms(self):
        """{partition: longest gap between two acknowledgements of that partition}."""
        with self.mu:
            times = {p: sorted(ts) for p, ts in self.part_ack_times.items()}
        return {p: round(max((b - a for a, b in zip(ts, ts[1:])), default=0) * 1000) for p, ts in times.items()}


def leader_of(ctx, topic, p):
    return zk_state(ctx, topic, p)["leader"]


def wait_controller(ctx, alive_ids, t=40):
    """Waits until /controller names a broker among alive_ids; returns it."""
    def elected():
        try:
            c = zk_controller(ctx)
        except Exception:  # noqa: BLE001 - /controller absent between two controllers
            return None
        return [c] if c in alive_ids else None
    return wait_until(elected, t, f"a controller among {sorted(alive_ids)}", interval=0.1)[0]


def at(t0, seconds):
    """Sleeps until `seconds` after t0 (the scenario's clock)."""
    delay = t0 + seconds - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def _producer_figures(label, prod, got):
    """The checker's counts for one producer from what was read back ({partition: [(offset, value)]})."""
    counts = {}
    for recs in got.values():
        for _, v in recs:
            counts[int(v)] = counts.get(int(v), 0) + 1
    with prod.mu:
        acked = dict(prod.acked)
        errors = list(prod.errors)
    lost = sorted(set(acked) - set(counts))
    dups = sum(c - 1 for c in counts.values() if c > 1)
    unknown = sorted(n for n in counts if n >= prod.sent or n < 0)
    per_partition = prod.longest_partition_pause_ms()
    figures = {"sent": prod.sent, "acknowledged": len(acked), "failed": len(errors), "lost": len(lost),
               "duplicates": dups, "longest_pause_ms": max(per_partition.values(), default=0),
               "pause_ms_by_partition": per_partition, "worst_gap": prod.worst_gap()}
    print(f"FIGURES {label}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    check(not unknown, f"{label}: the log holds numbers that were never sent: {unknown[:10]}")
    check(not lost, f"{label}: {len(lost)} acknowledged numbers lost, e.g. {lost[:20]}")
    check(not errors, f"{label}: {len(errors)} deliveries failed, e.g. {errors[:5]}")
    eq(len(acked), prod.sent, f"{label}: acknowledged records")
    figures["fatal_client_errors"] = [e for f, e in prod.client_errors if f]
    return figures


def run_scenario(ctx, label, events):
    """Starts a cluster and two producers, each on its own topic: one without idempotence (librdkafka
    2.0.2's default) and one with enable.idempotence=true. Runs events(ctx, ids, topic, t0) (which kills and
    restarts brokers on the scenario's clock, choosing victims by the first topic's leaders, and returns when
    every broker it killed is running again), lets the producers run on, then checks the figures of each.
    Returns (plain figures, idempotent figures), each with its topic and the producer's fatal client
    errors. Both producers live through the same faults, so one run covers both kinds of producer."""
    brokers = ctx.start_cluster(3, extra=FAILOVER_EXTRA)
    ids = by_id(brokers)
    topic, idem_topic = unique_topic("fo"), unique_topic("fo-idem")
    for t in (topic, idem_topic):
        create_topic_rf(brokers, t, PARTITIONS, 3, configs={"min.insync.replicas": "2"})
        wait_isr_full(ctx, brokers, t, range(PARTITIONS))
    common = {"message.timeout.ms": 60000, "request.timeout.ms": 5000}
    prod = PartitionTimedProducer(brokers, topic, partitions=PARTITIONS, rate=1000, extra=common)
    idem = PartitionTimedProducer(brokers, idem_topic, partitions=PARTITIONS, rate=1000,
                                  extra={**common, "enable.idempotence": True})
    with prod, idem:
        prod.wait_acked(500, 30, "before any failure")
        idem.wait_acked(500, 30, "before any failure (idempotent producer)")
        t0 = time.monotonic()
        prod.t0 = idem.t0 = t0
        events(ctx, ids, topic, t0)
        for b in brokers:
            b.check_alive("after its restart")
        for t in (topic, idem_topic):
            wait_isr_full(ctx, brokers, t, range(PARTITIONS), timeout_s=60)
        prod.wait_more(2000, 40, "after every broker was back in the ISR")
        idem.wait_more(2000, 40, "after every broker was back in the ISR (idempotent producer)")
    for p, what in ((prod, label), (idem, f"{label}, idempotent")):
        eq(p.stop(flush_s=70), 0, f"{what}: records without a delivery report after flush")
    plain = _producer_figures(label, prod, consume_all_kafka_python(brokers, topic, range(PARTITIONS)))
    plain["topic"] = topic
    idem_figures = _producer_figures(f"{label}, idempotent", idem,
                                     consume_all_kafka_python(brokers, idem_topic, range(PARTITIONS)))
    idem_figures["topic"] = idem_topic
    return plain, idem_figures


def restart(ctx, b):
    wait_unregistered(ctx, b.broker_id)
    b.start()


def leader_then_controller(ctx, ids, topic, t0):
    """t=3 s: kill -9 the leader of partition 0. t=13 s: kill -9 the broker that is then controller and
    restart the first victim. The second victim stays down until t=25 s, so that a partition whose ISR
    still names it would stall visibly."""
    at(t0, 3)
    first = leader_of(ctx, topic, 0)
    print(f"t=3s kill -9 broker {first}, leader of {topic}-0 (controller {zk_controller(ctx)})")
    ids[first].kill9()
    at(t0, 13)
    ctrl = wait_controller(ctx, set(ids) - {first})
    print(f"t=13s kill -9 broker {ctrl}, the controller; restart broker {first}")
    ids[ctrl].kill9()
    restart(ctx, ids[first])
    at(t0, 25)
    print(f"t=25s restart broker {ctrl}")
    restart(ctx, ids[ctrl])


def controller_then_leader(ctx, ids, topic, t0):
    """The mirror: t=3 s kill -9 the controller; t=13 s kill -9 the leader of partition 0 (another broker by
    then) and restart the first victim; t=25 s restart the second."""
    at(t0, 3)
    first = zk_controller(ctx)
    print(f"t=3s kill -9 broker {first}, the controller (leader of {topic}-0: {leader_of(ctx, topic, 0)})")
    ids[first].kill9()
    at(t0, 13)
    wait_controller(ctx, set(ids) - {first})
    leader = wait_until(lambda: [x] if (x := leader_of(ctx, topic, 0)) not in (first, -1) else None, 30,
                        f"a leader of {topic}-0 other than broker {first}", interval=0.1)[0]
    print(f"t=13s kill -9 broker {leader}, leader of {topic}-0; restart broker {first}")
    ids[leader].kill9()
    restart(ctx, ids[first])
    at(t0, 25)
    print(f"t=25s restart broker {leader}")
    restart(ctx, ids[leader])


def leader_and_controller_at_once(ctx, ids, topic, t0):
    """t=3 s: kill -9 the controller and the leader of partition 0 at the same moment (when the controller
    leads partition 0, the leader of another partition, or any other broker); restart the leader as soon as
    its session is gone, the controller at t=25 s."""
    at(t0, 3)
    ctrl = zk_controller(ctx)
    other = next((x for x in (leader_of(ctx, topic, p) for p in range(PARTITIONS)) if x not in (ctrl, -1)),
                 None)
    if other is None:
        other = next(i for i in ids if i != ctrl)
    print(f"t=3s kill -9 brokers {ctrl} (controller) and {other} (a partition leader) at once")
    ids[ctrl].kill9()
    ids[other].kill9()
    restart(ctx, ids[other])
    at(t0, 25)
    print(f"t=25s restart broker {ctrl}")
    restart(ctx, ids[ctrl])


def scenario(ctx, label, events, pause_limit_ms):
    from test_idempotence import read_partition_raw
    plain, idem = run_scenario(ctx, label, events)
    for f, what in ((plain, label), (idem, f"{label}, idempotent")):
        check(f["longest_pause_ms"] <= pause_limit_ms,
              f"{what}: longest pause {f['longest_pause_ms']} ms > {pause_limit_ms} ms (worst gap, seconds after "
              f"the first fault: {f['worst_gap']})")
    check(not idem["fatal_client_errors"], f"{label}: fatal idempotent producer errors: "
                                           f"{idem['fatal_client_errors'][:5]}")
    eq(idem["duplicates"], 0, f"{label}: duplicated records with enable.idempotence=true")
    # The idempotent producer's records were written as such (every stored batch carries its producer id).
    brokers = by_id(ctx.brokers)
    for p in range(PARTITIONS):
        leader = brokers[zk_state(ctx, idem["topic"], p)["leader"]]
        bad = [h for h in read_partition_raw(leader, idem["topic"], p) if h["producer_id"] < 0]
        check(not bad, f"{label}: {len(bad)} batches of {idem['topic']}-{p} without a producer id, e.g. {bad[:1]}")


@torture_only
@exclusive
@timeout(180)
def test_failover_leader_then_controller(ctx):
    scenario(ctx, "leader then controller", leader_then_controller, ONE_AT_A_TIME_PAUSE_MS)


@torture_only
@exclusive
@timeout(180)
def test_failover_controller_then_leader(ctx):
    scenario(ctx, "controller then leader", controller_then_leader, ONE_AT_A_TIME_PAUSE_MS)


@exclusive
@timeout(180)
def test_failover_leader_and_controller_at_once(ctx):
    scenario(ctx, "leader and controller at once", leader_and_controller_at_once, BOTH_AT_ONCE_PAUSE_MS)


# ---------------------------------------------------------------- a broker that no controller has told anything yet
def metadata_v4(bootstrap, topics):
    """Metadata v4 with allow_auto_topic_creation=false: {name: (error, [partition])}."""
    import kproto
    body = kproto.array(topics, kproto.string) + kproto.i8(0)
    with kproto.connect(bootstrap, timeout=5) as c:
        r = c.request(kproto.API_METADATA, 4, body)
    r.i32()  # throttle
    r.array(lambda r: (r.i32(), r.string(), r.i32(), r.string()))
    r.string()  # cluster id
    r.i32()  # controller

    def part(r):
        err, p = r.i16(), r.i32()
        r.i32()
        r.array(lambda r: r.i32())
        r.array(lambda r: r.i32())
        r.array(lambda r: r.i32())
        return (err, p)

    out = {}
    for err, name, _, parts in r.array(lambda r: (r.i16(), r.string(), r.i8(), r.array(part))):
        out[name] = (err, parts)
    return out


@timeout(90)
def test_failover_metadata_before_any_controller(ctx):
    """A broker that starts while no controller is elected (the previous one died and its session has not
    expired yet) knows no topic. It must not call an existing topic unknown: librdkafka then drops the topic's
    partitions and fails what is queued for it. It answers LEADER_NOT_AVAILABLE (retriable), and a
    confluent-kafka producer's record sent in that window is delivered once a controller appears."""
    import json
    from test_confluent import ck
    zk = ctx.zk()
    zk.ensure_path("/brokers/topics")
    zk.create("/brokers/topics/waiting", json.dumps({"version": 1, "partitions": {"0": [0]}}).encode())
    # A controller that is not there: /controller names broker 99, which never sends anything.
    zk.create("/controller", json.dumps({"version": 1, "brokerid": 99, "timestamp": "0"}).encode(),
              ephemeral=True)
    b = ctx.broker(0, extra=FAILOVER_EXTRA)
    b.start(wait=False)

    def answers():
        b.check_alive("while no controller is elected")
        try:
            return metadata_v4(b.bootstrap, ["waiting", "never-created"])
        except OSError:
            return None
    md = wait_until(answers, 30, "broker 0 to answer Metadata")
    eq(md["waiting"][0], 5, "Metadata error for an existing topic before any UpdateMetadata (LEADER_NOT_AVAILABLE)")
    eq(md["never-created"][0], 5, "Metadata error for any topic before any UpdateMetadata (LEADER_NOT_AVAILABLE)")
    results = []
    p = ck().Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "message.timeout.ms": 30000,
                       "allow.auto.create.topics": False})
    p.produce("waiting", b"queued while no controller", on_delivery=lambda err, msg: results.append(err))
    p.poll(3)
    eq(results, [], "delivery reports while no controller is elected")
    zk.delete("/controller")
    p.flush(25)
    eq(results, [None], "delivery of the record queued while no controller was elected")
    eq(metadata_v4(b.bootstrap, ["never-created"])["never-created"][0], 3,
       "Metadata error for a missing topic once the broker has metadata (UNKNOWN_TOPIC_OR_PARTITION)")
