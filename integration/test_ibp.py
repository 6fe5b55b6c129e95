"""inter.broker.protocol.version pinned low, as during a live migration from a Kafka 2.x cluster: three gregord
brokers pinned to Kafka 2.4's (or 2.1's, or 2.7-IV2's) inter-broker protocol, a topic with replication factor 3 and
min.insync.replicas=2, an acks=all confluent-kafka producer, kill -9 of the partition leader mid-run and its
restart. The followers then have no truncation on fetch (Fetch v12, KIP-320): they must truncate with
OffsetsForLeaderEpoch before fetching (KIP-101/279) and fetch with Fetch v11 (2.4) or v10 (2.1); the controller
sends LeaderAndIsr and UpdateMetadata at the versions Kafka's controller sends at that protocol. Leaders report
ISR changes (the restarted broker rejoining) by writing ZooKeeper below 2.7-IV2 and in AlterPartition to the
controller from 2.7-IV2 on (KIP-497), where the follower truncates on fetch (Fetch v12) instead.

Checked: no acknowledged record lost (kafka-python reads everything back), the replicas byte-identical once the
ISR is full again, and from each broker's request metrics (metrics.listeners: requests answered by API and
version) that no Fetch above the pinned version and, below 2.7, some OffsetsForLeaderEpoch were answered, with the
pinned controller request versions and AlterPartition answered at the expected versions only (none below 2.7-IV2). The metrics are read before the consumer runs: kafka-python's own fetches count there too."""

import re
import urllib.request

from harness import check, eq, timeout, unique_topic
from test_cluster import (CLUSTER_EXTRA, SeqProducer, by_id, check_no_acked_loss, consume_all_kafka_python,
                          create_topic_rf, wait_isr_full, wait_new_leader, wait_replicas_identical,
                          wait_unregistered, zk_state)

REQUESTS = re.compile(r'^kafka_network_requestmetrics_requests_total\{(.*)\} (\S+)$', re.M)


def metrics_port(b):
    """The metrics port of the broker's current run (the log is appended to across restarts)."""
    ports = re.findall(r"serving Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics",
                       b.log_path.read_text(errors="replace"))
    check(ports, f"broker {b.broker_id} does not log its metrics port")
    return int(ports[-1])


def requests_by_version(b):
    """{(API name, version): requests answered} of one broker since its last start."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port(b)}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for labels, value in REQUESTS.findall(text):
        d = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        out[(d["request"], int(d["version"]))] = out.get((d["request"], int(d["version"])), 0) + float(value)
    return out


def run_pinned_cluster(ctx, ibp, fetch, epoch, leader_and_isr, update_metadata, alter_partition):
    """`epoch`: the OffsetsForLeaderEpoch version the followers truncate with, None where they truncate on fetch;
    `alter_partition`: the AlterPartition versions the controller must have answered (empty: the ZooKeeper path)."""
    extra = dict(CLUSTER_EXTRA, **{"inter.broker.protocol.version": ibp,
                                   "metrics.listeners": "http://127.0.0.1:0"})
    brokers = ctx.start_cluster(3, extra=extra)
    ids = by_id(brokers)
    topic = unique_topic("ibp")
    create_topic_rf(brokers, topic, 1, 3, configs={"min.insync.replicas": "2"})
    wait_isr_full(ctx, brokers, topic, [0])
    prod = SeqProducer(brokers, topic, rate=1000)
    with prod:
        prod.wait_acked(2000, 30, "before the kill")
        leader = zk_state(ctx, topic, 0)["leader"]
        print(f"IBP {ibp}: kill -9 the leader, broker {leader}, at {prod.n_acked()} acks")
        ids[leader].kill9()
        new_leader = wait_new_leader(ctx, topic, 0, leader)
        prod.wait_more(1000, 30, f"after broker {new_leader} took over from {leader}")
        wait_unregistered(ctx, leader)
        ids[leader].start()
        wait_isr_full(ctx, brokers, topic, [0])
        prod.wait_more(1000, 30, "after the restart")
    left = prod.stop()
    eq(left, 0, "records without a delivery report after flush")

    # Before any consumer: only the followers have fetched so far.
    seen = {}
    for b in brokers:
        for k, n in requests_by_version(b).items():
            seen[k] = seen.get(k, 0) + n
    fetches = {v: n for (api, v), n in seen.items() if api == "Fetch"}
    epochs = {v: n for (api, v), n in seen.items() if api == "OffsetForLeaderEpoch"}
    print(f"IBP {ibp}: Fetch by version {fetches}, OffsetForLeaderEpoch by version {epochs}, "
          f"LeaderAndIsr {({v: n for (a, v), n in seen.items() if a == 'LeaderAndIsr'})}, "
          f"UpdateMetadata {({v: n for (a, v), n in seen.items() if a == 'UpdateMetadata'})}")
    check(fetches.get(fetch, 0) > 0, f"no Fetch v{fetch} answered at IBP {ibp}: {fetches}")
    check(not [v for v in fetches if v > fetch], f"Fetch above v{fetch} answered at IBP {ibp}: {fetches}")
    if epoch is not None:
        check(epochs.get(epoch, 0) > 0, f"no OffsetForLeaderEpoch v{epoch} answered at IBP {ibp}: {epochs}")
        check(not [v for v in epochs if v != epoch], f"OffsetForLeaderEpoch other than v{epoch}: {epochs}")
        logs = "".join(b.log_path.read_text(errors="replace") for b in brokers)
        check(f"fetching with Fetch v{fetch}, truncating with OffsetsForLeaderEpoch first" in logs,
              f"no fetcher logs that it truncates with OffsetsForLeaderEpoch at Fetch v{fetch}")
    for api, want in (("LeaderAndIsr", leader_and_isr), ("UpdateMetadata", update_metadata)):
        versions = {v for (a, v) in seen if a == api}
        eq(versions, {want}, f"{api} versions answered at IBP {ibp}")
    # The restarted broker's return to the ISR is one ISR change at least.
    alters = {v for (a, v), n in seen.items() if a == "AlterPartition" and n > 0}
    eq(alters, set(alter_partition), f"AlterPartition versions answered at IBP {ibp}")

    got = consume_all_kafka_python(brokers, topic, [0])
    check_no_acked_loss(prod, got, f"IBP {ibp}, kill -9 of the leader")
    print(f"IBP {ibp}: failover pause after kill -9: {prod.longest_pause_ms():.0f} ms")
    wait_replicas_identical(ctx, brokers, topic, 0)


@timeout(90)
def test_ibp_2_4_kill_leader(ctx):
    # Kafka 2.4's controller: LeaderAndIsr v4, UpdateMetadata v6; its follower: Fetch v11, OffsetsForLeaderEpoch v3.
    run_pinned_cluster(ctx, "2.4", fetch=11, epoch=3, leader_and_isr=4, update_metadata=6, alter_partition=[])


@timeout(90)
def test_ibp_2_1_kill_leader(ctx):
    # Kafka 2.1's: partition states ungrouped (LeaderAndIsr v1, UpdateMetadata v4), Fetch v10,
    # OffsetsForLeaderEpoch v2.
    run_pinned_cluster(ctx, "2.1", fetch=10, epoch=2, leader_and_isr=1, update_metadata=4, alter_partition=[])


@timeout(90)
def test_ibp_2_7_alter_partition_kill_leader(ctx):
    # Kafka 2.7-IV2's: ISR changes in AlterPartition, by topic name (v1 at most: topic ids come with 2.8), Fetch v12
    # with truncation on fetch, LeaderAndIsr v4, UpdateMetadata v6.
    run_pinned_cluster(ctx, "2.7-IV2", fetch=12, epoch=None, leader_and_isr=4, update_metadata=6,
                       alter_partition=[1])
