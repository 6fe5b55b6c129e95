"""gregorctl manages ACLs as kafka-acls.sh does (acl add/list/remove, --producer), talking to a SASL listener
with the Java client's properties file (--command-config: sasl.jaas.config, security.protocol): an ACL it adds
lets a confluent-kafka producer of alice write, `acl list` shows it, `acl remove` takes the right away again."""

from harness import GREGORCTL, check, create_topic, eq, timeout, unique_topic
from test_acl_enforcement import JAAS, ck_produce
from test_confluent import ck
from test_sasl import sasl_flags


@timeout(90)
def test_gregorctl_acl_with_command_config(ctx):
    b = ctx.start_broker(0, sasl=sasl_flags({"listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS}), extra={
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer", "super.users": "User:admin;User:ANONYMOUS"})
    topic = unique_topic("ctlacl")
    create_topic(b.bootstrap, topic, partitions=1)
    props = ctx.dir / "admin.properties"
    props.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                     "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\\n"
                     "  username=\"admin\" password=\"admin-secret\";\n")

    def ctl(*args, rc=0):
        _, out, err = ctx.run([GREGORCTL, "-b", b.sasl_bootstrap, "--command-config", props, *args], timeout=30,
                              check_rc=rc)
        return out, err

    k = ck()
    check(set(ck_produce(b, "alice", topic)) == {k.KafkaError.TOPIC_AUTHORIZATION_FAILED}, "alice before the ACL")
    out, _ = ctl("acl", "add", "--allow-principal", "User:alice", "--producer", "--topic", topic)
    eq(out.count("Added ALLOW User:alice"), 3, f"acl add --producer output:\n{out}")
    out, _ = ctl("acl", "list", "--topic", topic)
    rows = sorted(tuple(line.split("\t")[2:4]) for line in out.splitlines()[1:])
    eq(rows, [("ALLOW", "Create"), ("ALLOW", "Describe"), ("ALLOW", "Write")], f"acl list:\n{out}")
    eq(ck_produce(b, "alice", topic), [], "alice with the ACLs gregorctl added")

    out, _ = ctl("acl", "remove", "--allow-principal", "User:alice", "--operation", "Write", "--topic", topic)
    check("Removed 1 ACL(s)" in out, f"acl remove output:\n{out}")
    check(set(ck_produce(b, "alice", topic)) == {k.KafkaError.TOPIC_AUTHORIZATION_FAILED}, "alice after the removal")

    # Without the admin's credentials the listener refuses the tool; bad usage exits 2.
    ctx.run([GREGORCTL, "-b", b.sasl_bootstrap, "-X", "security.protocol=sasl_plaintext", "-X",
                      "sasl.mechanism=PLAIN", "-X", "sasl.username=admin", "-X", "sasl.password=wrong",
                      "-X", "socket.timeout.ms=5000", "acl", "list"], timeout=30, check_rc=1)
    ctl("acl", "add", "--allow-principal", "alice", "--operation", "Read", "--topic", topic, rc=2)
    ctx.run([GREGORCTL, "--command-config", ctx.dir / "missing.properties", "acl", "list"], timeout=10, check_rc=2)


@timeout(60)
def test_gregorctl_quota_set_and_describe(ctx):
    """gregorctl quota set|describe (AlterClientQuotas / DescribeClientQuotas, kafka-configs.sh's entities): the
    quotas it sets are Kafka's znodes, describe filters by entity, --delete removes a key."""
    b = ctx.start_broker(0)

    def ctl(*args, rc=0):
        _, out, err = ctx.run([GREGORCTL, "-b", b.bootstrap, "quota", *args], timeout=30, check_rc=rc)
        return out

    out = ctl("set", "--user", "alice", "--client-default", "--add",
              "producer_byte_rate=1048576,request_percentage=25")
    check("Updated the quotas of user=alice, client-id=<default>" in out, out)
    ctl("set", "--client", "loader", "--add", "consumer_byte_rate=2048")
    data, _ = ctx.zk().get("/config/users/alice/clients/<default>")
    import json
    eq(json.loads(data)["config"], {"producer_byte_rate": "1048576", "request_percentage": "25.0"}, "znode")
    eq(ctl("describe", "--client", "loader"), "client-id=loader: consumer_byte_rate=2048\n", "describe one client")
    out = ctl("describe")
    check("user=alice, client-id=<default>: producer_byte_rate=1048576, request_percentage=25" in out, out)
    ctl("set", "--client", "loader", "--delete", "consumer_byte_rate")
    eq(ctl("describe", "--client", "loader"), "", "describe after --delete")
    err = ctx.run([GREGORCTL, "-b", b.bootstrap, "quota", "set", "--client", "x", "--add", "bogus_rate=1"],
                  timeout=30, check_rc=1)[2]
    check("INVALID_REQUEST" in err, err)
