"""gregorctl manages ACLs as kafka-acls.sh does (acl add/list/remove, --producer), talking to a SASL listener
with the Java client's properties file (--command-config: sasl.jaas.config, security.protocol): an ACL it adds
lets a confluent-kafka producer of alice write, `acl list` shows it, `acl remove` takes the right away again."""

import json

from harness import GREGORCTL, check, create_topic, eq, timeout, unique_topic, wait_until
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


@timeout(120)
def test_gregorctl_user_scram_quota_and_transactions_over_sasl_ssl(ctx):
    """gregorctl's own protocol client over SASL_SSL (TLS checked against the CA, SCRAM or PLAIN): `user scram set`
    creates a SCRAM user (AlterUserScramCredentials with a client-side salted password) that confluent-kafka logs
    in as at once; `user scram list` shows it; the new user's gregorctl is held to its ACLs (quota describe needs
    DescribeConfigs on the cluster); the admin's quota and transactions commands work over the same listener;
    `user scram delete` locks the user out. A wrong password, a missing CA and a plain-TCP port fail with a
    clear error (exit 1)."""
    from test_sasl import ck_metadata_error, ck_sasl
    from test_tls import make_certs, ssl_flags
    d = make_certs(ctx)
    b = ctx.start_broker(0, ssl=ssl_flags(d), sasl=sasl_flags(
        {"listener.name.sasl_ssl.plain.sasl.jaas.config": JAAS}, ssl=True), extra={
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer", "super.users": "User:admin;User:ANONYMOUS"})
    props = ctx.dir / "admin-ssl.properties"
    props.write_text("security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n"
                     "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
                     "username=\"admin\" password=\"admin-secret\";\n"
                     f"ssl.truststore.type=PEM\nssl.truststore.location={d / 'ca.pem'}\n")

    def ctl(*args, rc=0, conf=("--command-config", props)):
        _, out, err = ctx.run([GREGORCTL, "-b", b.sasl_ssl_bootstrap, *conf, *args], timeout=30, check_rc=rc)
        return out, err

    pw = ctx.dir / "carol.pw"
    pw.write_text("carol-secret\n")
    out, _ = ctl("user", "scram", "set", "carol", "--mechanism", "SCRAM-SHA-512", "--iterations", "8192",
                 "--password-file", pw)
    check("Set the SCRAM-SHA-512 credentials of user carol" in out, out)
    config = ctx.zk_json("/config/users/carol")[0]["config"]
    check("iterations=8192" in config["SCRAM-SHA-512"] and "carol-secret" not in json.dumps(config), str(config))
    carol = ck_sasl("SCRAM-SHA-512", "carol", "carol-secret", "SASL_SSL", {"ssl.ca.location": str(d / "ca.pem")})
    wait_until(lambda: ck_metadata_error(b.sasl_ssl_bootstrap, carol, t=5) is None, 20, "carol to log in")
    out, _ = ctl("user", "scram", "list")
    rows = [line.split() for line in out.splitlines()]
    eq(rows, [["USER", "MECHANISM", "ITERATIONS"], ["carol", "SCRAM-SHA-512", "8192"]], f"user scram list:\n{out}")

    # carol's own gregorctl (SCRAM-SHA-512 from -X) authenticates and is then held to her ACLs.
    carol_x = ["-X", "security.protocol=sasl_ssl", "-X", "sasl.mechanism=SCRAM-SHA-512", "-X", "sasl.username=carol",
               "-X", "sasl.password=carol-secret", "-X", f"ssl.ca.location={d / 'ca.pem'}"]
    _, err = ctl("quota", "describe", rc=1, conf=carol_x)
    check("CLUSTER_AUTHORIZATION_FAILED" in err, err)
    out, _ = ctl("quota", "set", "--user", "carol", "--add", "producer_byte_rate=1048576")
    check("Updated the quotas of user=carol" in out, out)
    out, _ = ctl("quota", "describe", "--user", "carol")
    eq(out, "user=carol: producer_byte_rate=1048576\n", "quota describe over SASL_SSL")
    ctl("transactions", "list")

    bad = ["-X", "security.protocol=sasl_ssl", "-X", "sasl.mechanism=SCRAM-SHA-512", "-X", "sasl.username=carol",
           "-X", "sasl.password=wrong", "-X", f"ssl.ca.location={d / 'ca.pem'}"]
    _, err = ctl("user", "scram", "list", rc=1, conf=bad)
    check("SASL_AUTHENTICATION_FAILED" in err, err)
    _, err = ctl("user", "scram", "list", rc=1, conf=carol_x[:-2])  # the system's CAs do not know ours
    check("certificate verify failed" in err, err)
    _, _, err = ctx.run([GREGORCTL, "-b", b.bootstrap, *carol_x, "-X", "socket.timeout.ms=5000", "user", "scram",
                      "list"], timeout=30, check_rc=1)
    check("TLS handshake" in err, err)

    out, _ = ctl("user", "scram", "delete", "carol", "--mechanism", "SCRAM-SHA-512")
    check("Deleted the SCRAM-SHA-512 credentials of user carol" in out, out)
    wait_until(lambda: ck_metadata_error(b.sasl_ssl_bootstrap, carol, t=5) is not None, 20, "carol to be refused")
    eq(ctl("user", "scram", "list")[0], "", "no SCRAM users left")
    _, err = ctl("user", "scram", "list", "carol", rc=1)
    check("RESOURCE_NOT_FOUND" in err, err)
