"""ACLs in ZooKeeper as Kafka's AclAuthorizer keeps them: kafka-python's admin client creates, describes and
deletes them (CreateAcls / DescribeAcls / DeleteAcls v1), the znodes read with kazoo hold Kafka's exact JSON at
Kafka's paths with Kafka's change notifications, and ACLs written into ZooKeeper the way Kafka's kafka-acls.sh
--authorizer-properties zookeeper.connect=... does are served by DescribeAcls. No authorizer is configured:
ACL management works without one, as with Kafka's tool against ZooKeeper."""

import json

import kproto
from harness import check, eq, require_module, timeout, wait_until

API_DESCRIBE_ACLS = 29
ERR_INVALID_REQUEST = 42


def acl_key(a):
    p = a.resource_pattern
    return (int(p.resource_type), p.resource_name, int(p.pattern_type), a.principal, a.host, int(a.operation),
            int(a.permission_type))


def children_data(zk, path):
    return sorted(zk.get(f"{path}/{c}")[0].decode() for c in zk.get_children(path))


@timeout(90)
def test_acls_admin_client_and_kafkas_znodes(ctx):
    require_module("kafka", "python3-kafka")
    from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                             KafkaAdminClient, ResourcePattern, ResourcePatternFilter, ResourceType)
    from kafka.errors import InvalidRequestError

    b = ctx.start_broker(0)
    zk = ctx.zk()
    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=15000, client_id="gregor-it")
    try:
        lit = ResourcePattern(ResourceType.TOPIC, "orders", ACLResourcePatternType.LITERAL)
        pre = ResourcePattern(ResourceType.GROUP, "app-", ACLResourcePatternType.PREFIXED)
        alice_read = ACL("User:alice", "*", ACLOperation.READ, ACLPermissionType.ALLOW, lit)
        bob_write = ACL("User:bob", "10.0.0.7", ACLOperation.WRITE, ACLPermissionType.DENY, lit)
        alice_group = ACL("User:alice", "*", ACLOperation.READ, ACLPermissionType.ALLOW, pre)
        bad_cluster = ACL("User:alice", "*", ACLOperation.ALTER, ACLPermissionType.ALLOW,
                          ResourcePattern(ResourceType.CLUSTER, "other", ACLResourcePatternType.LITERAL))
        res = admin.create_acls([alice_read, bob_write, alice_group, bad_cluster])
        eq(sorted(map(acl_key, res["succeeded"])), sorted(map(acl_key, [alice_read, bob_write, alice_group])),
           "created ACLs")
        eq(len(res["failed"]), 1, f"failed creations {res['failed']}")
        check(res["failed"][0][1] is InvalidRequestError or isinstance(res["failed"][0][1], InvalidRequestError),
              f"CLUSTER named 'other' must be INVALID_REQUEST, got {res['failed'][0][1]}")

        # Kafka's layout and JSON (ZkData.scala: ResourceZNode, AclEntry.toJsonCompatibleMap).
        data, _ = zk.get("/kafka-acl/Topic/orders")
        doc = json.loads(data.decode())
        eq(doc["version"], 1, "ACL znode version")
        eq(sorted(doc["acls"], key=lambda a: a["principal"]),
           [{"principal": "User:alice", "permissionType": "Allow", "operation": "Read", "host": "*"},
            {"principal": "User:bob", "permissionType": "Deny", "operation": "Write", "host": "10.0.0.7"}],
           "/kafka-acl/Topic/orders")
        check(list(doc["acls"][0].keys()) == ["principal", "permissionType", "operation", "host"],
              f"field order {list(doc['acls'][0].keys())}")
        eq(zk.get("/kafka-acl-extended/prefixed/Group/app-")[0].decode(),
           '{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read",'
           '"host":"*"}]}', "/kafka-acl-extended/prefixed/Group/app-")
        check(zk.exists("/kafka-acl/Cluster/other") is None, "an invalid ACL reached ZooKeeper")
        eq(children_data(zk, "/kafka-acl-changes"), ["TOPIC:orders"], "literal change notifications")
        check(all(c.startswith("acl_changes_") for c in zk.get_children("/kafka-acl-changes")),
              "notification names")
        eq([json.loads(d) for d in children_data(zk, "/kafka-acl-extended-changes")],
           [{"version": 1, "resourceType": "GROUP", "name": "app-", "patternType": "PREFIXED"}],
           "extended change notifications")

        def describe(rtype=ResourceType.ANY, name=None, ptype=ACLResourcePatternType.ANY, principal=None):
            acls, err = admin.describe_acls(ACLFilter(principal, None, ACLOperation.ANY, ACLPermissionType.ANY,
                                                      ResourcePatternFilter(rtype, name, ptype)))
            return sorted(map(acl_key, acls))

        eq(describe(), sorted(map(acl_key, [alice_read, bob_write, alice_group])), "describe everything")
        eq(describe(principal="User:bob"), [acl_key(bob_write)], "describe by principal")
        eq(describe(ResourceType.GROUP), [acl_key(alice_group)], "describe by type")
        eq(describe(ResourceType.GROUP, "app-1", ACLResourcePatternType.MATCH), [acl_key(alice_group)],
           "describe MATCH: the prefix applies to app-1")
        eq(describe(ResourceType.GROUP, "app-1", ACLResourcePatternType.LITERAL), [], "describe LITERAL app-1")

        # DescribeAcls v1 with pattern type UNKNOWN: INVALID_REQUEST.
        with kproto.connect(b.bootstrap) as c:
            body = (kproto.i8(1) + kproto.i16(-1) + kproto.i8(0) + kproto.i16(-1) + kproto.i16(-1) +
                    kproto.i8(1) + kproto.i8(1))
            r = c.request(API_DESCRIBE_ACLS, 1, body)
            r.i32()
            eq(r.i16(), ERR_INVALID_REQUEST, "DescribeAcls with an UNKNOWN pattern type")

        # DeleteAcls: per filter, what it deleted; the last ACL of a resource takes its znode with it.
        results = admin.delete_acls([
            ACLFilter("User:alice", None, ACLOperation.ANY, ACLPermissionType.ANY,
                      ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)),
            ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                      ResourcePatternFilter(ResourceType.TOPIC, "nothing", ACLResourcePatternType.LITERAL)),
        ])
        eq(len(results), 2, "one result per filter")
        eq(sorted(acl_key(a) for a, _ in results[0][1]), sorted(map(acl_key, [alice_read, alice_group])),
           "deleted by the first filter")
        check(all(e.errno == 0 for _, e in results[0][1]), f"per-ACL errors {results[0][1]}")
        eq(results[1][1], [], "deleted by the second filter")
        check(zk.exists("/kafka-acl-extended/prefixed/Group/app-") is None, "empty resource znode kept")
        eq(json.loads(zk.get("/kafka-acl/Topic/orders")[0].decode())["acls"],
           [{"principal": "User:bob", "permissionType": "Deny", "operation": "Write", "host": "10.0.0.7"}],
           "/kafka-acl/Topic/orders after the delete")
        eq(describe(), [acl_key(bob_write)], "describe after the delete")
    finally:
        admin.close()


@timeout(90)
def test_acls_written_to_zookeeper_by_kafka_are_served(ctx):
    require_module("kafka", "python3-kafka")
    from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                             KafkaAdminClient, ResourcePatternFilter, ResourceType)

    zk = ctx.zk()
    # Present before the broker starts: read at start-up.
    zk.create("/kafka-acl/Topic/*", json.dumps(
        {"version": 1, "acls": [{"principal": "User:*", "permissionType": "Allow", "operation": "Describe",
                                 "host": "*"}]}).encode(), makepath=True)
    b = ctx.start_broker(0)
    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=15000, client_id="gregor-it")

    def describe():
        acls, _ = admin.describe_acls(ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                                                ResourcePatternFilter(ResourceType.ANY, None,
                                                                      ACLResourcePatternType.ANY)))
        return sorted(map(acl_key, acls))

    try:
        eq(describe(), [(2, "*", 3, "User:*", "*", 8, 3)], "the wildcard topic ACL loaded at start-up")
        # While running: the znode, then the notification, as Kafka's AclAuthorizer writes them.
        zk.create("/kafka-acl/Group/payments", json.dumps(
            {"version": 1, "acls": [{"principal": "User:svc", "permissionType": "Allow", "operation": "Read",
                                     "host": "192.168.0.1"}]}).encode(), makepath=True)
        zk.create("/kafka-acl-changes/acl_changes_", b"Group:payments", sequence=True)
        zk.create("/kafka-acl-extended/prefixed/TransactionalId/tx-", json.dumps(
            {"version": 1, "acls": [{"principal": "User:svc", "permissionType": "Deny", "operation": "Write",
                                     "host": "*"}]}).encode(), makepath=True)
        zk.create("/kafka-acl-extended-changes/acl_changes_", json.dumps(
            {"version": 1, "resourceType": "TRANSACTIONAL_ID", "name": "tx-",
             "patternType": "PREFIXED"}).encode(), sequence=True)
        want = sorted([(2, "*", 3, "User:*", "*", 8, 3), (3, "payments", 3, "User:svc", "192.168.0.1", 3, 3),
                       (5, "tx-", 4, "User:svc", "*", 4, 2)])
        wait_until(lambda: describe() == want, 15, "the ACLs written to ZooKeeper are described")
        # Removed by a Kafka tool: the znode goes, then the notification.
        zk.delete("/kafka-acl/Group/payments")
        zk.create("/kafka-acl-changes/acl_changes_", b"GROUP:payments", sequence=True)
        wait_until(lambda: (3, "payments", 3, "User:svc", "192.168.0.1", 3, 3) not in describe(), 15,
                   "the removed ACL disappears")
    finally:
        admin.close()
