"""The audit log of security decisions (audit.log.file): one JSON line per SASL authentication (success or failure,
with the client address) and per authorization denial, written while confluent-kafka clients authenticate with
right and wrong passwords and are refused a topic; allowed decisions are left out unless
audit.log.authorization.allowed. Rotation by size keeps audit.log.max.files files."""

import json

from harness import check, create_topic, eq, timeout, unique_topic, wait_until
from test_confluent import ck
from test_sasl import sasl_flags

ALICE = {"security.protocol": "sasl_plaintext", "sasl.mechanism": "PLAIN", "sasl.username": "alice",
         "sasl.password": "alice-secret"}


def read_audit(path):
    lines = []
    for p in sorted(path.parent.glob(path.name + "*")):
        for line in p.read_text().splitlines():
            lines.append(json.loads(line))  # every line must be one JSON object
    return lines


def produce(bootstrap, topic, conf, n=3):
    k = ck()
    p = k.Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 10000, "socket.timeout.ms": 5000,
                    **conf})
    errors = []
    for i in range(n):
        p.produce(topic, value=b"a%d" % i, on_delivery=lambda err, msg: errors.append(err) if err else None)
    p.flush(20)
    return errors


@timeout(120)
def test_audit_log_of_authentications_and_denials(ctx):
    audit = ctx.dir / "audit" / "audit.log"
    audit.parent.mkdir()
    b = ctx.start_broker(0, sasl=sasl_flags(), extra={
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
        "super.users": "User:admin;User:ANONYMOUS", "audit.log.file": str(audit),
        "audit.log.max.bytes": 4096, "audit.log.max.files": 3})
    topic = unique_topic("audit")
    create_topic(b.bootstrap, topic, partitions=1)

    # A wrong password: refused, and recorded as a failure.
    k = ck()
    wrong = k.Producer({"bootstrap.servers": b.sasl_bootstrap, **ALICE, "sasl.password": "wrong"})
    try:
        wrong.list_topics(timeout=3)
    except k.KafkaException:
        pass
    # The right one, then a write alice has no ACL for: authenticated, then denied.
    errors = produce(b.sasl_bootstrap, topic, ALICE)
    check(errors and all(e.code() == k.KafkaError.TOPIC_AUTHORIZATION_FAILED for e in errors),
          f"alice's writes must be refused, got {errors}")

    def lines():
        return read_audit(audit)

    wait_until(lambda: any(l["event"] == "authorization" for l in lines()), 10, "the denial in the audit log")
    got = lines()
    auth = [l for l in got if l["event"] == "authentication"]
    failed = [l for l in auth if l["result"] == "failure"]
    check(failed, f"no failed authentication in {auth}")
    eq(failed[0]["mechanism"], "PLAIN", "failed authentication's mechanism")
    eq(failed[0]["listener"], "SASL_PLAINTEXT", "failed authentication's listener")
    check(failed[0]["client"].startswith("127.0.0.1:") and failed[0]["error"], f"failure line {failed[0]}")
    ok = [l for l in auth if l["result"] == "success"]
    check(ok and ok[0]["principal"] == "User:alice", f"no successful authentication of alice in {auth}")
    denied = [l for l in got if l["event"] == "authorization"]
    check(all(l["result"] == "denied" for l in denied), "allowed decisions are not logged by default")
    d = [l for l in denied if l["api"] == "Produce" or l["api"] == "Metadata"]
    check(d, f"no Produce/Metadata denial in {denied}")
    eq((d[0]["principal"], d[0]["host"], d[0]["resource_type"], d[0]["resource"]),
       ("User:alice", "127.0.0.1", "Topic", topic), "denial line")
    check(all(len(l["time"]) == 24 and l["time"].endswith("Z") for l in got), "ISO-8601 UTC times")

    # Rotation: many more denials than 4 KiB hold; at most 3 rotated files besides the current one.
    for _ in range(8):
        produce(b.sasl_bootstrap, topic, ALICE, n=1)
    files = sorted(p.name for p in audit.parent.iterdir())
    check("audit.log.1" in files and len(files) <= 4 and "audit.log.4" not in files, f"audit files {files}")
    check(all((audit.parent / f).stat().st_size <= 4096 for f in files), "rotated files stay under 4 KiB")
    read_audit(audit)  # every line of every file still parses
