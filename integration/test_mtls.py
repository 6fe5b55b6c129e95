"""mTLS principals (KIP-371): an SSL listener with ssl.client.auth=required takes each client's principal from
the subject of its certificate (RFC 2253, as Java writes it) through ssl.principal.mapping.rules, and the ACL
authorizer decides with that principal. confluent-kafka and kafka-python present client certificates signed by
the test CA. The PLAINTEXT listener is the internal one (User:ANONYMOUS, a super user) through which the test
administers topics and ACLs with kafka-python's admin client."""

import socket
import ssl as pyssl

from harness import check, create_topic, eq, require_module, timeout, unique_topic, wait_until
from test_confluent import ck, consume_assigned, produce_all
from test_tls import make_certs, ssl_flags

RULES = "RULE:^CN=([^,]*),OU=eng,.*$/$1/L, RULE:^CN=([^,]*),O=evil$/evil-$1/L"


def client_cert(ctx, d, name, subject):
    """A client certificate for `subject` (openssl -subj order) signed by the test CA; (certfile, keyfile)."""
    def openssl(*args):
        ctx.run(["openssl", *args], timeout=30, check_rc=0, cwd=d)

    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", "2")
    return str(d / f"{name}.crt"), str(d / f"{name}.key")


def tls_conf(d, cert):
    return {"security.protocol": "ssl", "ssl.ca.location": str(d / "ca.pem"), "ssl.certificate.location": cert[0],
            "ssl.key.location": cert[1]}


def produce_errors(bootstrap, topic, conf, n=3):
    """Produces n records with confluent-kafka; returns the delivery errors (empty when all were acked)."""
    k = ck()
    p = k.Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 15000, **conf})
    errors = []
    for i in range(n):
        p.produce(topic, value=b"m%d" % i, on_delivery=lambda err, msg: errors.append(err) if err else None)
    eq(p.flush(30), 0, "messages left after flush")
    return errors


@timeout(120)
def test_mtls_principal_from_certificate_subject(ctx):
    require_module("kafka", "python3-kafka")
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient
    from kafka.admin import ResourcePattern, ResourceType

    d = make_certs(ctx)
    alice = client_cert(ctx, d, "alice", "/C=US/O=gregor/OU=eng/CN=Alice")  # CN=Alice,OU=eng,O=gregor,C=US
    mallory = client_cert(ctx, d, "mallory", "/O=evil/CN=Mallory")  # CN=Mallory,O=evil
    stranger = client_cert(ctx, d, "stranger", "/O=elsewhere/CN=bob")  # no rule applies
    flags = dict(ssl_flags(d), **{"ssl.client.auth": "required", "ssl.principal.mapping.rules": RULES})
    b = ctx.start_broker(0, ssl=flags, extra={"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
                                              "super.users": "User:ANONYMOUS"})
    topic = unique_topic("mtls")
    create_topic(b.bootstrap, topic, partitions=1)
    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=15000, client_id="gregor-it")
    try:
        def allow(principal, op):
            res = admin.create_acls([ACL(principal, "*", op, ACLPermissionType.ALLOW,
                                         ResourcePattern(ResourceType.TOPIC, topic, ACLResourcePatternType.LITERAL))])
            eq(res["failed"], [], f"create ACL {principal} {op}")

        # alice's certificate maps to User:alice (rule 1, lower-cased): allowed to write and read.
        allow("User:alice", ACLOperation.WRITE)
        allow("User:alice", ACLOperation.READ)
        records = [(0, None, b"v%d" % i) for i in range(20)]
        produce_all(b.ssl_bootstrap, topic, records, extra=tls_conf(d, alice))
        got = consume_assigned(b.ssl_bootstrap, topic, [0], len(records), extra=tls_conf(d, alice))
        eq([v for _, _, v in got[0]], [v for _, _, v in records], "alice reads what she wrote (confluent-kafka)")

        # kafka-python with the same certificate.
        c = KafkaConsumer(bootstrap_servers=b.ssl_bootstrap, security_protocol="SSL", ssl_cafile=str(d / "ca.pem"),
                          ssl_certfile=alice[0], ssl_keyfile=alice[1], ssl_check_hostname=False,
                          auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=10000)
        try:
            c.assign([TopicPartition(topic, 0)])
            values = [m.value for m in c]
        finally:
            c.close()
        eq(values, [v for _, _, v in records], "alice reads what she wrote (kafka-python)")

        # mallory's certificate maps to User:evil-mallory (rule 2): refused until that principal is allowed.
        errors = produce_errors(b.ssl_bootstrap, topic, tls_conf(d, mallory))
        check(errors and all(e.code() == ck().KafkaError.TOPIC_AUTHORIZATION_FAILED for e in errors),
              f"mallory's writes must be TOPIC_AUTHORIZATION_FAILED, got {errors}")
        allow("User:evil-mallory", ACLOperation.WRITE)
        eq(produce_errors(b.ssl_bootstrap, topic, tls_conf(d, mallory)), [], "User:evil-mallory writes once allowed")

        # A certificate no rule maps is refused: the connection closes after the handshake, with a log line.
        pctx = pyssl.create_default_context(cafile=str(d / "ca.pem"))
        pctx.load_cert_chain(stranger[0], stranger[1])
        with socket.create_connection(("127.0.0.1", b.ssl_port), timeout=5) as raw:
            with pctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.settimeout(5)
                try:
                    data = s.recv(4)
                except (pyssl.SSLError, ConnectionResetError):
                    data = b""
                eq(data, b"", "the connection of an unmapped certificate is closed")
        wait_until(lambda: "refusing client certificate CN=bob,O=elsewhere" in b.log_path.read_text(errors="replace"),
                   10, "the broker's log line for the refused certificate")

        # Without a certificate the handshake itself fails (ssl.client.auth=required).
        bare = pyssl.create_default_context(cafile=str(d / "ca.pem"))
        refused = False
        with socket.create_connection(("127.0.0.1", b.ssl_port), timeout=5) as raw:
            try:
                with bare.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                    s.settimeout(5)
                    s.sendall(b"\x00\x00\x00\x01\x00")
                    refused = s.recv(4) == b""
            except (pyssl.SSLError, ConnectionResetError, BrokenPipeError):
                refused = True
        check(refused, "a client without a certificate must be refused")
    finally:
        admin.close()
