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
