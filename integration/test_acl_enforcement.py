"""ACL enforcement as two independent clients see it, confluent-kafka (librdkafka) and kafka-python, on a SASL/PLAIN
listener with the ACL authorizer on (super user admin; alice and bob ordinary users). Each refusal carries Kafka's
error code, and the same client succeeds once an ACL allows it: produce (TOPIC_AUTHORIZATION_FAILED), a consumer
group (GROUP_AUTHORIZATION_FAILED), Metadata hiding topics, topic creation with a prefixed CREATE ACL, DENY beating a
wildcard ALLOW, a transactional producer (TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and an idempotent producer with
topic WRITE only (IdempotentWrite implied, as in Kafka 2.8+)."""

import time

from harness import check, create_topic, eq, timeout, unique_topic, wait_until
from test_confluent import ck
from test_sasl import sasl_flags

JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" '
        'password="admin-secret" user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret";')


def ck_conf(b, user):
    return {"bootstrap.servers": b.sasl_bootstrap, "security.protocol": "sasl_plaintext", "sasl.mechanism": "PLAIN",
            "sasl.username": user, "sasl.password": f"{user}-secret"}


def kp_conf(b, user):
    return {"bootstrap_servers": b.sasl_bootstrap, "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN",
            "sasl_plain_username": user, "sasl_plain_password": f"{user}-secret"}


def ck_produce(b, user, topic, n=3, **extra):
    """confluent-kafka: produces n records; returns the delivery errors' codes (empty: all acknowledged)."""
    k = ck()
    p = k.Producer({**ck_conf(b, user), "message.timeout.ms": 8000, "acks": "all", **extra})
    codes = []
    for i in range(n):
        p.produce(topic, value=b"%s-%d" % (user.encode(), i),
                  on_delivery=lambda err, msg: codes.append(err.code()) if err else None)
    p.flush(20)
    return codes


class Acls:
    """The super user's kafka-python admin client."""

    def __init__(self, b):
        from kafka.admin import KafkaAdminClient
        self.admin = KafkaAdminClient(**kp_conf(b, "admin"), request_timeout_ms=15000, client_id="acl-admin")

    def add(self, principal, op, rtype, name, pattern="LITERAL", permission="ALLOW"):
        from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern
        from kafka.admin import ResourceType
        acl = ACL(principal, "*", getattr(ACLOperation, op), getattr(ACLPermissionType, permission),
                  ResourcePattern(getattr(ResourceType, rtype), name, getattr(ACLResourcePatternType, pattern)))
        res = self.admin.create_acls([acl])
        eq(res["failed"], [], f"create ACL {principal} {permission} {op} {rtype}:{name}")

    def close(self):
        self.admin.close()


@timeout(150)
def test_acl_enforcement_confluent_and_kafka_python(ctx):
    k = ck()
    b = ctx.start_broker(0, sasl=sasl_flags({"listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS}), extra={
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer", "super.users": "User:admin;User:ANONYMOUS"})
    topic, hidden = unique_topic("enf"), unique_topic("hidden")
    create_topic(b.bootstrap, topic, partitions=1)
    create_topic(b.bootstrap, hidden, partitions=1)
    acls = Acls(b)
    try:
        # Produce: refused, then allowed by a WRITE ACL (librdkafka).
        codes = ck_produce(b, "alice", topic)
        check(codes and set(codes) == {k.KafkaError.TOPIC_AUTHORIZATION_FAILED},
              f"alice's writes without an ACL: {codes}")
        acls.add("User:alice", "WRITE", "TOPIC", topic)
        eq(ck_produce(b, "alice", topic), [], "alice's writes with a WRITE ACL")

        # Metadata shows alice only what she may describe (WRITE implies DESCRIBE); kafka-python agrees.
        md = k.Producer(ck_conf(b, "alice")).list_topics(timeout=10)
        check(topic in md.topics and hidden not in md.topics, f"alice's metadata lists {sorted(md.topics)}")
        from kafka import KafkaConsumer
        from kafka.errors import GroupAuthorizationFailedError
        kc = KafkaConsumer(**kp_conf(b, "alice"))
        visible = kc.topics()
        kc.close()
        check(topic in visible and hidden not in visible, f"kafka-python metadata lists {sorted(visible)}")

        # A consumer group needs READ on the group as well as on the topic (kafka-python).
        acls.add("User:alice", "READ", "TOPIC", topic)
        group = unique_topic("grp")

        def consume_group():
            c = KafkaConsumer(topic, **kp_conf(b, "alice"), group_id=group, auto_offset_reset="earliest",
                              consumer_timeout_ms=6000, enable_auto_commit=False)
            try:
                return [m.value for m in c]
            finally:
                c.close()
        try:
            consume_group()
            check(False, "alice joined a group without a GROUP READ ACL")
        except GroupAuthorizationFailedError:
            pass
        acls.add("User:alice", "READ", "GROUP", group)
        eq(consume_group(), [b"alice-%d" % i for i in range(3)], "alice's group reads with both ACLs")

        # Topic creation: refused, then allowed for alice- topics by a prefixed CREATE ACL (kafka-python admin).
        from kafka.admin import KafkaAdminClient, NewTopic
        from kafka.errors import TopicAuthorizationFailedError as TopicAuthFailed
        admin = KafkaAdminClient(**kp_conf(b, "alice"), request_timeout_ms=15000)
        mine = "alice-" + unique_topic("own")
        try:
            try:
                admin.create_topics([NewTopic(mine, 1, 1)])
                check(False, "alice created a topic without CREATE")
            except TopicAuthFailed:
                pass
            acls.add("User:alice", "CREATE", "TOPIC", "alice-", pattern="PREFIXED")
            admin.create_topics([NewTopic(mine, 1, 1)])
        finally:
            admin.close()
        wait_until(lambda: mine in k.Producer(ck_conf(b, "admin")).list_topics(timeout=5).topics, 15,
                   "alice's topic created")

        # DENY beats ALLOW: everyone may write every topic, bob is denied this one.
        acls.add("User:*", "WRITE", "TOPIC", "*")
        acls.add("User:bob", "WRITE", "TOPIC", topic, permission="DENY")
        codes = ck_produce(b, "bob", topic)
        check(codes and set(codes) == {k.KafkaError.TOPIC_AUTHORIZATION_FAILED}, f"bob's writes: {codes}")
        eq(ck_produce(b, "bob", hidden), [], "bob's writes to another topic under the wildcard ALLOW")

        # Transactions need WRITE on the transactional id; an idempotent producer needs only topic WRITE.
        txn_id = unique_topic("tx")

        def transactional_produce():
            p = k.Producer({**ck_conf(b, "alice"), "transactional.id": txn_id, "transaction.timeout.ms": 10000})
            p.init_transactions(15)
            p.begin_transaction()
            p.produce(topic, value=b"in-txn")
            p.commit_transaction(15)
        try:
            transactional_produce()
            check(False, "a transaction without a TRANSACTIONAL_ID WRITE ACL")
        except k.KafkaException as e:
            eq(e.args[0].code(), k.KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, f"transaction refused: {e}")
        acls.add("User:alice", "WRITE", "TRANSACTIONAL_ID", txn_id)
        acls.add("User:alice", "DESCRIBE", "TRANSACTIONAL_ID", txn_id)
        time.sleep(0.5)
        transactional_produce()
        eq(ck_produce(b, "alice", topic, **{"enable.idempotence": True}), [],
           "alice's idempotent writes with topic WRITE only")
    finally:
        acls.close()


@timeout(150)
def test_acl_changes_reach_running_clients_on_every_broker(ctx):
    """ACL changes take effect on connections that are already open and busy, on every broker: one confluent-kafka
    producer (librdkafka, writing continuously to two partitions led by different brokers) and one kafka-python
    consumer keep their connections while ACLs made through broker 0 deny and then allow them again. Reports how
    long each change took to show in the running clients."""
    import threading
    k = ck()
    brokers = ctx.start_cluster(2, sasl=sasl_flags({"listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS}),
                                extra={"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
                                       "super.users": "User:admin;User:ANONYMOUS"})
    b0 = brokers[0]
    topic = unique_topic("live")
    create_topic(b0.bootstrap, topic, partitions=2)
    leaders = {p.id: p.leader for p in k.Producer({"bootstrap.servers": b0.bootstrap}).list_topics(
        topic, timeout=10).topics[topic].partitions.values()}
    check(sorted(leaders.values()) == [0, 1], f"the two partitions' leaders are on both brokers: {leaders}")
    acls = Acls(b0)
    acls.add("User:alice", "WRITE", "TOPIC", topic)
    acls.add("User:alice", "READ", "TOPIC", topic)

    results = []  # (monotonic time, partition, error code or None)
    lock = threading.Lock()
    stop = threading.Event()

    def produce_forever():
        p = k.Producer({**ck_conf(b0, "alice"), "acks": "all", "linger.ms": 5, "message.timeout.ms": 5000,
                        "topic.metadata.refresh.interval.ms": 500})

        def done(err, msg):
            with lock:
                results.append((time.monotonic(), msg.partition(), err.code() if err else None))
        i = 0
        while not stop.is_set():
            for part in (0, 1):
                try:
                    p.produce(topic, value=b"v%d" % i, partition=part, on_delivery=done)
                except k.KafkaException as e:  # refused at once while metadata says so
                    with lock:
                        results.append((time.monotonic(), part, e.args[0].code()))
                    time.sleep(0.01)
            i += 1
            p.poll(0.01)
        p.flush(10)
    worker = threading.Thread(target=produce_forever, daemon=True)
    worker.start()

    def outcomes_since(t0):
        with lock:
            return {part: [e for (t, pp, e) in results if t >= t0 and pp == part] for part in (0, 1)}

    def all_since(t0, want):
        got = outcomes_since(t0)
        return all(len(v) >= 20 and all(e == want for e in v[-20:]) for v in got.values())

    try:
        wait_until(lambda: all_since(0, None), 30, "alice's producer acknowledged on both partitions")
        from kafka import KafkaConsumer, TopicPartition
        from kafka.errors import TopicAuthorizationFailedError
        consumer = KafkaConsumer(**kp_conf(b0, "alice"), enable_auto_commit=False, auto_offset_reset="earliest")
        consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
        check(sum(len(v) for v in consumer.poll(timeout_ms=5000).values()) > 0, "alice's consumer reads")

        # A DENY through broker 0 stops the running producer on both brokers, and the running consumer.
        t_deny = time.monotonic()
        acls.add("User:alice", "ALL", "TOPIC", topic, permission="DENY")
        wait_until(lambda: all_since(t_deny, k.KafkaError.TOPIC_AUTHORIZATION_FAILED), 30,
                   "the running producer refused on both partitions")
        first_refusal = min(t for (t, _, e) in results if t >= t_deny and e is not None) - t_deny

        def consumer_refused():
            try:
                consumer.poll(timeout_ms=500)
            except TopicAuthorizationFailedError:
                return True
            return False
        wait_until(consumer_refused, 30, "the running consumer refused")
        t_refused = time.monotonic() - t_deny

        # Deleting the DENY lets the same producer and consumer go on.
        from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                                 ResourcePattern, ResourceType)
        t_allow = time.monotonic()
        acls.admin.delete_acls([ACLFilter("User:alice", "*", ACLOperation.ALL, ACLPermissionType.DENY,
                                          ResourcePattern(ResourceType.TOPIC, topic,
                                                          ACLResourcePatternType.LITERAL))])
        wait_until(lambda: all_since(t_allow, None), 30, "the running producer acknowledged again")
        first_ack = min(t for (t, _, e) in results if t >= t_allow and e is None) - t_allow
        wait_until(lambda: sum(len(v) for v in consumer.poll(timeout_ms=500).values()) > 0, 30,
                   "the running consumer reads again")
        consumer.close()
        print(f"DENY -> first refused produce {first_refusal * 1000:.0f} ms, consumer refused after "
              f"{t_refused * 1000:.0f} ms; DENY removed -> first acknowledged produce {first_ack * 1000:.0f} ms")
    finally:
        stop.set()
        worker.join(20)
        acls.close()
