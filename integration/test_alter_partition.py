"""AlterPartition (API 56) served by the gregord controller, as Kafka brokers at IBP 2.7+ send it instead of
writing the partition state znode: two gregord brokers, a replicated topic, and hand-built AlterPartition
frames (kproto) sent in the name of the partition's leader. Each accepted change must be in the state znode
(kazoo: ISR, leader epoch kept, znode version = the partition epoch answered) and in every broker's Metadata
(the controller's UpdateMetadata); stale requests (partition epoch, leader epoch, broker epoch) and requests
to a broker that is not the controller must be refused and change nothing."""

import base64

import kproto
from harness import check, eq, timeout, unique_topic, wait_until

API_ALTER_PARTITION = 56
NOT_CONTROLLER = 41
FENCED_LEADER_EPOCH = 74
STALE_BROKER_EPOCH = 77
INVALID_UPDATE_VERSION = 95


def alter_partition(conn, version, broker_id, broker_epoch, topic, topic_id, partition, leader_epoch, isr,
                    partition_epoch):
    """One partition's new ISR at `version` (0-3; flexible at every version). Returns
    (top-level error, [(partition, error, leader, leader_epoch, isr, partition_epoch)])."""
    p = kproto.i32(partition) + kproto.i32(leader_epoch)
    if version >= 3:  # NewIsrWithEpochs: -1, what ZooKeeper-mode Kafka leaders send
        p += kproto.compact_array(isr, lambda b: kproto.i32(b) + kproto.i64(-1) + kproto.uvarint(0))
    else:
        p += kproto.compact_array(isr, kproto.i32)
    if version >= 1:
        p += kproto.i8(0)  # LeaderRecoveryState RECOVERED
    p += kproto.i32(partition_epoch) + kproto.uvarint(0)
    t = (topic_id if version >= 2 else kproto.compact_string(topic)) + kproto.uvarint(2) + p + kproto.uvarint(0)
    body = kproto.i32(broker_id) + kproto.i64(broker_epoch) + kproto.uvarint(2) + t
    r = kproto.flexible_request(conn, API_ALTER_PARTITION, version, body)
    r.i32()  # throttle
    error = r.i16()

    def dec_partition(r):
        out = (r.i32(), r.i16(), r.i32(), r.i32(), kproto.read_compact_array(r, lambda r: r.i32()))
        if version >= 1:
            r.i8()
        out += (r.i32(),)
        kproto.skip_tagged_fields(r)
        return out

    def dec_topic(r):
        if version >= 2:
            r.take(16)
        else:
            kproto.read_compact_string(r)
        parts = kproto.read_compact_array(r, dec_partition)
        kproto.skip_tagged_fields(r)
        return parts

    topics = kproto.read_compact_array(r, dec_topic) or []
    kproto.skip_tagged_fields(r)
    check(r.remaining() == 0, f"AlterPartition v{version}: {r.remaining()} bytes left over")
    return error, [p for parts in topics for p in parts]


def zk_state(ctx, topic):
    """(state dict, znode version) of partition 0."""
    data, stat = ctx.zk_json(f"/brokers/topics/{topic}/partitions/0/state")
    return data, stat.version


def broker_epoch(ctx, broker_id):
    """The czxid of /brokers/ids/<id>: the broker epoch the controller knows (KIP-380)."""
    _, stat = ctx.zk().get(f"/brokers/ids/{broker_id}")
    return stat.czxid


def metadata_isr_everywhere(brokers, topic, isr):
    for b in brokers:
        with kproto.connect(b.bootstrap, timeout=5) as c:
            md = kproto.metadata_v1(c, [topic])
        parts = md["topics"][topic]["partitions"]
        if sorted(parts[0]["isr"]) != sorted(isr):
            return False
    return True


@timeout(120)
def test_alter_partition_to_the_controller(ctx):
    brokers = ctx.start_cluster(2)
    by_id = {b.broker_id: b for b in brokers}
    topic = unique_topic("alter")
    with kproto.connect(brokers[0].bootstrap) as c:
        eq(kproto.create_topics_v0(c, [(topic, 1, 2, {})]), {topic: 0}, "CreateTopics")

    def isr_full():
        st, _ = zk_state(ctx, topic)
        return len(st["isr"]) == 2 and st

    state = wait_until(isr_full, 60, "the follower in the ISR")
    wait_until(lambda: metadata_isr_everywhere(brokers, topic, state["isr"]), 30, "Metadata with the full ISR")
    data, _ = ctx.zk_json("/controller")
    controller = by_id[data["brokerid"]]
    other = by_id[1 - data["brokerid"]]
    leader = state["leader"]
    follower = [b for b in state["isr"] if b != leader][0]
    epoch = broker_epoch(ctx, leader)
    assignment, _ = ctx.zk_json(f"/brokers/topics/{topic}")
    topic_id = base64.urlsafe_b64decode(assignment["topic_id"] + "==")
    eq(len(topic_id), 16, "topic id length")

    # The leader shrinks the ISR to itself (v1, by name).
    st, version = zk_state(ctx, topic)
    with kproto.connect(controller.bootstrap) as c:
        err, parts = alter_partition(c, 1, leader, epoch, topic, topic_id, 0, st["leader_epoch"], [leader], version)
    eq(err, 0, "AlterPartition v1 top-level error")
    eq(parts, [(0, 0, leader, st["leader_epoch"], [leader], version + 1)], "AlterPartition v1 answer")
    after, after_version = zk_state(ctx, topic)
    eq(after["isr"], [leader], "ISR in ZooKeeper")
    eq(after["leader"], leader, "leader in ZooKeeper")
    eq(after["leader_epoch"], st["leader_epoch"], "leader epoch in ZooKeeper (an ISR change keeps it)")
    eq(after_version, version + 1, "state znode version (the partition epoch)")
    wait_until(lambda: metadata_isr_everywhere(brokers, topic, [leader]), 30, "Metadata with the shrunk ISR")

    with kproto.connect(controller.bootstrap) as c:
        # Refused: the old partition epoch with another ISR, an old leader epoch, an old broker epoch.
        err, parts = alter_partition(c, 1, leader, epoch, topic, topic_id, 0, st["leader_epoch"],
                                     [leader, follower], version)
        eq((err, [p[:2] for p in parts]), (0, [(0, INVALID_UPDATE_VERSION)]), "stale partition epoch")
        err, parts = alter_partition(c, 2, leader, epoch, topic, topic_id, 0, st["leader_epoch"] - 1,
                                     [leader, follower], version + 1)
        eq((err, [p[:2] for p in parts]), (0, [(0, FENCED_LEADER_EPOCH)]), "stale leader epoch")
        err, parts = alter_partition(c, 2, leader, epoch - 1, topic, topic_id, 0, st["leader_epoch"],
                                     [leader, follower], version + 1)
        eq((err, parts), (STALE_BROKER_EPOCH, []), "stale broker epoch")
    with kproto.connect(other.bootstrap) as c:
        err, parts = alter_partition(c, 2, leader, epoch, topic, topic_id, 0, st["leader_epoch"],
                                     [leader, follower], version + 1)
        eq((err, parts), (NOT_CONTROLLER, []), f"AlterPartition to broker {other.broker_id} (not the controller)")
    eq(zk_state(ctx, topic), (after, after_version), "state after the refused requests")

    # The follower rejoins (v3, by topic id, with member broker epochs -1).
    with kproto.connect(controller.bootstrap) as c:
        err, parts = alter_partition(c, 3, leader, epoch, topic, topic_id, 0, st["leader_epoch"],
                                     [leader, follower], version + 1)
    eq(err, 0, "AlterPartition v3 top-level error")
    eq(parts, [(0, 0, leader, st["leader_epoch"], [leader, follower], version + 2)], "AlterPartition v3 answer")
    final, final_version = zk_state(ctx, topic)
    eq(final["isr"], [leader, follower], "ISR in ZooKeeper after the expansion")
    eq(final_version, version + 2, "state znode version after the expansion")
    wait_until(lambda: metadata_isr_everywhere(brokers, topic, [leader, follower]), 30,
               "Metadata with the full ISR again")
    print(f"controller {controller.broker_id}, leader {leader}: ISR {st['isr']} -> [{leader}] -> "
            f"{final['isr']}, partition epoch {version} -> {final_version}")
