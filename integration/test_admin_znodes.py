"""Kafka's ZooKeeper admin paths as its own tools write them, on real gregord processes:
/admin/preferred_replica_election (what `kafka-preferred-replica-election.sh --zookeeper` creates) moves leadership
back to the preferred replicas and is deleted by the controller; confluent-kafka's metadata shows the result."""

import json

import kproto
from harness import check, eq, timeout, unique_topic, wait_until
from test_confluent import ck


@timeout(120)
def test_preferred_replica_election_znode(ctx):
    brokers = ctx.start_cluster(2, extra={"auto.leader.rebalance.enable": "false"})
    topic = unique_topic("pref")
    with kproto.connect(brokers[0].bootstrap) as c:
        eq(kproto.create_topics_v0(c, [(topic, 4, 2, {})]).get(topic), 0, "CreateTopics")
    bootstrap = ",".join(b.bootstrap for b in brokers)

    def partitions():
        md = ck().Producer({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
        return {p.id: (p.leader, list(p.replicas), sorted(p.isrs)) for p in md.topics[topic].partitions.values()}
    wait_until(lambda: len(partitions()) == 4 and all(len(isr) == 2 for _, _, isr in partitions().values()), 30,
               "4 partitions with both replicas in sync")
    preferred = {p: replicas[0] for p, (_, replicas, _) in partitions().items()}
    check(set(preferred.values()) == {0, 1}, f"preferred leaders spread over both brokers: {preferred}")

    # Broker 1 dies and comes back: it catches up, but without auto rebalance broker 0 keeps leading everything.
    brokers[1].kill9()
    wait_until(lambda: all(leader == 0 for leader, _, _ in partitions().values()), 30, "broker 0 to lead all")
    wait_until(lambda: not ctx.zk().exists("/brokers/ids/1"), 30, "broker 1's registration to expire")
    brokers[1].start()
    wait_until(lambda: all(len(isr) == 2 for _, _, isr in partitions().values()), 60, "broker 1 back in every ISR")
    eq({p: leader for p, (leader, _, _) in partitions().items()}, {p: 0 for p in preferred}, "leaders before")

    # kafka-preferred-replica-election.sh --zookeeper: the znode names the partitions.
    request = {"version": 1, "partitions": [{"topic": topic, "partition": p} for p in sorted(preferred)]}
    ctx.zk().create("/admin/preferred_replica_election", json.dumps(request).encode(), makepath=True)
    wait_until(lambda: {p: leader for p, (leader, _, _) in partitions().items()} == preferred, 30,
               "the preferred replicas to lead again")
    wait_until(lambda: not ctx.zk().exists("/admin/preferred_replica_election"), 10,
               "the controller to delete /admin/preferred_replica_election")
