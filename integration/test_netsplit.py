"""Network partitions under load (issue 8, section 5): links between brokers, and between a broker and
ZooKeeper, are cut and healed with nftables inside the test's own network namespace (netfault.py) while
nothing is killed: every process keeps running and keeps talking to whoever it can still reach.

Setup of every scenario: ZooKeeper and three brokers in the namespace (netfault.NetSplitCluster), a 6 s
ZooKeeper session, replica.lag.time.max.ms=5000 (a follower that stops fetching leaves the ISR after 5 s), one
topic with 3 partitions, replication factor 3, min.insync.replicas=2, and a confluent-kafka producer (acks=all,
no idempotence, request.timeout.ms=5000, message.timeout.ms=60000) sending 500 numbered records/s round robin
over the partitions. The producer and the kafka-python checker run as root and are never cut.

After healing, every replica of every partition must hold the same bytes (wait_replicas_identical: a deposed
leader truncated what it alone had), and the checker reads every partition back and counts: acknowledged,
failed deliveries (must be 0: the message timeout is longer than any partition here), lost acknowledged
numbers (must be 0), duplicates (reported: without idempotence a retried request whose first attempt was
appended shows up twice) and the longest gap between two acknowledgements of one partition. Each scenario
prints
    FIGURES <scenario>: acknowledged N, failed N, lost N, duplicates N, longest_pause_ms N
to its test.out, and the time line of its cuts ("[net 12.345s] + drop connections of uid ...")."""

import random
import time

import kproto
from harness import Failure, check, eq, timeout, unique_topic, wait_until
from netfault import NetSplitCluster
from test_cluster import (by_id, consume_all_kafka_python, create_topic_rf, wait_isr_full, wait_new_leader,
                          wait_replicas_identical, zk_controller, zk_state)
from test_failover import PartitionTimedProducer, wait_controller

NETSPLIT_EXTRA = {"zookeeper.session.timeout.ms": "6000", "replica.lag.time.max.ms": "5000"}
PARTITIONS = 3
RATE = 500
PRODUCER_EXTRA = {"message.timeout.ms": 60000, "request.timeout.ms": 5000}
NOT_ENOUGH_REPLICAS = 19

# Longest acceptable gap between two acknowledgements of one partition while a link flaps: a follower that
# cannot fetch stalls acks=all for at most replica.lag.time.max.ms (5 s) plus the leader's lag check, then
# the ISR goes on without it.
FLAP_PAUSE_MS = 10000


# ---------------------------------------------------------------- set-up, probes and the checker
def start(ctx, net):
    """Creates the topic, waits for full ISRs and makes the producer (started by `with prod:`). Returns
    (ids, topic, producer)."""
    brokers = net.brokers
    topic = unique_topic("ns")
    create_topic_rf(brokers, topic, PARTITIONS, 3, configs={"min.insync.replicas": "2"})
    wait_isr_full(ctx, brokers, topic, range(PARTITIONS))
    prod = PartitionTimedProducer(brokers, topic, partitions=PARTITIONS, rate=RATE, extra=PRODUCER_EXTRA)
    return by_id(brokers), topic, prod


def leader_of(ctx, topic, p):
    return zk_state(ctx, topic, p)["leader"]


def acks_between(prod, p, t_from, t_to):
    with prod.mu:
        return sum(1 for t in prod.part_ack_times.get(p, []) if t_from <= t <= t_to)


def probe(broker, topic, p, value, acks, timeout_ms=3000):
    """One Produce v3 of `value` straight to `broker` (bypassing the client's routing); returns its error
    code, or the exception when the broker does not answer."""
    try:
        with kproto.connect(broker.bootstrap, timeout=timeout_ms / 1000 + 5) as c:
            err, _ = kproto.produce_v3(c, topic, p, kproto.record_batch([(None, value)]), acks=acks,
                                       timeout_ms=timeout_ms)
        return err
    except (OSError, kproto.ProtocolError) as e:
        return e


def leads_in_own_metadata(broker, topic, p):
    with kproto.connect(broker.bootstrap, timeout=3) as c:
        md = kproto.metadata_v1(c, [topic])
    return md["topics"][topic]["partitions"][p]["leader"] == broker.broker_id


def metadata_leaders(broker, topic):
    """{partition: leader} in the broker's own Metadata."""
    with kproto.connect(broker.bootstrap, timeout=3) as c:
        md = kproto.metadata_v1(c, [topic])
    return {x["partition"]: x["leader"] for x in md["topics"][topic]["partitions"]}


def metadata_controller(broker):
    with kproto.connect(broker.bootstrap, timeout=3) as c:
        return kproto.metadata_v1(c, [])["controller"]


def fresh_acks(prod, first):
    """{partition: acknowledged numbers >= first} (numbers go round robin: n is sent to partition n % 3)."""
    with prod.mu:
        nums = [n for n in prod.acked if n >= first]
    out = {p: 0 for p in range(PARTITIONS)}
    for n in nums:
        out[n % PARTITIONS] += 1
    return out


def wait_all_partitions_ack(prod, more, timeout_s, what):
    """Waits until every partition has `more` acknowledgements of records sent after this call (a backlog
    released at once does not count)."""
    first = prod.sent
    try:
        wait_until(lambda: all(v >= more for v in fresh_acks(prod, first).values()), timeout_s,
                   f"{more} acknowledgements on every partition of records sent from now on ({what})", interval=0.1)
    except Failure as e:
        with prod.mu:
            errs = prod.errors[-3:] + [x for _, x in prod.client_errors[-3:]]
        raise Failure(f"{e}: fresh acks by partition {fresh_acks(prod, first)}; last errors {errs}")


def finish(ctx, net, prod, topic, label, zombies=(), pause_limit_ms=None):
    """After healing: full ISRs, fresh acknowledgements on every partition, then the checker. Returns the
    figures."""
    for b in net.brokers:
        b.check_alive("after the network healed")
    wait_isr_full(ctx, net.brokers, topic, range(PARTITIONS), timeout_s=45)
    wait_all_partitions_ack(prod, 200, 30, "after the network healed and every ISR was full")
    left = prod.stop(flush_s=60)
    eq(left, 0, f"{label}: records without a delivery report after flush")
    for q in range(PARTITIONS):  # the deposed leaders truncated: every replica holds the same bytes
        wait_replicas_identical(ctx, net.brokers, topic, q, timeout_s=30)
    got = consume_all_kafka_python(net.brokers, topic, range(PARTITIONS))
    counts = {}
    others = []
    for recs in got.values():
        for _, v in recs:
            if v.isdigit():
                counts[int(v)] = counts.get(int(v), 0) + 1
            else:
                others.append(v)  # the test's own probes
    with prod.mu:
        acked = dict(prod.acked)
        errors = list(prod.errors)
    lost = sorted(set(acked) - set(counts))
    dups = sum(c - 1 for c in counts.values() if c > 1)
    unknown = sorted(n for n in counts if n >= prod.sent or n < 0)
    per_partition = prod.longest_partition_pause_ms()
    figures = {"acknowledged": len(acked), "failed": len(errors), "lost": len(lost), "duplicates": dups,
               "longest_pause_ms": max(per_partition.values(), default=0)}
    print(f"FIGURES {label}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    print(f"details {label}: sent {prod.sent}, pause_ms_by_partition {per_partition}, "
          f"probe records in the log {len(others)}")
    check(not unknown, f"{label}: the log holds numbers that were never sent: {unknown[:10]}")
    check(not lost, f"{label}: {len(lost)} acknowledged numbers lost, e.g. {lost[:20]}")
    check(not errors, f"{label}: {len(errors)} deliveries failed, e.g. {errors[:5]}")
    eq(len(acked), prod.sent, f"{label}: acknowledged records")
    survived = [z for z in zombies if z in others]
    check(not survived, f"{label}: records accepted by a deposed leader survived its truncation: {survived}")
    if pause_limit_ms is not None:
        check(figures["longest_pause_ms"] <= pause_limit_ms,
              f"{label}: longest pause {figures['longest_pause_ms']} ms > {pause_limit_ms} ms ({per_partition})")
    return figures


# ---------------------------------------------------------------- 1. leader cut from ZooKeeper only
@timeout(90)
def test_netsplit_leader_from_zookeeper(ctx):
    """A partition leader (not the controller) loses ZooKeeper but still reaches clients and brokers. Its
    session expires, the controller elects another leader; from then on the old leader must not acknowledge
    an acks=all write (its followers left it) and whatever it takes with acks=1 is truncated when it rejoins,
    after the link to ZooKeeper heals (new session, registration, LeaderAndIsr as a follower)."""
    label = "leader cut from ZooKeeper"
    with NetSplitCluster(ctx, 3, extra=NETSPLIT_EXTRA) as net:
        ids, topic, prod = start(ctx, net)
        zombies = []
        with prod:
            prod.wait_acked(500, 30, "before the partition")
            ctrl = zk_controller(ctx)
            # A leader that is not the controller (the controller cut off is scenario 3); each broker leads
            # one partition unless a leader moved.
            p, old = next(((q, x) for q in range(PARTITIONS) if (x := leader_of(ctx, topic, q)) != ctrl),
                          (0, leader_of(ctx, topic, 0)))
            epoch = zk_state(ctx, topic, p)["leader_epoch"]
            net.log(f"broker {old} leads {topic}-{p} (controller {ctrl}); cutting it from ZooKeeper at "
                    f"{prod.n_acked()} acks")
            net.cut_zk(old)
            new = wait_new_leader(ctx, topic, p, old, timeout_s=30)
            st = zk_state(ctx, topic, p)
            net.log(f"ZooKeeper: {topic}-{p} state {st}")
            check(st["leader_epoch"] > epoch, f"leader epoch {st['leader_epoch']} after the election (was {epoch})")
            check(old not in st["isr"], f"the cut-off broker {old} is still in the ISR {st['isr']}")
            check(ctx.zk().exists(f"/brokers/ids/{old}") is None, f"/brokers/ids/{old} outlived its session")
            wait_until(lambda: leads_in_own_metadata(ids[new], topic, p), 20,
                       f"broker {new} to lead {topic}-{p} in its own Metadata", interval=0.1)
            # The deposed leader still runs and still believes it leads; clients still reach it.
            for i in range(2):
                err = probe(ids[old], topic, p, f"deposed-all-{i}".encode(), acks=-1)
                net.log(f"acks=all produce to the deposed leader {old}: {err!r}")
                check(err != 0, f"broker {old}, cut from ZooKeeper and replaced by broker {new}, acknowledged an "
                                f"acks=all write to {topic}-{p}")
                v = f"deposed-one-{i}".encode()
                err = probe(ids[old], topic, p, v, acks=1)
                net.log(f"acks=1 produce to the deposed leader {old}: {err!r}")
                if err == 0:
                    zombies.append(v)
            wait_all_partitions_ack(prod, 200, 40, f"while broker {old} is cut from ZooKeeper")
            net.heal_zk(old)
            wait_until(lambda: ctx.zk().exists(f"/brokers/ids/{old}") is not None, 30,
                       f"broker {old} to register again after the link to ZooKeeper healed", interval=0.1)
            wait_isr_full(ctx, net.brokers, topic, range(PARTITIONS), timeout_s=45)
            check(not leads_in_own_metadata(ids[old], topic, p) or leader_of(ctx, topic, p) == old,
                  f"broker {old} still calls itself leader of {topic}-{p}")
        finish(ctx, net, prod, topic, label, zombies=zombies)


# ---------------------------------------------------------------- 2. leader cut from its followers
def cut_leader_from_followers(ctx, net, ids, topic, p, prod):
    """Cuts the links between the leader of `topic`-`p` and every other broker; returns (leader, followers)."""
    leader = leader_of(ctx, topic, p)
    followers = [x for x in ids if x != leader]
    net.log(f"broker {leader} leads {topic}-{p} (controller {zk_controller(ctx)}); cutting it from "
            f"brokers {followers} at {prod.n_acked()} acks")
    for f in followers:
        net.cut(leader, f)
    return leader, followers


@timeout(90)
def test_netsplit_leader_from_followers(ctx):
    """A partition leader loses both followers but keeps ZooKeeper and its clients, in a cluster whose leaders
    write their ISR changes to ZooKeeper themselves (inter.broker.protocol.version below 2.7-IV2; from it on they
    need the controller, see the next test). After replica.lag.time.max.ms it shrinks the ISR to itself (in
    ZooKeeper), and min.insync.replicas=2 then refuses acks=all writes with NOT_ENOUGH_REPLICAS: not one
    acknowledgement for that partition until the followers are back. The other partitions drop the cut-off
    broker from their ISRs and go on. After healing the followers catch up, rejoin, and the partition takes
    writes again."""
    label = "leader cut from its followers"
    with NetSplitCluster(ctx, 3, extra=dict(NETSPLIT_EXTRA, **{"inter.broker.protocol.version": "2.6"})) as net:
        ids, topic, prod = start(ctx, net)
        with prod:
            prod.wait_acked(500, 30, "before the partition")
            p = 0
            leader, followers = cut_leader_from_followers(ctx, net, ids, topic, p, prod)
            wait_until(lambda: zk_state(ctx, topic, p)["isr"] == [leader], 30,
                       f"the ISR of {topic}-{p} to shrink to [{leader}] in ZooKeeper", interval=0.1)
            t_shrunk = time.monotonic()
            st = zk_state(ctx, topic, p)
            net.log(f"ZooKeeper: {topic}-{p} state {st}")
            eq(st["leader"], leader, f"leader of {topic}-{p} (it still has ZooKeeper)")
            seen = []

            def refused():
                err = probe(ids[leader], topic, p, f"isolated-{len(seen)}".encode(), acks=-1)
                seen.append(err)
                if err == 0:
                    raise Failure(f"broker {leader} acknowledged an acks=all write to {topic}-{p} with ISR "
                                  f"[{leader}] and min.insync.replicas=2")
                return err == NOT_ENOUGH_REPLICAS
            wait_until(refused, 15, f"broker {leader} to refuse acks=all with NOT_ENOUGH_REPLICAS", interval=0.2)
            net.log(f"acks=all produce to broker {leader}: {seen}")
            # The other partitions go on without the cut-off broker.
            others = [q for q in range(PARTITIONS) if q != p]
            first = prod.sent
            wait_until(lambda: all(fresh_acks(prod, first)[q] >= 200 for q in others), 30,
                       f"partitions {others} to keep taking writes", interval=0.1)
            # Hold the cut a little longer: the producer keeps retrying partition p, and must get nothing.
            wait_until(lambda: time.monotonic() >= t_shrunk + 6, 10, "the cut to last 6 s past the shrink")
            t_heal = time.monotonic()
            for f in followers:
                net.heal(leader, f)
            during = acks_between(prod, p, t_shrunk, t_heal)
            net.log(f"acknowledgements on {topic}-{p} while its ISR was [{leader}]: {during}")
            eq(during, 0, f"acknowledgements on {topic}-{p} while its ISR was [{leader}] (min.insync.replicas=2)")
            first = prod.sent
            wait_until(lambda: fresh_acks(prod, first)[p] >= 200, 40,
                       f"{topic}-{p} to take new writes after the followers came back", interval=0.1)
            wait_until(lambda: sorted(zk_state(ctx, topic, p)["isr"]) == sorted(ids), 40,
                       f"the ISR of {topic}-{p} to be full again", interval=0.1)
        finish(ctx, net, prod, topic, label)


@timeout(90)
def test_netsplit_leader_from_followers_alter_partition(ctx):
    """The same cut at the default inter.broker.protocol.version, where leaders send their ISR changes to the
    controller (AlterPartition, KIP-497) as Kafka 2.7+ brokers do: a leader changes an ISR only through a
    controller it reaches, so which partitions shrink depends on where the controller is. Whatever it is, the
    cut-off leader's partition acknowledges nothing while both followers are cut (acks=all,
    min.insync.replicas=2: either its ISR still waits for them or it shrank and refuses); after healing every
    ISR is full again, every partition takes writes and nothing acknowledged is lost."""
    label = "leader cut from its followers (AlterPartition)"
    with NetSplitCluster(ctx, 3, extra=NETSPLIT_EXTRA) as net:
        ids, topic, prod = start(ctx, net)
        with prod:
            prod.wait_acked(500, 30, "before the partition")
            p = 0
            leader, followers = cut_leader_from_followers(ctx, net, ids, topic, p, prod)
            # Requests in flight at the cut may still be answered: count from one request timeout later.
            t_counted = time.monotonic() + 1.0
            wait_until(lambda: time.monotonic() >= t_counted + 7, 15, "the cut to last past replica.lag.time.max.ms")
            net.log(f"ZooKeeper: {topic}-{p} state {zk_state(ctx, topic, p)} before healing")
            t_heal = time.monotonic()
            for f in followers:
                net.heal(leader, f)
            during = acks_between(prod, p, t_counted, t_heal)
            net.log(f"acknowledgements on {topic}-{p} while cut from its followers: {during}")
            eq(during, 0, f"acknowledgements on {topic}-{p} while its leader was cut from both followers")
            first = prod.sent
            wait_until(lambda: fresh_acks(prod, first)[p] >= 200, 40,
                       f"{topic}-{p} to take new writes after the followers came back", interval=0.1)
        finish(ctx, net, prod, topic, label)


# ---------------------------------------------------------------- 3. the controller isolated
@timeout(90)
def test_netsplit_controller_isolated(ctx):
    """The controller loses ZooKeeper and both other brokers (clients still reach it). Its session expires, the
    other two elect a controller among themselves, move its partitions and drop it from every ISR; every
    partition keeps taking acks=all writes. The links to the brokers heal first: for 4 s the old controller
    reaches them while it still believes it is the controller (it cannot know that its session expired), and
    the other brokers' Metadata must not change. Once ZooKeeper is back the old controller learns that its
    session expired, resigns, registers as a plain broker and rejoins every ISR."""
    label = "controller isolated"
    with NetSplitCluster(ctx, 3, extra=NETSPLIT_EXTRA) as net:
        ids, topic, prod = start(ctx, net)
        with prod:
            prod.wait_acked(500, 30, "before the partition")
            old = zk_controller(ctx)
            epoch_before, _ = ctx.zk_json("/controller_epoch")
            led = [q for q in range(PARTITIONS) if leader_of(ctx, topic, q) == old]
            net.log(f"isolating the controller, broker {old} (leads partitions {led}), at {prod.n_acked()} acks")
            net.isolate(old)
            others = set(ids) - {old}
            new = wait_controller(ctx, others, t=30)
            net.log(f"broker {new} is the controller now")
            wait_until(lambda: all(leader_of(ctx, topic, q) in others for q in range(PARTITIONS)), 30,
                       f"every partition of {topic} to be led by one of {sorted(others)}", interval=0.1)
            wait_until(lambda: all(old not in zk_state(ctx, topic, q)["isr"] for q in range(PARTITIONS)), 30,
                       f"broker {old} to leave every ISR", interval=0.1)
            wait_all_partitions_ack(prod, 300, 40, f"while the old controller {old} is isolated")
            # Heal the links to the brokers first: the old controller, whose session expired without its
            # knowing, reaches them again while it still believes it is the controller. Whatever it sends them
            # carries a stale controller epoch and must change nothing.
            for b in others:
                net.heal(old, b)
            t_end = time.monotonic() + 4
            samples, claims = 0, 0
            while time.monotonic() < t_end:
                zk_leaders = {q: leader_of(ctx, topic, q) for q in range(PARTITIONS)}
                for b in sorted(others):
                    eq(metadata_controller(ids[b]), new, f"controller in broker {b}'s Metadata while the old "
                                                         f"controller {old} reaches it without ZooKeeper")
                    eq(metadata_leaders(ids[b], topic), zk_leaders,
                       f"leaders in broker {b}'s Metadata (vs ZooKeeper) while the old controller {old} reaches "
                       f"it without ZooKeeper")
                samples += 1
                claims += metadata_controller(ids[old]) == old
                time.sleep(0.25)
            net.log(f"old controller {old} reached the brokers without ZooKeeper for 4 s: {samples} samples, the "
                    f"others' Metadata unchanged; it called itself controller in {claims} of them")
            net.heal_zk(old)
            wait_until(lambda: metadata_controller(ids[old]) == new, 40,
                       f"the old controller {old} to name broker {new} as controller in its Metadata", interval=0.2)
            eq(zk_controller(ctx), new, "/controller after the old controller came back")
            epoch_after, _ = ctx.zk_json("/controller_epoch")
            check(epoch_after > epoch_before, f"/controller_epoch {epoch_after} (was {epoch_before})")
            wait_until(lambda: ctx.zk().exists(f"/brokers/ids/{old}") is not None, 30,
                       f"broker {old} to register again", interval=0.1)
        finish(ctx, net, prod, topic, label)


# ---------------------------------------------------------------- 4. a flapping link
@timeout(90)
def test_netsplit_flapping_link(ctx):
    """The link between a partition leader and one of its followers goes down and up every 1-2 s for 20 s.
    The other follower keeps every ISR at two or more, so writes go on being acknowledged throughout
    (longest gap per partition bounded by the lag time), and nothing is lost."""
    label = "flapping leader-follower link"
    with NetSplitCluster(ctx, 3, extra=NETSPLIT_EXTRA) as net:
        ids, topic, prod = start(ctx, net)
        with prod:
            prod.wait_acked(500, 30, "before the flapping")
            leader = leader_of(ctx, topic, 0)
            follower = next(x for x in zk_state(ctx, topic, 0)["isr"] if x != leader)
            seed = random.randrange(1 << 30)
            rnd = random.Random(seed)
            net.log(f"flapping the link {leader}-{follower} ({topic}-0 leader-follower) for 20 s, seed {seed}")
            min_isr = {}
            t_end = time.monotonic() + 20
            flaps = 0
            while time.monotonic() < t_end:
                net.cut(leader, follower)
                time.sleep(rnd.uniform(1, 2))
                net.heal(leader, follower)
                flaps += 1
                for q in range(PARTITIONS):
                    n = len(zk_state(ctx, topic, q)["isr"])
                    min_isr[q] = min(min_isr.get(q, n), n)
                time.sleep(rnd.uniform(1, 2))
            net.log(f"{flaps} cuts; smallest ISR seen per partition {min_isr}; {prod.n_acked()} acks")
            check(all(n >= 2 for n in min_isr.values()), f"an ISR fell below 2 during the flapping: {min_isr}")
            for b in net.brokers:
                b.check_alive("after the flapping")
        finish(ctx, net, prod, topic, label, pause_limit_ms=FLAP_PAUSE_MS)
