"""kafkajs 2.2 (npm) under the ACL authorizer: a SASL/PLAIN producer without a Write ACL on its topic is refused
with TOPIC_AUTHORIZATION_FAILED (kafkajs reports "Not authorized to access topics"), and the same program succeeds
once an ACL allows it (Write, which implies the Describe its offset lookup needs)."""

import json
import os

from harness import INTEGRATION, Skip, check, create_topic, eq, timeout, unique_topic
from test_sasl import sasl_flags

NEEDS_NODE = True


def kafkajs_produce(ctx, bootstrap, topic):
    reason = os.environ.get("GREGOR_IT_NODE_UNAVAILABLE")
    if reason:
        raise Skip(f"kafkajs not installable: {reason}")
    if not (INTEGRATION / "node_modules" / "kafkajs").exists():
        raise Skip("kafkajs not installed (integration/node_modules missing)")
    _, out, _ = ctx.run(["node", INTEGRATION / "js" / "sasl_client.js", bootstrap, topic, "plain", "alice",
                         "alice-secret"], timeout=60, check_rc=0, cwd=INTEGRATION)
    return json.loads(out.strip().splitlines()[-1])


@timeout(120)
def test_kafkajs_refused_then_allowed_by_acl(ctx):
    from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient,
                             ResourcePattern, ResourceType)
    b = ctx.start_broker(0, sasl=sasl_flags(), extra={
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer", "super.users": "User:ANONYMOUS"})
    topic = unique_topic("kjsacl")
    create_topic(b.bootstrap, topic, partitions=1)

    res = kafkajs_produce(ctx, b.sasl_bootstrap, topic)
    check(not res["ok"], f"kafkajs wrote without an ACL: {res}")
    check("authoriz" in res["error"].lower(), f"kafkajs error is not an authorization failure: {res}")

    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=15000, client_id="gregor-it")
    try:
        got = admin.create_acls([ACL("User:alice", "*", ACLOperation.WRITE, ACLPermissionType.ALLOW,
                                     ResourcePattern(ResourceType.TOPIC, topic, ACLResourcePatternType.LITERAL))])
        eq(got["failed"], [], "create ACL")
    finally:
        admin.close()
    res = kafkajs_produce(ctx, b.sasl_bootstrap, topic)
    check(res["ok"], f"kafkajs refused with a Write ACL: {res}")
    eq([(o["partition"], o["high"]) for o in res["offsets"]], [(0, "100")], "offsets after the allowed send")
