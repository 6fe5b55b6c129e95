"""Live migration from Apache Kafka (issue 13): a running three-broker Kafka cluster (ZooKeeper mode) has its
brokers replaced by gregord one at a time, with the same broker.id, the same server.properties file and the same
log directories, while an acks=all producer and a consumer group keep running; then one broker goes back to Kafka.

Needs a Kafka distribution (KAFKA_HOME: bin/kafka-server-start.sh, libs/); skipped with a message without one,
as in CI. The cluster runs with inter.broker.protocol.version and log.message.format.version pinned to the
distribution's own version (KAFKA_IBP, default 2.4), as the Kafka upgrade notes have operators do before a
rolling change of brokers.

Steps: Kafka brokers 1, 2, 3 (each with its own log dir and port); topic with 3 partitions, replication factor 3
and min.insync.replicas=2; a confluent-kafka producer (acks=all, numbered records, 300/s) and a confluent-kafka
group consumer (auto commit) start. Then for broker 1, 2, 3 in turn: SIGTERM the Kafka broker (a controlled
shutdown: its leaderships move first), start gregord on its properties file, wait until it is back in the ISR of
every partition of the topic and of __consumer_offsets. Last, broker 1 goes back to Kafka the same way.

Throughout, too, test_txn_faults.py's transactional workload (three transactional producers committing and
aborting, two read_committed readers), whose transaction coordinators move between kinds with the brokers.

Checker: every acknowledged record is in the log (kafka-python reads it all), the group consumer read every
acknowledged record, the group's committed offsets never went backwards (OffsetFetch from the coordinator every
200 ms, recording which broker answered), no delivery
failed, the transactional checker finds nothing lost, duplicated, aborted or uncommitted visible, reordered or
partial, and the replicas of each partition are byte-identical at the end. Figures per step: seconds until the
new broker was back in every ISR, and the longest pause between two acknowledgements."""

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import kproto
from harness import Broker, Failure, Skip, check, eq, exclusive, free_port, tail, timeout, unique_topic, wait_until
from test_cluster import (SeqProducer, check_no_acked_loss, consume_all_kafka_python, create_topic_rf,
                          wait_isr_full, wait_replicas_identical, zk_state)
from test_confluent import ck
from test_transactions import TXN_PARTITIONS
from test_txn_faults import Workload

PARTITIONS = 3
OFFSETS_PARTITIONS = 3


def kafka_home():
    home = os.environ.get("KAFKA_HOME")
    if not home:
        raise Skip("needs a Kafka distribution in ZooKeeper mode: set KAFKA_HOME (none exists in CI)")
    script = Path(home) / "bin" / "kafka-server-start.sh"
    if not script.exists():
        raise Skip(f"KAFKA_HOME={home} has no bin/kafka-server-start.sh")
    return Path(home)


def write_properties(ctx, broker_id, port, log_dir, ibp):
    """The one server.properties both kinds of broker run on."""
    path = ctx.dir / f"server-{broker_id}.properties"
    path.write_text("\n".join([
        f"broker.id={broker_id}",
        f"listeners=PLAINTEXT://127.0.0.1:{port}",
        f"log.dirs={log_dir}",
        f"zookeeper.connect={ctx.zk_hosts}{ctx.chroot}",
        "zookeeper.session.timeout.ms=6000",
        f"inter.broker.protocol.version={ibp}",
        f"log.message.format.version={ibp}",
        f"offsets.topic.num.partitions={OFFSETS_PARTITIONS}",
        f"transaction.state.log.num.partitions={TXN_PARTITIONS}",
        "offsets.topic.replication.factor=3",
        "transaction.state.log.replication.factor=3",
        "transaction.state.log.min.isr=2",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=false",
        "num.partitions=1",
        "log.retention.hours=168",
        "controlled.shutdown.enable=true",
        "",
    ]))
    return path


class KafkaBroker:
    """One Apache Kafka broker process (kafka-server-start.sh, which execs the JVM)."""

    def __init__(self, ctx, home, broker_id, port, log_dir, props):
        self.ctx, self.home, self.broker_id, self.port = ctx, home, broker_id, port
        self.log_dir, self.props = log_dir, props
        self.log_path = ctx.dir / f"kafka-{broker_id}.log"
        self.proc = None

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=90):
        # Kafka's transaction coordinator logs its marker retries (a disconnect included) only at TRACE.
        log4j = self.ctx.dir / "kafka-log4j.properties"
        if not log4j.exists():
            log4j.write_text((self.home / "config" / "log4j.properties").read_text() +
                             "\nlog4j.logger.kafka.coordinator.transaction=TRACE\n")
        env = dict(os.environ, KAFKA_HEAP_OPTS="-Xmx512m -Xms256m",
                   LOG_DIR=str(self.ctx.dir / f"kafka-{self.broker_id}-logs"),
                   KAFKA_LOG4J_OPTS=f"-Dlog4j.configuration=file:{log4j}")
        self.proc = self.ctx.popen([str(self.home / "bin" / "kafka-server-start.sh"), str(self.props)],
                                   log_name=self.log_path.name, env=env)
        wait_ready(self, timeout, "Kafka")
        return self

    def check_alive(self, what=""):
        if not self.alive():
            raise Failure(f"Kafka broker {self.broker_id} died {what} (exit {self.proc.returncode}):\n"
                          f"{tail(self.log_path, 20)}")

    def stop(self, timeout=120):
        if not self.alive():
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"Kafka broker {self.broker_id} did not exit within {timeout}s of SIGTERM")


def wait_ready(b, timeout_s, kind):
    def ready():
        if not b.alive():
            raise Failure(f"{kind} broker {b.broker_id} exited during startup:\n{tail(b.log_path, 20)}")
        try:
            with kproto.connect(b.bootstrap, timeout=2) as c:
                md = kproto.metadata_v1(c, [])
        except (OSError, kproto.ProtocolError):
            return False
        return md["controller"] >= 0 and any(x["node_id"] == b.broker_id for x in md["brokers"])
    wait_until(ready, timeout_s, f"{kind} broker {b.broker_id} ready on {b.bootstrap}", interval=0.2)


class GregordOnProperties(Broker):
    """gregord started on a Kafka broker's properties file, nothing else on its command line."""

    def __init__(self, ctx, kafka):
        super().__init__(ctx, kafka.broker_id, log_dir=kafka.log_dir)
        self.port = kafka.port
        self.props = kafka.props
        self.env = {"GLOG_vmodule": "write_txn_markers=1"}  # each marker written, for the transaction checker

    def args(self):
        return [self.binary, str(self.props)]


class GroupReader(threading.Thread):
    """A confluent-kafka group member reading the topic (auto commit every 200 ms), and a second consumer of
    the same group id polling its committed offsets for regressions."""

    def __init__(self, bootstrap, topic, group):
        super().__init__(daemon=True)
        self.k = ck()
        self.bootstrap, self.topic, self.group = bootstrap, topic, group
        self.seen = set()
        self.errors = []
        self.history = {}
        self.backwards = []
        self.stop_ev = threading.Event()
        self.watcher = threading.Thread(target=self.watch, daemon=True)

    def run(self):
        c = self.k.Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group,
                             "auto.offset.reset": "earliest", "enable.auto.commit": True,
                             "auto.commit.interval.ms": 200, "session.timeout.ms": 10000,
                             "topic.metadata.refresh.interval.ms": 1000, "reconnect.backoff.max.ms": 500})
        c.subscribe([self.topic])
        try:
            while not self.stop_ev.is_set():
                m = c.poll(0.1)
                if m is None:
                    continue
                if m.error():
                    if not m.error().retriable() and m.error().code() != self.k.KafkaError._PARTITION_EOF:
                        self.errors.append((time.monotonic(), f"{time.strftime('%H:%M:%S')} {m.error()}",
                                            m.error().name()))
                    continue
                if m.value().isdigit():
                    self.seen.add(int(m.value()))
        finally:
            c.close()

    def watch(self):
        """Every 200 ms: FindCoordinator, then OffsetFetch from that broker; a committed offset lower than one
        seen before is recorded with the time and the broker that answered each."""
        brokers = self.bootstrap.split(",")
        last_from = {}
        n = 0
        while not self.stop_ev.is_set():
            n += 1
            try:
                with kproto.connect(brokers[n % len(brokers)], timeout=2) as c:
                    err, node, host, port = kproto.find_coordinator_v1(c, self.group)
                if err != 0:
                    time.sleep(0.2)
                    continue
                with kproto.connect(f"{host}:{port}", timeout=2) as c:
                    got = kproto.offset_fetch_v1(c, self.group, self.topic, range(PARTITIONS))
            except (OSError, kproto.ProtocolError):
                time.sleep(0.2)
                continue
            for p, (off, perr) in got.items():
                if perr != 0 or off < 0:
                    continue
                h = self.history.setdefault(p, [])
                if h and off < h[-1]:
                    self.backwards.append((p, h[-1], off, time.strftime("%H:%M:%S"),
                                           f"from broker {last_from.get(p)} then {node}"))
                h.append(off)
                last_from[p] = node
            time.sleep(0.2)

    def __enter__(self):
        self.start()
        self.watcher.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        self.join(30)
        self.watcher.join(30)
        return False


def pause_in(prod, t0, t1):
    """The longest gap (ms) between consecutive acknowledgements in [t0, t1], the window's edges included."""
    with prod.mu:
        ts = [t for t in prod.ack_times if t0 <= t <= t1]
    marks = [t0] + ts + [t1]
    return max(b - a for a, b in zip(marks, marks[1:])) * 1000


@exclusive
@timeout(900)
def test_kafka_migration_replace_every_broker_then_roll_back(ctx):
    home = kafka_home()
    ibp = os.environ.get("KAFKA_IBP", "2.4")
    kafkas = {}
    for i in (1, 2, 3):
        port = free_port()
        log_dir = ctx.mkdir(f"data-{i}")
        kafkas[i] = KafkaBroker(ctx, home, i, port, log_dir, write_properties(ctx, i, port, log_dir, ibp))
    for k in kafkas.values():
        k.start()
    current = dict(kafkas)  # broker id -> the process serving it now
    topic = unique_topic("mig")
    create_topic_rf(list(current.values()), topic, PARTITIONS, 3, configs={"min.insync.replicas": "2"})
    wait_isr_full(ctx, list(current.values()), topic, list(range(PARTITIONS)))
    bootstrap = ",".join(b.bootstrap for b in kafkas.values())
    # Three transactional producers (commits and aborts) and two read_committed readers throughout, judged
    # as in test_txn_faults.py: their coordinators move between kinds with the brokers.
    txn = Workload(ctx, list(current.values()), topic_prefix="migtx", tid_prefix="mig-tid")
    txn.start()
    figures = []
    finished = False
    try:
        with SeqProducer(list(current.values()), topic, partitions=PARTITIONS, rate=300) as prod, \
                GroupReader(bootstrap, topic, unique_topic("mig-g")) as reader:
            prod.wait_acked(1500, 60, "before the first replacement")
            wait_until(lambda: len(reader.seen) > 500, 60, "the group consumer reading")
            wait_isr_full(ctx, list(current.values()), "__consumer_offsets", list(range(OFFSETS_PARTITIONS)))

            kafka_starts = []  # (from, to): a Kafka broker starting until it is back in every ISR

            def replace(i, new, kind):
                t0 = time.monotonic()
                old = current[i]
                rc = old.stop(timeout=120)
                stopped = time.monotonic()
                new.start(timeout=90)
                current[i] = new
                started = time.monotonic()
                wait_isr_full(ctx, list(current.values()), topic, list(range(PARTITIONS)), timeout_s=120)
                wait_isr_full(ctx, list(current.values()), "__consumer_offsets", list(range(OFFSETS_PARTITIONS)),
                              timeout_s=120)
                back = time.monotonic()
                if kind == "kafka":
                    kafka_starts.append((stopped, back))
                prod.wait_more(300, 60, f"after broker {i} became {kind}")
                txn.progress(3, 60, f"transactions after broker {i} became {kind}")
                end = time.monotonic()
                leaders = [zk_state(ctx, topic, p)["leader"] for p in range(PARTITIONS)]
                figures.append(f"broker {i} -> {kind}: old exit {rc}, shutdown {stopped - t0:.1f} s, start "
                               f"{started - stopped:.1f} s, back in every ISR {back - stopped:.1f} s after the stop, "
                               f"longest ack pause {pause_in(prod, t0, end):.0f} ms, leaders now {leaders}")
                print(f"FIGURES kafka migration ({time.strftime('%H:%M:%S')}):", figures[-1])

            for i in (1, 2, 3):
                replace(i, GregordOnProperties(ctx, kafkas[i]), "gregord")
            # Back to Kafka: the same files, now written by gregord.
            replace(1, KafkaBroker(ctx, home, 1, kafkas[1].port, kafkas[1].log_dir, kafkas[1].props), "kafka")
            prod.wait_more(600, 60, "at the end")
            txn.progress(5, 60, "at the end")
            txn.brokers = list(current.values())
            txn.finish(f"kafka migration transactions (IBP {ibp})")
            eq(prod.stop(), 0, "deliveries still outstanding")
            eq(prod.errors[:5], [], "failed deliveries")
            brokers = list(current.values())
            got = consume_all_kafka_python(brokers, topic, list(range(PARTITIONS)))
            check_no_acked_loss(prod, got, "kafka migration")
            with prod.mu:
                acked = set(prod.acked)
            wait_until(lambda: acked <= reader.seen, 60,
                       f"the group consumer to read every acknowledged record ({len(acked - reader.seen)} left)")
        finished = True
    finally:
        if not finished:
            txn.abort()

    for t, n in ((topic, PARTITIONS), (txn.topic, 4)):
        for p in range(n):
            wait_replicas_identical(ctx, brokers, t, p)
    commits = sum(len(h) for h in reader.history.values())
    print(f"FIGURES kafka migration (IBP {ibp}): {len(acked)} acknowledged, group read {len(reader.seen)}, "
          f"committed offsets polled {commits}, regressions {len(reader.backwards)}")
    check(commits > 0, "no committed offset was ever seen")
    eq(reader.backwards, [], "committed offsets that went backwards (partition, before, after, wall time, brokers)")
    # A Kafka broker listens before it registers, and answers Metadata without the topics until the controller's
    # first UpdateMetadata reaches it (Kafka 2.4's behaviour whichever broker is the controller): a consumer that
    # asks it then reports the subscribed topic unavailable. Tolerated only then.
    starting = [e for e in reader.errors
                if e[2] == "UNKNOWN_TOPIC_OR_PART" and any(a <= e[0] <= b for a, b in kafka_starts)]
    if starting:
        print(f"group consumer: {len(starting)} UNKNOWN_TOPIC_OR_PART while a Kafka broker started: "
              f"{[e[1] for e in starting][:3]}")
    eq([e[1] for e in reader.errors if e not in starting][:5], [], "group consumer errors")
    for b in brokers:
        check(b.alive(), f"broker {b.broker_id} died")
