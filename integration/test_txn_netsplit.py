"""The transactional workload of test_txn_faults.py (three transactional producers, two read_committed readers,
the same checker: lost, duplicates, aborted_reads, uncommitted_reads, non_monotonic, partial, all 0) under
network partitions instead of kill -9 and SIGSTOP: ZooKeeper and three brokers in the test's own network
namespace (netfault.NetSplitCluster), with test_txn_faults' broker settings (TXN_THREE: 6 s ZooKeeper session,
replica.lag.time.max.ms 5000, `__transaction_state` RF 3 / min.isr 2; the topic RF 3 / min.insync.replicas 2).
Nothing is killed: every broker keeps running and keeps talking to whoever it can still reach; the producers
and readers run as root and are never cut (netfault.py), so they still reach a broker that is cut off.

Faults, one after the other, each on a healthy cluster (full ISRs of the topic and of `__transaction_state`)
and each followed by fresh commits of every producer:
  1. the transaction coordinator of producer p0 cut from ZooKeeper (netfault cut_zk) until its session has
     expired and another broker coordinates p0's transactional id (the cut-off broker still reaches the other
     brokers and the clients, and still believes it leads its partitions), a few seconds more, then healed;
  2. the leader of partition 0 cut from both followers (it keeps ZooKeeper and its clients) for CUT_SECONDS:
     its ISR shrinks to itself and min.insync.replicas 2 holds its writes until the followers are back;
  3. the transaction coordinator of producer p1 isolated (netfault isolate: cut from ZooKeeper and from both
     other brokers, not from the clients) for CUT_SECONDS at least and until another broker coordinates p1's
     id, then healed;
  4. (long clock only) the link between the leader of partition 1 and one of its followers going down and up
     every 1-2 s for FLAP_SECONDS.
and prints `FIGURES txn netsplit: runs 1, transactions N, committed N, aborted N, faults N, lost 0, ...`.

make check runs the short clock (about 60 s of workload); make torture (GREGOR_TXN_FAULTS_LONG=1) the long one
with the flapping link."""

import os
import random
import time

from harness import Failure, timeout, torture_only, wait_until
from netfault import NetSplitCluster
from test_cluster import by_id, zk_controller, zk_state
from test_transactions import TXN_THREE, describe_txn, find_txn_coordinator
from test_txn_faults import Workload

LONG = os.environ.get("GREGOR_TXN_FAULTS_LONG") == "1"
# The workload's clock (as in test_txn_faults: each fault starts at its time, or as soon as the cluster is
# healthy again after the previous one if that is later; the producers run until RUN_SECONDS at least).
if LONG:
    FAULT_AT = (8, 40, 70, 100)
    RUN_SECONDS = 135
    CUT_SECONDS = 10
    FLAP_SECONDS = 20
else:
    FAULT_AT = (4, 20, 36)
    RUN_SECONDS = 45
    CUT_SECONDS = 10
    FLAP_SECONDS = 0
# Fault 1: how long the coordinator stays cut from ZooKeeper after its session expired and another broker
# took over its transactional id (the deposed broker, still reachable by clients and brokers, is a zombie
# leader and coordinator meanwhile).
ZOMBIE_SECONDS = 3


def registered(ctx, broker_id):
    return ctx.zk().exists(f"/brokers/ids/{broker_id}") is not None


@torture_only
@timeout(420 if LONG else 200)
def test_txn_netsplit_workload(ctx):
    with NetSplitCluster(ctx, 3, extra=TXN_THREE) as net:
        brokers = net.brokers
        ids = by_id(brokers)
        w = Workload(ctx, brokers, topic_prefix="txn", tid_prefix="tid-n")
        w.start()
        net.log("workload started (the times in [ ] below count from here)")
        topic, tids, clients, healthy, at, fault = w.topic, w.tids, w.clients, w.healthy, w.at, w.fault

        def txn_states():
            """{producer: its transactional id's state as its coordinator describes it} (for a failure)."""
            out = {}
            for c in clients:
                try:
                    node = find_txn_coordinator(brokers, c.tid, t=5)
                    d = describe_txn(ids[node], c.tid)
                    out[c.name] = f"coordinator {node}: {d['state']} (error {d['error']})"
                except Exception as e:  # noqa: BLE001 - a diagnostic only
                    out[c.name] = repr(e)
            return out

        def progress(n, t, what, only=None):
            try:
                w.progress(n, t, what, only=only)
            except Failure as e:
                raise Failure(f"{e}; DescribeTransactions: {txn_states()}") from e

        def others(b):
            return [x for x in brokers if x.broker_id != b]

        def soft_progress(client, n, until, what):
            """Commits of one producer while a fault lasts, reported (not required: a cut-off broker that clients
            still reach may keep answering as leader or coordinator until it learns otherwise)."""
            base = client.n_committed()
            try:
                wait_until(lambda: client.n_committed() >= base + n, max(until - time.monotonic(), 0.1),
                           f"{client.name}: {n} commits {what}", interval=0.05)
                w.log(f"{client.name} committed {client.n_committed() - base} transactions {what}")
            except Failure:
                w.log(f"{client.name} committed {client.n_committed() - base} transactions {what} (no progress)")

        def hold_until(t):
            delay = t - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # the length of the cut, not a wait for state

        try:
            progress(3, 60, "before any fault")

            # 1. The coordinator of p0 cut from ZooKeeper until its session expires and another broker
            # coordinates p0's id.
            at(FAULT_AT[0])
            coord = find_txn_coordinator(brokers, tids[0])
            fault(f"broker {coord}, transaction coordinator of {tids[0]}, cut from ZooKeeper (controller "
                  f"{zk_controller(ctx)})")
            net.cut_zk(coord)
            wait_until(lambda: not registered(ctx, coord), 30,
                       f"/brokers/ids/{coord} to go (session expiry of the broker cut from ZooKeeper)", interval=0.1)
            w.log(f"session of broker {coord} expired")
            new = find_txn_coordinator(others(coord), tids[0], t=60, not_node=coord)
            w.log(f"broker {new} coordinates {tids[0]} (controller {zk_controller(ctx)})")
            soft_progress(clients[0], 1, time.monotonic() + ZOMBIE_SECONDS,
                          f"while broker {coord} is cut from ZooKeeper")
            net.heal_zk(coord)
            wait_until(lambda: registered(ctx, coord), 40,
                       f"broker {coord} to register again after the link to ZooKeeper healed", interval=0.1)
            w.log(f"broker {coord} registered again")
            healthy(f"after broker {coord}'s link to ZooKeeper healed")
            progress(2, 60, f"after broker {coord}'s link to ZooKeeper healed")

            # 2. The leader of partition 0 cut from its followers.
            at(FAULT_AT[1])
            leader = zk_state(ctx, topic, 0)["leader"]
            followers = [x for x in ids if x != leader]
            fault(f"broker {leader}, leader of {topic}-0, cut from brokers {followers} for {CUT_SECONDS} s "
                  f"(controller {zk_controller(ctx)}; coordinators {[find_txn_coordinator(brokers, t) for t in tids]})")
            t_cut = time.monotonic()
            for f in followers:
                net.cut(leader, f)
            soft_progress(clients[0], 1, t_cut + CUT_SECONDS, f"while broker {leader} is cut from its followers")
            hold_until(t_cut + CUT_SECONDS)
            w.log(f"{topic}-0 state {zk_state(ctx, topic, 0)} before healing")
            for f in followers:
                net.heal(leader, f)
            healthy(f"after broker {leader}'s links to its followers healed")
            progress(2, 60, f"after broker {leader}'s links to its followers healed")

            # 3. The coordinator of p1 isolated (from ZooKeeper and the other brokers, not from the clients).
            at(FAULT_AT[2])
            coord = find_txn_coordinator(brokers, tids[1])
            fault(f"broker {coord}, transaction coordinator of {tids[1]}, isolated from ZooKeeper and brokers "
                  f"{[x for x in ids if x != coord]} (controller {zk_controller(ctx)})")
            t_cut = time.monotonic()
            net.isolate(coord)
            new = find_txn_coordinator(others(coord), tids[1], t=60, not_node=coord)
            w.log(f"broker {new} coordinates {tids[1]} (controller {zk_controller(ctx)})")
            soft_progress(clients[1], 1, max(t_cut + CUT_SECONDS, time.monotonic() + ZOMBIE_SECONDS),
                          f"while broker {coord} is isolated")
            hold_until(t_cut + CUT_SECONDS)
            net.heal_all()
            wait_until(lambda: registered(ctx, coord), 40,
                       f"broker {coord} to register again after its isolation", interval=0.1)
            w.log(f"broker {coord} registered again")
            healthy(f"after broker {coord}'s isolation")
            progress(2, 60, f"after broker {coord}'s isolation")

            # 4. A flapping link (long clock only).
            if FLAP_SECONDS:
                at(FAULT_AT[3])
                a = zk_state(ctx, topic, 1)["leader"]
                b = next(x for x in zk_state(ctx, topic, 1)["isr"] if x != a)
                seed = random.randrange(1 << 30)
                rnd = random.Random(seed)
                fault(f"link {a}-{b} ({topic}-1 leader-follower) flapping for {FLAP_SECONDS} s, seed {seed} "
                      f"(controller {zk_controller(ctx)})")
                t_end = time.monotonic() + FLAP_SECONDS
                flaps = 0
                while time.monotonic() < t_end:
                    net.cut(a, b)
                    time.sleep(rnd.uniform(1, 2))  # the flapping's rhythm
                    net.heal(a, b)
                    flaps += 1
                    time.sleep(rnd.uniform(1, 2))
                w.log(f"{flaps} cuts of the link {a}-{b}")
                healthy(f"after the flapping of the link {a}-{b}")
                progress(2, 60, f"after the flapping of the link {a}-{b}")
            at(RUN_SECONDS)
        except BaseException:
            w.abort()
            raise
        w.finish("txn netsplit")
