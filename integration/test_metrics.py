"""The Prometheus endpoint (metrics.listeners) on three brokers: Kafka's JMX-exporter names count what two
independent clients did (confluent-kafka produces, kafka-python consumes in a group and commits), the gauges follow
the cluster (one active controller, under-replicated partitions after a kill -9, consumer lag computed on the
broker), `promtool check metrics` accepts the output, and a real Prometheus server (Debian's) scrapes all three."""

import json
import re
import shutil
import subprocess
import time
import urllib.request

import kproto
from harness import Skip, check, eq, free_port, timeout, unique_topic, wait_until
from test_confluent import produce_all

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def metrics_port(b):
    m = re.search(r"serving Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics",
                  b.log_path.read_text(errors="replace"))
    check(m, f"broker {b.broker_id} does not log its metrics port")
    return int(m.group(1))


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        eq(r.status, 200, "scrape status")
        check(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers["Content-Type"])
        return r.read().decode()


def samples(text):
    """{(name, frozenset(labels)): value}"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        check(m, f"not a sample line: {line!r}")
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(s, name, **labels):
    return s.get((name, frozenset(labels.items())))


@timeout(240)
def test_metrics_three_brokers_two_clients_promtool_and_prometheus(ctx):
    if not shutil.which("promtool") or not shutil.which("prometheus"):
        raise Skip("Debian's prometheus package (promtool, prometheus) is not installed")
    brokers = ctx.start_cluster(3, extra={"metrics.listeners": "http://127.0.0.1:0", "replica.lag.time.max.ms": "3000"})
    ports = {b.broker_id: metrics_port(b) for b in brokers}
    topic = unique_topic("metrics")
    with kproto.connect(brokers[0].bootstrap) as c:
        eq(kproto.create_topics_v0(c, [(topic, 3, 3, {"min.insync.replicas": "2"})]).get(topic), 0, "CreateTopics")
    bootstrap = ",".join(b.bootstrap for b in brokers)
    records = [(i % 3, None, b"%05d" % i + b"m" * 95) for i in range(3000)]
    produce_all(bootstrap, topic, records)

    # kafka-python consumes 2,000 records in a group and commits: lag 1,000 remains on the brokers' view.
    from kafka import KafkaConsumer, TopicPartition
    group = unique_topic("grp")
    kc = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                       auto_offset_reset="earliest")
    tps = [TopicPartition(topic, p) for p in range(3)]
    kc.assign(tps)
    got = 0
    deadline = time.monotonic() + 30
    while got < 3000 and time.monotonic() < deadline:
        got += sum(len(v) for v in kc.poll(timeout_ms=500).values())
    eq(got, 3000, "records read by kafka-python")
    from kafka.structs import OffsetAndMetadata
    kc.commit({tp: OffsetAndMetadata(600, "") for tp in tps})  # 400 behind in each partition
    kc.close()

    def all_samples():
        return {bid: samples(scrape(port)) for bid, port in ports.items()}

    def totals(name, **labels):
        return sum(value(s, name, **labels) or 0 for s in all_samples().values())

    wait_until(lambda: totals("kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == 3000, 20,
               "messages in, summed over the leaders, to equal the records produced")
    s = all_samples()
    eq(sum(value(x, "kafka_server_brokertopicmetrics_bytesin_total") > 0 for x in s.values()), 3,
       "every broker leads a partition and counts bytes in")
    check(sum(value(x, "kafka_server_brokertopicmetrics_bytesout_total", topic=topic) for x in s.values())
          >= 3000 * 100, "bytes out to the consumer at least the record values")
    check(sum(value(x, "kafka_server_brokertopicmetrics_replicationbytesin_total", topic=topic)
              for x in s.values()) >= 2 * 3000 * 100, "followers count the bytes they replicate")
    eq(sum(value(x, "kafka_controller_kafkacontroller_activecontrollercount") for x in s.values()), 1,
       "exactly one active controller")
    for bid, x in s.items():
        eq(value(x, "kafka_server_replicamanager_partitioncount") >= 3, True, f"broker {bid} partition count")
        eq(value(x, "kafka_server_replicamanager_underreplicatedpartitions"), 0, f"broker {bid} under-replicated")
        check(value(x, "kafka_log_log_logendoffset", topic=topic, partition="0") == 1000,
              f"broker {bid} log end offset of partition 0")
        check(value(x, "kafka_log_log_size", topic=topic, partition="0") > 100000, f"broker {bid} log size")
        produce = [v for (n, labels), v in x.items() if n == "kafka_network_requestmetrics_requests_total"
                   and ("request", "Produce") in labels]
        check(x.get(("kafka_network_requestmetrics_totaltimems_count", frozenset({("request", "Fetch")}))),
              f"broker {bid} times fetches")
        check(produce and sum(produce) > 0, f"broker {bid} counts Produce requests")
    coordinator = [bid for bid, x in s.items()
                   if value(x, "kafka_consumergroup_current_offset", consumergroup=group, topic=topic,
                            partition="1") == 600]
    eq(len(coordinator), 1, "one coordinator reports the group's committed offset")
    eq(value(s[coordinator[0]], "kafka_consumergroup_lag", consumergroup=group, topic=topic, partition="1"), 400,
       "consumer lag computed on the coordinator")

    # Every metric the sample Grafana dashboard queries exists.
    from harness import INTEGRATION
    dashboard = json.loads((INTEGRATION.parent / "conf" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    names = {n for x in s.values() for (n, _) in x}
    for name in sorted({m for e in exprs for m in re.findall(r"\b(kafka_\w+)", e)}):
        check(name in names, f"the dashboard queries {name}, which no broker exports")

    # promtool accepts the exposition (format and naming lints).
    text = scrape(ports[0])
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    eq((p.returncode, p.stdout.decode() + p.stderr.decode()), (0, ""), "promtool check metrics")

    # A real Prometheus scrapes the three brokers every second.
    prom_port = free_port()
    data = ctx.mkdir("prometheus")
    (data / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n  - job_name: gregor\n    static_configs:\n"
        f"      - targets: [{', '.join(repr(f'127.0.0.1:{p}') for p in ports.values())}]\n")
    prom_log = open(data / "prometheus.log", "wb")
    prom = subprocess.Popen(["prometheus", f"--config.file={data / 'prometheus.yml'}",
                             f"--storage.tsdb.path={data / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}"],
                            stdout=prom_log, stderr=subprocess.STDOUT)
    try:
        prometheus_checks(prom_port, topic, brokers)
    finally:
        prom.terminate()
        prom.wait(20)
        prom_log.close()


def prometheus_checks(prom_port, topic, brokers):

    def query(q):
        url = f"http://127.0.0.1:{prom_port}/api/v1/query?query={urllib.request.quote(q)}"
        with urllib.request.urlopen(url, timeout=5) as r:
            res = json.loads(r.read())["data"]["result"]
        return [float(x["value"][1]) for x in res]
    wait_until(lambda: query('sum(up{job="gregor"})') == [3.0], 60, "Prometheus to scrape all three brokers")
    eq(query("sum(kafka_controller_kafkacontroller_activecontrollercount)"), [1.0], "active controllers in Prometheus")
    eq(query(f'sum(kafka_server_brokertopicmetrics_messagesin_total{{topic="{topic}"}})'), [3000.0],
       "messages in, summed by Prometheus")

    # kill -9 one broker: the leaders of its partitions' followers report under-replicated partitions.
    victim = brokers[2]
    victim.kill9()
    wait_until(lambda: query("sum(kafka_server_replicamanager_underreplicatedpartitions)")
               and query("sum(kafka_server_replicamanager_underreplicatedpartitions)")[0] >= 3, 60,
               "under-replicated partitions after a broker died")
    wait_until(lambda: query('sum(up{job="gregor"})') == [2.0], 20, "Prometheus to see the dead broker down")


@timeout(180)
def test_metrics_scrape_of_a_broker_with_1000_partitions(ctx):
    """Figures for the note: a broker with 1,000 partitions (10 topics of 100) and traffic on all of them: how long
    a scrape takes and how many series it returns; promtool still accepts it."""
    if not shutil.which("promtool"):
        raise Skip("Debian's prometheus package (promtool) is not installed")
    b = ctx.start_broker(0, extra={"metrics.listeners": "http://127.0.0.1:0"})
    port = metrics_port(b)
    topics = [unique_topic(f"mp{i}") for i in range(10)]
    with kproto.connect(b.bootstrap, timeout=30) as c:
        res = kproto.create_topics_v0(c, [(t, 100, 1, {}) for t in topics], timeout_ms=30000)
    for t in topics:
        eq(res.get(t), kproto.NONE, f"CreateTopics error for {t}")
    for t in topics:
        produce_all(b.bootstrap, t, [(p, None, b"%d" % p) for p in range(100)])
    scrape(port)  # the first scrape starts the quantile windows
    times, text = [], ""
    for _ in range(7):
        t0 = time.monotonic()
        text = scrape(port)
        times.append(time.monotonic() - t0)
    series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    s = samples(text)
    eq(value(s, "kafka_server_replicamanager_partitioncount") >= 1000, True, "1,000 partitions counted")
    eq(sum(value(s, "kafka_server_brokertopicmetrics_messagesin_total", topic=t) for t in topics), 1000.0,
       "one record per partition counted")
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    eq(p.returncode, 0, f"promtool check metrics: {p.stdout.decode()}{p.stderr.decode()}")
    times.sort()
    print(f"1,000 partitions: scrape median {times[3] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms, "
          f"{series} series, {len(text)} bytes", flush=True)
    check(times[3] < 5, f"a scrape took {times[3]:.1f} s")
