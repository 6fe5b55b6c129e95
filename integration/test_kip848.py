"""The KIP-848 consumer group protocol (ConsumerGroupHeartbeat, ConsumerGroupDescribe) on one gregord.

- The protocol by hand (kproto): two members reconciling without a stop-the-world rebalance: the newcomer gets
  nothing while the partitions it is due are still owned, the old member is asked to revoke them first, and only
  after it reported them gone does the newcomer get them; epochs, fencing, and the errors of bad requests.
- @platformatic/kafka consumers with groupProtocol "consumer" under member churn (joins and leaves while a
  producer writes), with a checker: no partition owned by two members at once (sampled every 20 ms in the one
  process that runs them all), every partition owned once the group settled, nothing produced left unread, and
  the group's committed offsets never going backwards (polled by librdkafka every 100 ms).
- The group persisted in __consumer_offsets (inter.broker.protocol.version >= 3.5): three brokers, two
  @platformatic/kafka members, kill -9 of the group's coordinator; the next coordinator loads the group with its
  members, who carry on under the same ids and epochs (no rejoin), with nothing lost and no partition owned
  twice."""

import json
import os
import re
import threading
import time
from pathlib import Path

import kproto
from harness import (INTEGRATION, Skip, bootstrap_of, check, create_topic, eq, timeout, unique_topic,
                     wait_topic_ready, wait_until)
from test_confluent import ck

NEEDS_NODE = True

PACKAGE = "@platformatic/kafka"
# Fast heartbeats and short sessions, so a test sees several rounds in seconds.
EXTRA = {"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "4",
         "offsets.topic.replication.factor": "1",
         "group.consumer.min.heartbeat.interval.ms": "100", "group.consumer.heartbeat.interval.ms": "500",
         "group.consumer.min.session.timeout.ms": "3000", "group.consumer.session.timeout.ms": "6000"}

INVALID_REQUEST = 42
UNKNOWN_MEMBER_ID = 25
FENCED_MEMBER_EPOCH = 110
UNSUPPORTED_ASSIGNOR = 112
INVALID_REGULAR_EXPRESSION = 128
GROUP_ID_NOT_FOUND = 69


def coordinator(b, group):
    """A connection to the group's coordinator (one broker: this one, once __consumer_offsets is led)."""
    def ready():
        with kproto.connect(b.bootstrap) as c:
            return kproto.find_coordinator_v1(c, group)[0] == 0
    wait_until(ready, 30, f"a coordinator for {group}")
    return kproto.connect(b.bootstrap)


def owned_of(hb):
    return {tuple(sorted(p)) for _, p in (hb["assignment"] or [])}


def parts(hb):
    return sorted(p for _, ps in (hb["assignment"] or []) for p in ps)


@timeout(90)
def test_kip848_reconciliation_by_hand(ctx):
    b = ctx.start_broker(0, extra=EXTRA)
    topic = unique_topic("k848")
    create_topic(b.bootstrap, topic, partitions=4)
    group = unique_topic("g848")
    with coordinator(b, group) as c:
        # A group formed within two heartbeat intervals (here 2 x 500 ms) of its coordinator
        # loading the partition gets no partitions until then (members of a previous coordinator
        # may still hold them); this test wants the plain protocol.
        time.sleep(1.2)
        hb = kproto.consumer_group_heartbeat
        # Bad requests: each refused with its own error and message, and nothing joins.
        r = hb(c, group, "", 0, topics=[topic], owned=[])
        eq(r["error"], INVALID_REQUEST, "join without a rebalance timeout")
        check("RebalanceTimeoutMs" in (r["message"] or ""), f"message: {r['message']}")
        eq(hb(c, group, "", 0, rebalance_timeout_ms=5000, topics=[topic])["error"], INVALID_REQUEST,
           "join with null owned partitions")
        eq(hb(c, group, "", 0, rebalance_timeout_ms=5000, owned=[])["error"], INVALID_REQUEST,
           "join without a subscription")
        eq(hb(c, group, "", 0, rebalance_timeout_ms=5000, topics=[topic], assignor="sticky", owned=[])["error"],
           UNSUPPORTED_ASSIGNOR, "unknown server assignor")
        eq(hb(c, group, "", 0, version=1, rebalance_timeout_ms=5000, regex="(unclosed", owned=[])["error"],
           INVALID_REGULAR_EXPRESSION, "a regex that does not compile")
        eq(hb(c, group, "", -7, rebalance_timeout_ms=5000, topics=[topic], owned=[])["error"], INVALID_REQUEST,
           "member epoch -7")
        eq(hb(c, group, "nobody", 3)["error"], UNKNOWN_MEMBER_ID, "heartbeat of an unknown member")
        eq(kproto.consumer_group_describe(c, [group])[0]["error"], GROUP_ID_NOT_FOUND, "describe before any join")

        # A joins alone: every partition, at epoch 1.
        a = hb(c, group, "", 0, rebalance_timeout_ms=5000, topics=[topic], owned=[])
        eq(a["error"], 0, "A joins")
        check(len(a["member_id"]) == 22, f"a generated member id: {a['member_id']}")
        eq((a["member_epoch"], parts(a)), (1, [0, 1, 2, 3]), "A's epoch and partitions")
        topic_id = a["assignment"][0][0]
        a_id = a["member_id"]

        # B joins (client-chosen id, v1): the target gives it two partitions, but A still owns them.
        bb = hb(c, group, "member-b", 0, version=1, rebalance_timeout_ms=5000, topics=[topic], owned=[])
        eq(bb["error"], 0, "B joins")
        eq((bb["member_id"], bb["member_epoch"], parts(bb)), ("member-b", 2, []),
           "B at the new epoch owns nothing yet")

        # A is asked to revoke two (same epoch: it has not acknowledged yet).
        a2 = hb(c, group, a_id, 1, rebalance_timeout_ms=5000, topics=[topic], owned=[(topic_id, [0, 1, 2, 3])])
        eq(a2["error"], 0, "A's heartbeat")
        eq(a2["member_epoch"], 1, "A stays at epoch 1 until it revokes")
        kept = parts(a2)
        eq(len(kept), 2, "A keeps two partitions")
        due = sorted(set(range(4)) - set(kept))
        # B still gets nothing: A has not released them.
        eq(parts(hb(c, group, "member-b", 2, rebalance_timeout_ms=5000, topics=[topic], owned=[])), [],
           "B while A still owns its partitions")
        # A reports the revocation: epoch 2; then B gets the released partitions.
        a3 = hb(c, group, a_id, 1, rebalance_timeout_ms=5000, topics=[topic], owned=[(topic_id, kept)])
        eq((a3["error"], a3["member_epoch"], parts(a3)), (0, 2, kept), "A after revoking")
        b3 = hb(c, group, "member-b", 2, rebalance_timeout_ms=5000, topics=[topic], owned=[])
        eq((b3["error"], b3["member_epoch"], parts(b3)), (0, 2, due), "B after A released")

        d = kproto.consumer_group_describe(c, [group], version=1)[0]
        eq((d["error"], d["state"], d["epoch"], d["assignment_epoch"], d["assignor"]), (0, "Stable", 2, 2, "uniform"),
           "ConsumerGroupDescribe")
        members = {m["member_id"]: m for m in d["members"]}
        eq(sorted(members), sorted([a_id, "member-b"]), "described members")
        eq(members[a_id]["assignment"], {topic: kept}, "A's described assignment")
        eq(members["member-b"]["target"], {topic: due}, "B's described target")
        eq(members["member-b"]["type"], 1, "member type (v1): consumer")
        listed = kproto.list_groups_v5(c, types_filter=["consumer"])["groups"]
        check((group, "consumer", "Stable", "consumer") in listed, f"ListGroups types=[consumer]: {listed}")

        # Fencing: a newer epoch than the coordinator's, or an older one with partitions beyond the
        # assignment, must rejoin.
        eq(hb(c, group, a_id, 7)["error"], FENCED_MEMBER_EPOCH, "a member epoch from the future")
        eq(hb(c, group, "member-b", 1, owned=[(topic_id, [0, 1, 2, 3])])["error"], FENCED_MEMBER_EPOCH,
           "an old epoch owning more than its assignment")
        # B leaves: A gets everything back at the next epoch.
        eq(hb(c, group, "member-b", -1)["error"], 0, "B leaves")
        a4 = hb(c, group, a_id, 2, rebalance_timeout_ms=5000, topics=[topic], owned=[(topic_id, kept)])
        eq((a4["member_epoch"], parts(a4)), (3, [0, 1, 2, 3]), "A alone again")


def run_client(ctx, args, t, env=None):
    rc, out, err = ctx.run(args, timeout=t, cwd=INTEGRATION, env=env)
    lines = out.strip().splitlines()
    res = json.loads(lines[-1]) if lines else {}
    check(rc == 0 and "error" not in res,
          f"{Path(str(args[1])).name} exited {rc}: {res.get('error') or err.strip()[-800:]}")
    return res


def produce_numbered(k, bootstrap, topic, partitions, stop, produced):
    """Writes v0, v1, ... round robin over the partitions (acks=all) until stop is set, appending each to
    produced; flushes at the end."""
    p = k.Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    i = 0
    while not stop.is_set():
        for _ in range(10):
            p.produce(topic, value=f"v{i}".encode(), partition=i % partitions)
            produced.append(f"v{i}")
            i += 1
        p.poll(0)
        time.sleep(0.02)
    check(p.flush(30) == 0, "producer flush")


def watch_committed(k, bootstrap, group, topic, partitions, stop, history, backwards, interval=0.1):
    """Polls the group's committed offsets until stop is set: history[partition] gets each offset seen,
    backwards each (partition, before, after, wall time) where one went back."""
    c = k.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        while not stop.is_set():
            try:
                got = c.committed([k.TopicPartition(topic, p) for p in range(partitions)], timeout=5)
            except k.KafkaException:
                time.sleep(interval)
                continue
            for tp in got:
                if tp.offset < 0:
                    continue
                h = history.setdefault(tp.partition, [])
                if h and tp.offset < h[-1]:
                    backwards.append((tp.partition, h[-1], tp.offset, time.strftime("%H:%M:%S")))
                h.append(tp.offset)
            time.sleep(interval)
    finally:
        c.close()


def churn(ctx, client, args_for, env=None):
    """Runs a churn plan with the client (a command built by args_for(bootstrap, topic, group, plan)) while a
    librdkafka producer writes and the group's committed offsets are polled; checks the outcome."""
    b = ctx.start_broker(0, extra=EXTRA)
    partitions = 6
    topic = unique_topic("k848c")
    create_topic(b.bootstrap, topic, partitions=partitions)
    group = unique_topic("g848c")
    k = ck()

    # A producer writes throughout the churn (and stops 3 s before its end, so everything can be read);
    # the group's committed offsets are polled: none may go backwards.
    produced, history, backwards = [], {}, []
    stop = threading.Event()
    producer = threading.Thread(target=produce_numbered, args=(k, b.bootstrap, topic, partitions, stop, produced))
    watcher = threading.Thread(target=watch_committed,
                               args=(k, b.bootstrap, group, topic, partitions, stop, history, backwards))
    producer.start()
    watcher.start()
    plan = {"partitions": partitions, "end_ms": 16000,
            "steps": [[0, "join", "a"], [1500, "join", "b"], [3000, "join", "c"], [5000, "leave", "a"],
                      [6500, "join", "d"], [8000, "join", "e"], [9500, "leave", "b"]]}
    timer = threading.Timer(13.0, stop.set)
    timer.start()
    try:
        res = run_client(ctx, args_for(b.bootstrap, topic, group, plan), t=90, env=env)
    finally:
        timer.cancel()
        stop.set()
        producer.join()
        watcher.join()
    seen = {v for _, _, v in res["seen"]}
    lost = [v for v in produced if v not in seen]
    commits = sum(len(h) for h in history.values())
    print(f"FIGURES kip848 churn ({client}): produced {len(produced)}, read {len(res['seen'])} ({len(seen)} "
          f"distinct), lost {len(lost)}, overlapping-ownership samples {res['overlaps']}, unowned at end "
          f"{res['unowned_end']}, committed offsets polled {commits}, regressions {len(backwards)}, "
          f"ms to own every partition after each step {res['settle_ms']}")
    eq(res["overlaps"], 0, f"a partition owned by two members at once ({res['overlap_examples']})")
    eq(res["unowned_end"], [], "partitions nobody owns once the group settled")
    eq(res["members_end"], 3, "members at the end")
    eq(lost[:5], [], f"records produced but never read ({len(lost)} in all)")
    check(commits > 0, "no committed offset was ever seen")
    eq(backwards, [], "committed offsets that went backwards (partition, before, after)")
    check(res["errors"] == [], f"consumer errors: {res['errors'][:3]}")
    return res


@timeout(120)
def test_kip848_platformatic_churn(ctx):
    if not (INTEGRATION / "node_modules" / PACKAGE / "package.json").exists():
        reason = os.environ.get("GREGOR_IT_NPM_ERROR") or f"integration/node_modules/{PACKAGE} missing"
        raise Skip(f"{PACKAGE} not installable: {reason}")
    churn(ctx, PACKAGE, lambda bs, topic, group, plan: [
        "node", INTEGRATION / "js" / "platformatic_kip848.js", bs, topic, group, json.dumps(plan)])


@timeout(120)
def test_kip848_librdkafka_churn(ctx):
    """librdkafka >= 2.4 speaks the consumer protocol; Debian 12 ships 2.0.2, so this runs where
    GREGOR_IT_LIBRDKAFKA_KIP848 names the directory of a newer librdkafka.so.1 (built from the source the
    npm package @confluentinc/kafka-javascript bundles, or from confluentinc/librdkafka)."""
    libdir = os.environ.get("GREGOR_IT_LIBRDKAFKA_KIP848")
    if not libdir:
        raise Skip("needs librdkafka >= 2.4: set GREGOR_IT_LIBRDKAFKA_KIP848 to the directory of its "
                   "librdkafka.so.1 (Debian 12 has 2.0.2)")
    env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    res = churn(ctx, "librdkafka", lambda bs, topic, group, plan: [
        "/usr/bin/python3", INTEGRATION / "kip848_rdkafka.py", bs, topic, group, json.dumps(plan)], env=env)
    print(f"FIGURES kip848 librdkafka version {res['librdkafka']}")


# ---------------------------------------------------------------- a live classic group upgraded and downgraded
def classic_member(k, bootstrap, topic, group, name, stop, seen, owned, errors):
    """A confluent-kafka (Debian's librdkafka, classic protocol, cooperative-sticky) group member: reads until
    stop is set, records what it read and what it owns (owned[name]), commits every 200 ms."""
    c = k.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": f"classic-{name}",
                    "auto.offset.reset": "earliest", "enable.auto.commit": True,
                    "auto.commit.interval.ms": 200, "partition.assignment.strategy": "cooperative-sticky",
                    "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
    owned[name] = set()

    def on_assign(consumer, parts):
        owned[name] |= {p.partition for p in parts}

    def on_revoke(consumer, parts):
        owned[name] -= {p.partition for p in parts}

    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    try:
        while not stop.is_set():
            m = c.poll(0.1)
            if m is None:
                continue
            if m.error():
                errors.append(f"{name}: {m.error()}")
                continue
            seen.append(m.value().decode())
    finally:
        c.close()
        owned.pop(name, None)


@timeout(150)
def test_kip848_live_classic_group_upgraded_and_downgraded(ctx):
    """Kafka 4.0's online migration (group.consumer.migration.policy=bidirectional, the default): two classic
    confluent-kafka members read a topic; two @platformatic/kafka consumer-protocol members join the same live
    group (it becomes a consumer group holding both kinds), then both leave (it becomes a classic group again),
    while a producer writes throughout. Checker: the coordinator never has one partition in the current
    assignment of two members (ConsumerGroupDescribe sampled every 50 ms), the group's type goes classic ->
    consumer -> classic (ListGroups), every produced record is read, committed offsets never go backwards,
    and the classic members own every partition at the end."""
    if not (INTEGRATION / "node_modules" / PACKAGE / "package.json").exists():
        reason = os.environ.get("GREGOR_IT_NPM_ERROR") or f"integration/node_modules/{PACKAGE} missing"
        raise Skip(f"{PACKAGE} not installable: {reason}")
    b = ctx.start_broker(0, extra=EXTRA)
    partitions = 6
    topic = unique_topic("k848m")
    create_topic(b.bootstrap, topic, partitions=partitions)
    group = unique_topic("g848m")
    k = ck()
    stop_all = threading.Event()
    stop_classic = threading.Event()
    produced, seen, errors = [], [], []
    owned = {}

    types, overlaps, backwards, describe_errors = [], [], [], []
    history = {}

    def sample():
        with kproto.connect(b.bootstrap) as conn:
            while not stop_classic.is_set():
                try:
                    groups = kproto.list_groups_v5(conn)["groups"]
                    kind = next((t for g, _, _, t in groups if g == group), None)
                    if kind and (not types or types[-1] != kind):
                        types.append(kind)
                    if kind == "consumer":
                        d = kproto.consumer_group_describe(conn, [group], version=1)[0]
                        holder = {}
                        for m in d["members"]:
                            for p in m["assignment"].get(topic, []):
                                if p in holder:
                                    overlaps.append((p, holder[p], m["member_id"], d["epoch"]))
                                holder[p] = m["member_id"]
                except (OSError, kproto.ProtocolError) as e:
                    describe_errors.append(str(e))
                    return
                time.sleep(0.05)

    threads = [threading.Thread(target=produce_numbered, args=(k, b.bootstrap, topic, partitions, stop_all, produced))]
    threads += [threading.Thread(target=classic_member,
                                 args=(k, b.bootstrap, topic, group, n, stop_classic, seen, owned, errors))
                for n in ("c1", "c2")]
    threads += [threading.Thread(target=sample),
                threading.Thread(target=watch_committed,
                                 args=(k, b.bootstrap, group, topic, partitions, stop_classic, history, backwards))]
    for t in threads:
        t.start()
    try:
        def classic_settled():
            return len(owned) == 2 and all(owned.values()) and \
                set().union(*owned.values()) == set(range(partitions))
        wait_until(classic_settled, 30, "the two classic members owning every partition")
        plan = {"partitions": partitions, "end_ms": 9000,
                "steps": [[0, "join", "x"], [2000, "join", "y"], [5000, "leave", "x"], [7500, "leave", "y"]]}
        res = run_client(ctx, ["node", INTEGRATION / "js" / "platformatic_kip848.js", b.bootstrap, topic, group,
                               json.dumps(plan)], t=90)
        wait_until(lambda: types and types[-1] == "classic", 30,
                   f"the group back to the classic protocol (types so far {types})")
        wait_until(classic_settled, 30, f"the classic members owning every partition again ({owned})")
        stop_all.set()
        threads[0].join()
        every = set(produced)
        wait_until(lambda: every <= set(seen) | {v for _, _, v in res["seen"]}, 30,
                   "every produced record read")
    finally:
        stop_all.set()
        stop_classic.set()
        for t in threads:
            t.join()
    read = set(seen) | {v for _, _, v in res["seen"]}
    lost = [v for v in produced if v not in read]
    commits = sum(len(h) for h in history.values())
    print(f"FIGURES kip848 live upgrade: produced {len(produced)}, read by classic members {len(seen)}, by "
          f"consumer-protocol members {len(res['seen'])}, lost {len(lost)}, group types {types}, coordinator "
          f"overlaps {len(overlaps)}, committed offsets polled {commits}, regressions {len(backwards)}")
    eq(types, ["classic", "consumer", "classic"], "the group's type over time")
    eq(overlaps[:5], [], "a partition in the current assignment of two members at once")
    eq(lost[:5], [], f"records produced but never read ({len(lost)} in all)")
    check(res["seen"], "the consumer-protocol members read nothing: they never got a partition")
    check(commits > 0, "no committed offset was ever seen")
    eq(backwards, [], "committed offsets that went backwards (partition, before, after)")
    eq(describe_errors, [], "errors sampling the group")
    check(not errors and not res["errors"], f"consumer errors: {errors[:3]} {res['errors'][:3]}")


# ---------------------------------------------------------------- the group survives its coordinator
def describe_at_coordinator(brokers, group):
    """(coordinator broker, ConsumerGroupDescribe of the group there) asking the live brokers; None until a
    live broker coordinates the group and has loaded it."""
    for b in brokers:
        if not b.alive():
            continue
        try:
            with kproto.connect(b.bootstrap, timeout=3) as c:
                err, node = kproto.find_coordinator_v1(c, group)[:2]
            if err != 0:
                continue
            coord = next((x for x in brokers if x.broker_id == node), None)
            if coord is None or not coord.alive():
                continue
            with kproto.connect(coord.bootstrap, timeout=3) as c:
                d = kproto.consumer_group_describe(c, [group], version=1)[0]
            return (coord, d) if d["error"] == 0 else None
        except (OSError, kproto.ProtocolError):
            continue
    return None


def settled(d, topic, partitions, members):
    """The group with `members` members, every partition of the topic owned once, all reconciled."""
    if d["state"] != "Stable" or len(d["members"]) != members:
        return False
    owned = [p for m in d["members"] for p in m["assignment"].get(topic, [])]
    return sorted(owned) == list(range(partitions))


@timeout(180)
def test_kip848_group_survives_coordinator_kill(ctx):
    """Three brokers (__consumer_offsets replicated 3 times), a topic of 6 partitions replicated 3 times, a
    producer writing throughout, two librdkafka consumer-protocol members (a third joins and leaves first, so
    the group epoch is past what a group formed afresh would reach). kill -9 of the broker that coordinates the
    group: the broker that takes over loads the group from its records. Checks: ConsumerGroupDescribe at the new
    coordinator shows the same member ids, member epochs and group epoch not reset, the new coordinator's log
    says it loaded a consumer group and never created this one, no member lost its partitions (librdkafka's
    on_lost: what a fenced member sees), no partition owned by two members at once (the clients' view), and every
    produced record read. Needs librdkafka >= 2.4 (GREGOR_IT_LIBRDKAFKA_KIP848, as the librdkafka churn test):
    @platformatic/kafka 1.35 does not ride out the failover of a partition leader (its fetch gives up after a
    few retries, and a FindCoordinator answer naming a broker its metadata no longer lists crashes it)."""
    libdir = os.environ.get("GREGOR_IT_LIBRDKAFKA_KIP848")
    if not libdir:
        raise Skip("needs librdkafka >= 2.4: set GREGOR_IT_LIBRDKAFKA_KIP848 to the directory of its "
                   "librdkafka.so.1 (Debian 12 has 2.0.2)")
    from test_cluster import CLUSTER_EXTRA
    extra = dict(EXTRA, **CLUSTER_EXTRA)
    extra.update({"offsets.topic.replication.factor": "3", "inter.broker.protocol.version": "3.9-IV0"})
    brokers = ctx.start_cluster(3, extra=extra)
    bs = bootstrap_of(brokers)
    partitions = 6
    topic = unique_topic("k848f")
    with kproto.connect(brokers[0].bootstrap) as c:
        eq(kproto.create_topics_v0(c, [(topic, partitions, 3, {})]).get(topic), kproto.NONE, "CreateTopics")
    wait_topic_ready(brokers[0].bootstrap, topic, partitions)
    group = unique_topic("g848f")
    k = ck()

    produced = []
    stop = threading.Event()
    producer = threading.Thread(target=produce_numbered, args=(k, bs, topic, partitions, stop, produced))
    producer.start()
    plan = {"partitions": partitions, "end_ms": 40000,
            "steps": [[0, "join", "a"], [300, "join", "b"], [1500, "join", "c"], [5000, "leave", "c"]]}
    result = {}
    env = dict(os.environ, LD_LIBRARY_PATH=libdir)

    def run_members():
        try:
            result["res"] = run_client(ctx, ["/usr/bin/python3", INTEGRATION / "kip848_rdkafka.py", bs, topic,
                                             group, json.dumps(plan)], t=120, env=env)
        except Exception as e:  # reported below
            result["exc"] = e

    members = threading.Thread(target=run_members)
    members.start()
    try:
        def stable_two():
            got = describe_at_coordinator(brokers, group)
            return got if got and settled(got[1], topic, partitions, 2) and got[1]["epoch"] >= 4 else None
        coord, before = wait_until(stable_two, 40, "two members owning every partition after the churn")
        ids_before = sorted(m["member_id"] for m in before["members"])
        epochs_before = {m["member_id"]: m["epoch"] for m in before["members"]}
        print(f"before the kill: coordinator {coord.broker_id}, group epoch {before['epoch']}, members "
              f"{epochs_before}")
        killed_at = time.monotonic()
        coord.kill9()
        survivors = [b for b in brokers if b.alive()]

        def loaded_elsewhere():
            got = describe_at_coordinator(survivors, group)
            return got if got and got[0].broker_id != coord.broker_id else None
        new_coord, after = wait_until(loaded_elsewhere, 60, "a new coordinator serving the group")
        print(f"FIGURES kip848 coordinator kill: group served by broker {new_coord.broker_id} "
              f"{time.monotonic() - killed_at:.1f} s after the kill, group epoch {after['epoch']}, members "
              f"{ {m['member_id']: m['epoch'] for m in after['members']} }")
        eq(sorted(m["member_id"] for m in after["members"]), ids_before, "member ids right after the load")
        check(after["epoch"] >= before["epoch"], f"group epoch went back: {before['epoch']} -> {after['epoch']}")
        # The members carry on there: the group settles again with the same two members, their epochs
        # never reset (a rejoin starts again from epoch 0 and a fresh group from epoch 1).
        got = wait_until(lambda: (lambda g: g if g and settled(g[1], topic, partitions, 2) else None)(
            describe_at_coordinator(survivors, group)), 30, "the group settled at the new coordinator")
        final = got[1]
        eq(sorted(m["member_id"] for m in final["members"]), ids_before, "member ids after the move")
        for m in final["members"]:
            check(m["epoch"] >= epochs_before[m["member_id"]],
                  f"member {m['member_id']} epoch went back: {epochs_before[m['member_id']]} -> {m['epoch']}")
        log = new_coord.log_path.read_text(errors="replace")
        check(any(int(n) > 0 for n in re.findall(r"\((\d+) consumer groups\)", log)),
              "the new coordinator's log has no load of a consumer group")
        check(f"group {group} uses the consumer protocol" not in log,
              "the new coordinator created the group afresh instead of loading it")
        # The producer stops below, well before the members' end, so that they can read everything.
        wait_until(lambda: time.monotonic() - killed_at > 15, 30, "the producer to run past the failover")
    finally:
        stop.set()
        producer.join()
        members.join()
    if "exc" in result:
        raise result["exc"]
    res = result["res"]
    seen = {v for _, _, v in res["seen"]}
    lost = [v for v in produced if v not in seen]
    print(f"FIGURES kip848 coordinator kill: produced {len(produced)}, read {len(res['seen'])} ({len(seen)} "
          f"distinct), lost {len(lost)}, overlapping-ownership samples {res['overlaps']}, partitions lost by "
          f"fenced members {res['lost']}, client errors {len(res['errors'])} {res['errors'][:3]}")
    eq(res["overlaps"], 0, f"a partition owned by two members at once ({res['overlap_examples']})")
    eq(res["lost"], [], "members that lost their partitions (fenced) across the move")
    eq(lost[:5], [], f"records produced but never read ({len(lost)} in all)")
    eq(res["members_end"], 2, "members at the end")
