"""Preferred leader elections on real gregord processes, the two ways Kafka's tools ask for them:
/admin/preferred_replica_election (what `kafka-preferred-replica-election.sh --zookeeper` creates) moves leadership
back to the preferred replicas and is deleted by the controller, and ElectLeaders (gregorctl partition
elect-leaders, like kafka-leader-election.sh); confluent-kafka's metadata shows the result."""

import json

import kproto
from harness import check, eq, timeout, unique_topic, wait_until
from test_confluent import ck


def leadership_piled_on_broker_0(ctx):
    """Two brokers without auto leader rebalance, a topic of 4 partitions with 2 replicas whose preferred leaders
    are spread, and broker 1 killed and back in every ISR: broker 0 leads all. Returns (brokers, topic,
    partitions(), {partition: preferred leader})."""
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
    return brokers, topic, partitions, preferred


@timeout(120)
def test_preferred_replica_election_znode(ctx):
    brokers, topic, partitions, preferred = leadership_piled_on_broker_0(ctx)

    # kafka-preferred-replica-election.sh --zookeeper: the znode names the partitions.
    request = {"version": 1, "partitions": [{"topic": topic, "partition": p} for p in sorted(preferred)]}
    ctx.zk().create("/admin/preferred_replica_election", json.dumps(request).encode(), makepath=True)
    wait_until(lambda: {p: leader for p, (leader, _, _) in partitions().items()} == preferred, 30,
               "the preferred replicas to lead again")
    wait_until(lambda: not ctx.zk().exists("/admin/preferred_replica_election"), 10,
               "the controller to delete /admin/preferred_replica_election")


@timeout(120)
def test_gregorctl_partition_elect_leaders(ctx):
    """gregorctl partition elect-leaders (ElectLeaders to the controller, like kafka-leader-election.sh) moves
    leadership back to the preferred replicas; asked again, it says no election was needed."""
    from harness import GREGORCTL
    brokers, topic, partitions, preferred = leadership_piled_on_broker_0(ctx)
    bootstrap = ",".join(b.bootstrap for b in brokers)
    moved = [p for p, b in preferred.items() if b == 1]
    _, out, _ = ctx.run([GREGORCTL, "-b", bootstrap, "partition", "elect-leaders", "--topic", topic,
                         "--partition", str(moved[0])], timeout=30, check_rc=0)
    check(f"Successfully completed preferred leader election for partitions {topic}-{moved[0]}" in out, out)
    _, out, _ = ctx.run([GREGORCTL, "-b", bootstrap, "partition", "elect-leaders", "--all-topic-partitions"],
                        timeout=30, check_rc=0)
    wait_until(lambda: {p: leader for p, (leader, _, _) in partitions().items()} == preferred, 30,
               "the preferred replicas to lead again")
    _, out, _ = ctx.run([GREGORCTL, "-b", bootstrap, "partition", "elect-leaders", "--topic", topic], timeout=30,
                        check_rc=0)
    check("Valid replica already elected for partitions" in out and "Successfully" not in out, out)
    ctx.run([GREGORCTL, "-b", bootstrap, "partition", "elect-leaders", "--topic", "no-such-topic"], timeout=30,
            check_rc=1)
