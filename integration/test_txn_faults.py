"""A short Jepsen-style workload for transactions: three brokers (replication factor 3, min.insync.replicas 2,
`__transaction_state` RF 3 / min.isr 2), three transactional producers (distinct transactional ids, the
TxnClient of test_transactions.py) writing numbered values to the 4 partitions of one topic in transactions
of 1-20 records, committing about 80 % and aborting about 20 % (after flushing: the aborted records are in
the log), two read_committed consumers reading all the time, and faults one after the other, each on a
healthy cluster: kill -9 of a partition leader (restarted once its ZooKeeper session is gone), SIGSTOP of the
transaction coordinator of one producer until another broker coordinates it (SIGCONT then), kill -9 of the
controller (restarted likewise).

A producer with a fatal error (fenced after a coordinator change) re-creates itself and calls
init_transactions() again. A transaction whose outcome the client does not know (commit_transaction raised)
is judged by what a final read_committed read shows; all or nothing is still required.

The checker counts (every count must be 0):
  lost               values of committed transactions missing from the final read_committed read, and values
                     of that read a consumer never delivered (after it caught up);
  duplicates         a value read twice (in the final read, or by one consumer);
  aborted_reads      values of aborted transactions (client-aborted, never committed, or unknown and
                     invisible in the end) delivered by a consumer or present in the final read;
  uncommitted_reads  values a consumer delivered before their transaction's commit_transaction() was called;
  non_monotonic      records whose offset is not above the consumer's previous one in that partition;
  partial            transactions of which some but not all values are in the final read, or were delivered
                     by a consumer that caught up.
and prints `FIGURES txn faults: runs 1, transactions N, committed N, aborted N, faults N, lost 0, ...`."""

import collections
import os
import threading
import time

from harness import Failure, bootstrap_of, check, timeout, torture_only, unique_topic, wait_until
from test_cluster import (by_id, create_topic_rf, wait_isr_full, wait_new_leader, wait_unregistered, zk_controller,
                          zk_state)
from test_confluent import ck
from test_transactions import (TXN_PARTITIONS, TXN_THREE, TXN_TOPIC, TxnClient, consume_to_end,
                               find_txn_coordinator, wait_stable)

PARTITIONS = [0, 1, 2, 3]
# The workload's clock: each fault starts at its time (or as soon as the cluster is healthy again after the
# previous one, if that is later), and the producers run until RUN_SECONDS at least.
# make check runs the short clock; make torture (GREGOR_TXN_FAULTS_LONG=1) the long one.
if os.environ.get("GREGOR_TXN_FAULTS_LONG") == "1":
    FAULT_AT = (8, 35, 60)
    RUN_SECONDS = 80
else:
    FAULT_AT = (6, 22, 38)
    RUN_SECONDS = 50


class Reader(threading.Thread):
    """A read_committed confluent-kafka consumer assigned every partition from the beginning, recording
    (receipt time, partition, offset, value) of everything it delivers until stop().

    auto.offset.reset=error: librdkafka 2.0.2 predates KIP-320 (it sends no current leader epoch in Fetch and
    does not validate its position after a leader change), so it follows whatever leader a Metadata answer
    names. A broker resumed after SIGSTOP past its ZooKeeper session still believes, for the moment before it
    handles the session expiry, that it leads its partitions, as a Kafka broker in ZooKeeper mode does: it
    answers Metadata from its stale cache and a Fetch past its stale log end with OFFSET_OUT_OF_RANGE, and
    with auto.offset.reset=earliest the client would start over from offset 0. The reader instead resumes at
    its own next offset (incremental unassign/assign: librdkafka refuses a seek once the reset failed) and
    records the event in `resets`."""

    def __init__(self, brokers, topic, name):
        super().__init__(daemon=True)
        self.topic, self.name = topic, name
        self.conf = {"bootstrap.servers": bootstrap_of(brokers), "group.id": f"gregor-it-reader-{name}",
                     "enable.auto.commit": False, "enable.auto.offset.store": False,
                     "isolation.level": "read_committed", "auto.offset.reset": "error",
                     "fetch.wait.max.ms": 100, "socket.timeout.ms": 10000, "topic.metadata.refresh.interval.ms": 1000,
                     "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500,
                     "error_cb": lambda e: self._err(f"error_cb: {e}")}
        self.mu = threading.Lock()
        self.recs = []
        self.errors = []
        self.resets = []  # (time, partition, resumed at, error)
        self.next = {}  # partition -> offset after the last record delivered
        self._halt = threading.Event()
        self.exc = None

    def _err(self, s):
        with self.mu:
            self.errors.append((time.monotonic(), s))

    def run(self):
        k = ck()
        try:
            c = k.Consumer(self.conf)
            c.assign([k.TopicPartition(self.topic, p, k.OFFSET_BEGINNING) for p in PARTITIONS])
            try:
                while not self._halt.is_set():
                    for m in c.consume(num_messages=1000, timeout=0.2):
                        now = time.monotonic()
                        if m.error():
                            code = m.error().code()
                            if code == k.KafkaError._AUTO_OFFSET_RESET and (m.partition() or 0) >= 0:
                                p = m.partition()
                                at = self.next.get(p, 0)
                                with self.mu:
                                    self.resets.append((now, p, at, str(m.error())))
                                c.incremental_unassign([k.TopicPartition(self.topic, p)])
                                c.incremental_assign([k.TopicPartition(self.topic, p, at)])
                            elif code != k.KafkaError._PARTITION_EOF:
                                self._err(str(m.error()))
                            continue
                        self.next[m.partition()] = m.offset() + 1
                        with self.mu:
                            self.recs.append((now, m.partition(), m.offset(), m.value()))
            finally:
                c.close()
        except BaseException as e:  # noqa: BLE001 - reported by stop()
            self.exc = e

    def values(self):
        with self.mu:
            return {v for _, _, _, v in self.recs}

    def stop(self):
        self._halt.set()
        self.join(30)
        check(not self.is_alive(), f"reader {self.name} did not stop")
        if self.exc is not None:
            raise Failure(f"reader {self.name} failed: {self.exc!r}")


def judge(txns, final, readers):
    """The checker (see the module docstring). final: {tp: [(offset, value)]} of the final read_committed read.
    Returns (figures, problems)."""
    visible = collections.Counter(v for recs in final.values() for _, v in recs)
    of = {}
    for t in txns:
        for v in t.values:
            of[v] = t
    fig = collections.Counter()
    problems = []
    outcome = {}  # txn -> committed | aborted, as the end shows it
    for t in txns:
        n_vis = sum(1 for v in t.values if visible[v])
        fig["transactions"] += 1
        if t.status == "unknown":
            outcome[t] = "committed" if n_vis == len(t.values) else "aborted"
        else:
            outcome[t] = "committed" if t.status == "committed" else "aborted"
        fig[outcome[t]] += 1
        fig["status " + t.status] += 1
        if 0 < n_vis < len(t.values):
            fig["partial"] += 1
            problems.append(f"final read: txn {t.client}-{t.seq} ({t.status} {t.how}) {n_vis} of {len(t.values)} "
                            f"values visible")
        if outcome[t] == "committed" and n_vis < len(t.values):
            fig["lost"] += len(t.values) - n_vis
            problems.append(f"final read: committed txn {t.client}-{t.seq} misses {len(t.values) - n_vis} values")
        if outcome[t] == "aborted" and n_vis and t.status != "unknown":
            fig["aborted_reads"] += n_vis
            problems.append(f"final read: {t.status} txn {t.client}-{t.seq} ({t.how}) has {n_vis} values visible")
    for v, n in visible.items():
        if n > 1:
            fig["duplicates"] += n - 1
            problems.append(f"final read: {v!r} {n} times")
        if v not in of:
            fig["aborted_reads"] += 1
            problems.append(f"final read: {v!r} was written by no transaction")

    for r in readers:
        with r.mu:
            recs = list(r.recs)
        seen = collections.Counter(v for _, _, _, v in recs)
        last = {}
        for when, p, off, v in recs:
            if p in last and off <= last[p]:
                fig["non_monotonic"] += 1
                problems.append(f"reader {r.name}: partition {p} offset {off} after {last[p]}")
            last[p] = off
            t = of.get(v)
            if t is None:
                fig["aborted_reads"] += 1
                problems.append(f"reader {r.name}: {v!r} at {p}/{off} was written by no transaction")
                continue
            if outcome[t] == "aborted":
                fig["aborted_reads"] += 1
                problems.append(f"reader {r.name}: {v!r} at {p}/{off} of {t.status} txn {t.client}-{t.seq} ({t.how})")
            elif t.t_commit is not None and when < t.t_commit:
                fig["uncommitted_reads"] += 1
                problems.append(f"reader {r.name}: {v!r} at {p}/{off} delivered {t.t_commit - when:.3f}s before "
                                f"commit_transaction() was called")
        for v, n in seen.items():
            if n > 1:
                fig["duplicates"] += n - 1
                problems.append(f"reader {r.name}: {v!r} delivered {n} times")
        missing = [v for v in visible if v not in seen]
        if missing:
            fig["lost"] += len(missing)
            problems.append(f"reader {r.name}: {len(missing)} values of the final read never delivered, e.g. "
                            f"{missing[:3]}")
        for t in txns:
            n_seen = sum(1 for v in t.values if seen[v])
            if 0 < n_seen < len(t.values):
                fig["partial"] += 1
                problems.append(f"reader {r.name}: txn {t.client}-{t.seq} ({t.status}) {n_seen} of "
                                f"{len(t.values)} values delivered")
    return fig, problems


class Workload:
    """The workload and its checker on a running three-broker cluster (ctx.start_cluster, or the brokers of a
    netfault.NetSplitCluster; test_txn_netsplit.py reuses it): creates the topic (4 partitions, replication
    factor 3, min.insync.replicas 2) and `__transaction_state` (FindCoordinator for each transactional id),
    makes the three TxnClients and the two Readers; start() starts them and the clock t0; fault(), log(),
    progress(), healthy() and at() run a fault schedule; abort() stops everything when the schedule failed;
    finish(label) stops the producers, makes the final read_committed read, runs judge() and prints
    `FIGURES <label>: runs 1, ...` and the details, and fails the test on any problem."""

    def __init__(self, ctx, brokers, topic_prefix="txf", tid_prefix="tid-f"):
        self.ctx, self.brokers = ctx, brokers
        self.topic = unique_topic(topic_prefix)
        create_topic_rf(brokers, self.topic, len(PARTITIONS), 3, configs={"min.insync.replicas": "2"})
        wait_isr_full(ctx, brokers, self.topic, PARTITIONS)
        seed = int.from_bytes(os.urandom(4), "big")
        print(f"seed {seed}")
        self.tids = [unique_topic(f"{tid_prefix}{i}") for i in range(3)]
        for tid in self.tids:
            find_txn_coordinator(brokers, tid)
        wait_isr_full(ctx, brokers, TXN_TOPIC, range(TXN_PARTITIONS))
        self.clients = [TxnClient(brokers, tid, self.topic, PARTITIONS, f"p{i}",
                                  sizes=lambda rng: rng.randint(1, 20), abort_ratio=0.2, seed=seed + i)
                        for i, tid in enumerate(self.tids)]
        self.readers = [Reader(brokers, self.topic, f"r{i}") for i in range(2)]
        self.faults = []
        self.t0 = None

    def start(self):
        for x in self.readers + self.clients:
            x.start()
        self.t0 = time.monotonic()

    def log(self, msg):
        print(f"[{time.monotonic() - self.t0:6.1f}s] {msg}")

    def fault(self, msg):
        self.faults.append(msg)
        self.log(f"{msg}; commits {[c.n_committed() for c in self.clients]}")

    def progress(self, n, t, what, only=None):
        for c in (only or self.clients):
            c.wait_committed(c.n_committed() + n, t, what)

    def healthy(self, what):
        for b in self.brokers:
            b.check_alive(what)
        wait_isr_full(self.ctx, self.brokers, self.topic, PARTITIONS, timeout_s=90)
        wait_isr_full(self.ctx, self.brokers, TXN_TOPIC, range(TXN_PARTITIONS), timeout_s=90)

    def at(self, seconds):
        delay = self.t0 + seconds - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # the workload's schedule, not a wait for state

    def abort(self):
        """After a failure of the schedule: stops the producers (reporting their failures) and the readers."""
        for c in self.clients:
            try:
                c.stop(t=30)
            except Failure as e:
                print(f"(while failing) {e}")
        for r in self.readers:
            r._halt.set()  # noqa: SLF001

    def finish(self, label):
        clients, readers, brokers, t0 = self.clients, self.readers, self.brokers, self.t0
        for c in clients:
            c.stop()
        print(f"[{time.monotonic() - t0:6.1f}s] producers stopped: {[dict(c.counts()) for c in clients]}")

        tps = [(self.topic, p) for p in PARTITIONS]
        try:
            ends = wait_stable(brokers, tps, t=90)
            final = consume_to_end(bootstrap_of(brokers), tps, "read_committed", t=90)
            final_values = {v for recs in final.values() for _, v in recs}
            try:
                wait_until(lambda: all(final_values <= r.values() for r in readers), 60,
                           "both readers to deliver every value of the final read", interval=0.2)
            except Failure as e:
                print(f"{e} (counted as lost below)")
        finally:
            for r in readers:
                r.stop()
        print(f"end offsets {ends}; final read {len(final_values)} values")
        txns = [t for c in clients for t in c.txns]
        fig, problems = judge(txns, final, readers)
        print(f"FIGURES {label}: runs 1, transactions {fig['transactions']}, committed {fig['committed']}, aborted "
              f"{fig['aborted']}, faults {len(self.faults)}, lost {fig['lost']}, duplicates {fig['duplicates']}, "
              f"aborted_reads {fig['aborted_reads']}, uncommitted_reads {fig['uncommitted_reads']}, non_monotonic "
              f"{fig['non_monotonic']}, partial {fig['partial']}")
        print("client outcomes: " + ", ".join(f"{k[7:]} {v}" for k, v in sorted(fig.items())
                                              if k.startswith("status "))
              + f"; producers created {[c.producers for c in clients]}; records read by the readers "
              f"{[len(r.recs) for r in readers]}")
        for c in clients:
            print(f"  {c.name} latencies: {c.latency_summary()}")
            with c.mu:
                for when, what in c.events:
                    if "initialised" not in what or c.producers > 1:
                        print(f"  {c.name} [{when - t0:6.1f}s] {what}")
        for r in readers:
            with r.mu:
                errs = list(r.errors)
                resets = list(r.resets)
            for when, p, at, err in resets:
                print(f"  reader {r.name} [{when - t0:6.1f}s]: partition {p}: {err}; resumed at offset {at}")
            if errs:
                print(f"  reader {r.name}: {len(errs)} errors, first {[(round(w - t0, 1), s) for w, s in errs[:5]]}")
        check(not problems, f"{len(problems)} problems: {problems[:12]}")
        return fig


@torture_only
@timeout(420)
def test_txn_faults_workload(ctx):
    brokers = ctx.start_cluster(3, extra=TXN_THREE)
    ids = by_id(brokers)
    w = Workload(ctx, brokers)
    w.start()
    topic, tids, progress, healthy, at, fault = w.topic, w.tids, w.progress, w.healthy, w.at, w.fault
    paused = None
    try:
        progress(3, 60, "before any fault")

        # 1. kill -9 the leader of partition 0.
        at(FAULT_AT[0])
        leader = zk_state(ctx, topic, 0)["leader"]
        fault(f"kill -9 broker {leader}, leader of {topic}-0 (controller {zk_controller(ctx)})")
        ids[leader].kill9()
        wait_new_leader(ctx, topic, 0, leader)
        progress(2, 90, f"with broker {leader} dead")
        wait_unregistered(ctx, leader)
        ids[leader].start()
        w.log(f"broker {leader} restarted")
        healthy(f"after broker {leader}'s restart")
        progress(2, 60, f"after broker {leader} came back")

        # 2. SIGSTOP the transaction coordinator of p0 until another broker coordinates its id.
        at(FAULT_AT[1])
        coord = find_txn_coordinator(brokers, tids[0])
        fault(f"SIGSTOP broker {coord}, transaction coordinator of {tids[0]} (controller {zk_controller(ctx)})")
        ids[coord].pause()
        paused = ids[coord]
        new = find_txn_coordinator([b for b in brokers if b.broker_id != coord], tids[0], t=60, not_node=coord)
        w.log(f"broker {new} coordinates {tids[0]}")
        progress(2, 90, f"while broker {coord} is stopped", only=[w.clients[0]])
        paused.resume()
        paused = None
        w.log(f"SIGCONT broker {coord}")
        healthy(f"after broker {coord} was resumed")
        progress(2, 60, f"after broker {coord} was resumed")

        # 3. kill -9 the controller.
        at(FAULT_AT[2])
        ctrl = zk_controller(ctx)
        fault(f"kill -9 broker {ctrl}, the controller")
        ids[ctrl].kill9()
        wait_until(lambda: (lambda c: c is not None and c != ctrl)(_controller_or_none(ctx)), 40,
                   f"a controller other than broker {ctrl}", interval=0.1)
        progress(2, 90, f"with the controller {ctrl} dead")
        wait_unregistered(ctx, ctrl)
        ids[ctrl].start()
        w.log(f"broker {ctrl} restarted")
        healthy(f"after broker {ctrl}'s restart")
        progress(2, 60, f"after broker {ctrl} came back")
        at(RUN_SECONDS)
    except BaseException:
        if paused is not None:
            paused.resume()
        w.abort()
        raise
    w.finish("txn faults")


def _controller_or_none(ctx):
    try:
        return zk_controller(ctx)
    except Exception:  # noqa: BLE001 - /controller is absent between two controllers
        return None
