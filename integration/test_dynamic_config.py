"""Dynamic broker configs (KIP-226) on two real brokers: the cluster default (/config/brokers/<default>) and a
per-broker entity (/config/brokers/<id>) written through AlterConfigs (confluent-kafka), IncrementalAlterConfigs
(gregorctl's raw client) and directly in ZooKeeper with a change notification (what kafka-configs.sh
--zookeeper writes), read back with DescribeConfigs by confluent-kafka and kafka-python with Kafka's sources,
and applied at run time: a dynamic log.segment.bytes and log.retention.ms roll and delete the segments of a
running topic on both brokers; a dynamic max.connections.per.ip refuses a connection and lifting it admits one;
a restarted broker starts with the stored values. Bad input: a static key (num.io.threads) and a bad value are
INVALID_CONFIG and change nothing, another broker's id is INVALID_REQUEST."""

import json
import os
import socket
import time

import kproto
from harness import GREGORCTL, check, eq, timeout, unique_topic, wait_until
from test_confluent import ck, produce_all

# ConfigSource ids (DescribeConfigsResponse).
DYNAMIC_BROKER, DYNAMIC_DEFAULT, STATIC, DEFAULT = 2, 3, 4, 5
BROKER_RESOURCE = 4


def admin_of(brokers):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": ",".join(b.bootstrap for b in brokers)})


def describe_broker(admin, broker_id):
    """confluent-kafka DescribeConfigs of BROKER `broker_id` ("" for the cluster default): {name: entry}."""
    from confluent_kafka.admin import RESOURCE_BROKER, ConfigResource
    res = ConfigResource(RESOURCE_BROKER, str(broker_id))
    return list(admin.describe_configs([res]).values())[0].result(timeout=15)


def alter_broker(admin, broker_id, configs):
    """confluent-kafka AlterConfigs (the whole entity) on BROKER `broker_id` ("": the default); the error
    or None."""
    k = ck()
    from confluent_kafka.admin import RESOURCE_BROKER, ConfigResource
    res = ConfigResource(RESOURCE_BROKER, str(broker_id), set_config=configs)
    try:
        list(admin.alter_configs([res]).values())[0].result(timeout=15)
        return None
    except k.KafkaException as e:
        return e.args[0]


def kafka_python_describe(bootstrap, broker_id):
    """kafka-python DescribeConfigs of a BROKER resource: {name: (value, source or is_default)}."""
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        resp = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, str(broker_id))],
                                      include_synonyms=True)
    finally:
        admin.close()
    out = {}
    for r in resp:
        for res in r.resources:
            eq(res[0], 0, f"kafka-python DescribeConfigs of broker {broker_id}: error {res[1]}")
            for entry in res[4]:
                out[entry[0]] = (entry[1], entry[3])  # (value, config_source) at v1+
    return out


def first_segment(b, topic):
    """The base offset of the oldest segment of topic-0 in broker b's log dir (each replica applies its own
    broker's retention)."""
    d = os.path.join(str(b.log_dir), f"{topic}-0")
    return min(int(f[:-4]) for f in os.listdir(d) if f.endswith(".log"))


@timeout(240)
def test_dynamic_broker_configs_apply_at_run_time(ctx):
    extra = {"log.retention.check.interval.ms": "500", "log.segment.delete.delay.ms": "0",
             "log.retention.ms": "86400000"}
    brokers = ctx.start_cluster(2, extra=extra)
    b0, b1 = brokers
    admin = admin_of(brokers)
    topic = unique_topic("dyn")
    with kproto.connect(b0.bootstrap) as c:
        eq(kproto.create_topics_v0(c, [(topic, 1, 2, {})]).get(topic), 0, "CreateTopics")

    # Static first: log.retention.ms from the file, STATIC_BROKER_CONFIG.
    cfg = describe_broker(admin, 0)
    eq((cfg["log.retention.ms"].value, cfg["log.retention.ms"].source), ("86400000", STATIC),
       "log.retention.ms before any dynamic config")
    check(not cfg["log.retention.ms"].is_read_only, "log.retention.ms is dynamic, so not read-only")
    check(cfg["num.io.threads"].is_read_only, "num.io.threads is read-only")

    # The cluster default, through gregorctl (IncrementalAlterConfigs; confluent-kafka 1.7 cannot name the
    # default resource): small segments.
    ctx.run([GREGORCTL, "-b", b1.bootstrap, "config", "alter", "--broker-defaults", "--set", "log.segment.bytes=2048"],
            timeout=30, check_rc=0)
    for b in brokers:
        wait_until(lambda b=b: describe_broker(admin, b.broker_id)["log.segment.bytes"].value == "2048", 15,
                   f"broker {b.broker_id} to report log.segment.bytes 2048")
        entry = describe_broker(admin, b.broker_id)["log.segment.bytes"]
        eq(entry.source, DYNAMIC_DEFAULT, f"log.segment.bytes source on broker {b.broker_id}")
    # kafka-python, a second client, reads the same.
    kp = kafka_python_describe(b1.bootstrap, 1)
    eq(kp["log.segment.bytes"], ("2048", DYNAMIC_DEFAULT), "kafka-python DescribeConfigs of log.segment.bytes")

    # The running topic rolls small segments now.
    # Small batches (a batch larger than a segment is refused, as in Kafka).
    produce_all(b0.bootstrap, topic, [(0, None, b"%04d" % i + b"x" * 196) for i in range(200)],
                extra={"linger.ms": 0, "batch.num.messages": 4})
    d0 = os.path.join(str(b0.log_dir), f"{topic}-0")
    segments = [f for f in os.listdir(d0) if f.endswith(".log")]
    check(len(segments) >= 5, f"{len(segments)} segments in {d0} after 40 KB at log.segment.bytes=2048")

    # Per broker, through ZooKeeper as kafka-configs.sh --zookeeper writes it: retention on broker 0 only.
    zk = ctx.zk()
    zk.ensure_path("/config/brokers/0")
    zk.set("/config/brokers/0", json.dumps({"version": 1, "config": {"log.retention.ms": "1000"}}).encode())
    zk.create("/config/changes/config_change_", json.dumps({"version": 2, "entity_path": "brokers/0"}).encode(),
              sequence=True, makepath=True)
    wait_until(lambda: first_segment(b0, topic) > 0, 30,
               "broker 0 to delete old segments under its dynamic log.retention.ms=1000")
    cfg = describe_broker(admin, 0)
    eq((cfg["log.retention.ms"].value, cfg["log.retention.ms"].source), ("1000", DYNAMIC_BROKER),
       "log.retention.ms on broker 0")
    eq(describe_broker(admin, 1)["log.retention.ms"].value, "86400000", "log.retention.ms on broker 1 (static)")
    eq(first_segment(b1, topic), 0, "broker 1 keeps every segment (its retention is a day)")
    _, out, _ = ctx.run([GREGORCTL, "-b", b0.bootstrap, "config", "describe", "--broker-defaults", "--all",
                         "--output", "json"], timeout=30, check_rc=0)
    default_view = {c["name"]: c for c in json.loads(out)["configs"]}
    eq(default_view["log.retention.ms"]["source"], "STATIC_BROKER_CONFIG",
       "the cluster-default view leaves the per-broker layer out")

    # Bad input changes nothing.
    err = alter_broker(admin, 0, {"num.io.threads": "4"})
    check(err is not None and err.name() == "INVALID_CONFIG" and "num.io.threads" in err.str(),
          f"a static key: {err}")
    _, _, err = ctx.run([GREGORCTL, "-b", b0.bootstrap, "config", "alter", "--broker-defaults", "--set",
                         "log.retention.ms=soon"], timeout=30, check_rc=1)
    check("INVALID_CONFIG" in err, f"a bad value: {err}")
    eq(describe_broker(admin, 1)["log.segment.bytes"].value, "2048", "after refused changes")
    with kproto.connect(b0.bootstrap) as c:
        # AlterConfigs v0 for BROKER "1" sent to broker 0: INVALID_REQUEST (the request belongs to broker 1).
        body = (kproto.array([1], lambda _: kproto.i8(BROKER_RESOURCE) + kproto.string("1") +
                             kproto.array([("log.retention.ms", "5")],
                                          lambda kv: kproto.string(kv[0]) + kproto.string(kv[1])))
                + kproto.i8(0))
        r = c.request(33, 0, body)
        r.i32()
        res = r.array(lambda r: (r.i16(), r.string(), r.i8(), r.string()))
        eq(res[0][0], 42, "AlterConfigs of another broker's id: INVALID_REQUEST")

    # A restarted broker starts with its stored dynamic configs.
    b0.stop()
    b0.start()
    cfg = describe_broker(admin_of([b0]), 0)
    eq((cfg["log.retention.ms"].value, cfg["log.segment.bytes"].value), ("1000", "2048"),
       "dynamic configs after a restart")


@timeout(120)
def test_dynamic_connection_limit(ctx):
    b = ctx.start_broker(0)
    admin = admin_of([b])
    host, port = b.bootstrap.split(":")

    def connect_and_ask():
        """True when a new connection is served (ApiVersions answered)."""
        try:
            with kproto.connect(b.bootstrap, timeout=3) as c:
                c.request(18, 0, b"")
            return True
        except (OSError, EOFError, kproto.ProtocolError):
            return False

    eq(alter_broker(admin, 0, {"max.connections.per.ip": "2"}), None, "AlterConfigs max.connections.per.ip=2")
    wait_until(lambda: describe_broker(admin, 0)["max.connections.per.ip"].value == "2", 10,
               "max.connections.per.ip to read back as 2")
    admin = None  # its connections would count against the limit
    time.sleep(0.5)
    held = [socket.create_connection((host, int(port)), timeout=3) for _ in range(2)]
    try:
        time.sleep(0.3)
        check(not connect_and_ask(), "a third connection from 127.0.0.1 was served under max.connections.per.ip=2")
    finally:
        for s in held:
            s.close()
    time.sleep(0.5)
    # Lift it (IncrementalAlterConfigs DELETE through kafka-python? Not in 2.0.2: AlterConfigs with an empty set).
    admin = admin_of([b])
    eq(alter_broker(admin, 0, {}), None, "AlterConfigs with nothing: the per-broker entity emptied")
    wait_until(lambda: describe_broker(admin, 0)["max.connections.per.ip"].source == DEFAULT, 10,
               "max.connections.per.ip back to its default")
    admin = None
    time.sleep(0.5)
    held = [socket.create_connection((host, int(port)), timeout=3) for _ in range(3)]
    try:
        check(connect_and_ask(), "a fourth connection was refused after the limit was lifted")
    finally:
        for s in held:
            s.close()
