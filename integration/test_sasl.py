"""SASL on SASL_PLAINTEXT and SASL_SSL listeners: PLAIN users from the listener's JAAS string, SCRAM-SHA-256/512
credentials in ZooKeeper as Kafka's kafka-configs.sh --zookeeper writes them. confluent-kafka (SaslHandshake v1 +
SaslAuthenticate), kafka-python (SaslHandshake v0 + raw tokens) and kafkajs; wrong passwords, unknown mechanisms,
requests before authentication and garbage tokens close only that connection, after the failed-authentication
delay."""

import base64
import hashlib
import hmac
import json
import os
import struct
import time

import kproto
from harness import INTEGRATION, Skip, check, create_topic, eq, require_module, timeout, unique_topic, wait_until
from test_confluent import consume_assigned, produce_all
from test_tls import make_certs, ssl_flags

NEEDS_NODE = True  # kafkajs

API_SASL_HANDSHAKE = 17
API_SASL_AUTHENTICATE = 36

PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" '
              'password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";')


def sasl_flags(extra=None, ssl=False):
    f = {"sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
         "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS}
    if ssl:
        f["listener.name.sasl_ssl.plain.sasl.jaas.config"] = PLAIN_JAAS
    f.update(extra or {})
    return f


def scram_credential(mechanism, password, iterations=4096, salt=None):
    """Kafka's ZooKeeper text form of a SCRAM credential (ScramCredentialUtils), computed per RFC 5802."""
    h = hashlib.sha256 if mechanism == "SCRAM-SHA-256" else hashlib.sha512
    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac(h().name, password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", h).digest()
    stored_key = h(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", h).digest()
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"salt={b64(salt)},stored_key={b64(stored_key)},server_key={b64(server_key)},iterations={iterations}"


def set_scram_user(ctx, user, password, mechanisms=("SCRAM-SHA-256", "SCRAM-SHA-512")):
    """What `kafka-configs.sh --zookeeper ... --alter --add-config SCRAM-SHA-256=[password=...] --entity-type users`
    writes: /config/users/<user>, then a change notification."""
    zk = ctx.zk()
    path = f"/config/users/{user}"
    data = json.dumps({"version": 1, "config": {m: scram_credential(m, password) for m in mechanisms}}).encode()
    if zk.exists(path):
        zk.set(path, data)
    else:
        zk.create(path, data, makepath=True)
    zk.create("/config/changes/config_change_", json.dumps({"version": 2, "entity_path": f"users/{user}"}).encode(),
              sequence=True, makepath=True)


def ck_sasl(mechanism, user, password, protocol="SASL_PLAINTEXT", extra=None):
    conf = {"security.protocol": protocol, "sasl.mechanism": mechanism, "sasl.username": user,
            "sasl.password": password}
    conf.update(extra or {})
    return conf


def ck_metadata_error(bootstrap, conf, t=10):
    """None when an AdminClient lists topics through `conf`, else the error it got (librdkafka reports the
    authentication failure itself through error_cb; list_topics only says the transport failed)."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient
    seen = []
    a = AdminClient({"bootstrap.servers": bootstrap, "error_cb": seen.append, **conf})
    try:
        a.list_topics(timeout=t)
        return None
    except KafkaException as e:
        a.poll(1)  # serves error_cb
        auth = [x for x in seen if x.code() == KafkaError._AUTHENTICATION]
        return auth[0] if auth else e.args[0]


@timeout(120)
def test_sasl_confluent_plain_and_scram(ctx):
    """confluent-kafka (librdkafka: SaslHandshake v1 + SaslAuthenticate) produces and consumes with each mechanism;
    a wrong password and an unknown user fail with an authentication error."""
    require_module("confluent_kafka", "python3-confluent-kafka")
    set_scram_user(ctx, "bob", "bob-secret")
    b = ctx.start_broker(0, sasl=sasl_flags())
    topic = unique_topic("sasl")
    create_topic(b.bootstrap, topic, partitions=1)
    total = 0
    for mech, user, pw in (("PLAIN", "alice", "alice-secret"), ("SCRAM-SHA-256", "bob", "bob-secret"),
                           ("SCRAM-SHA-512", "bob", "bob-secret")):
        conf = ck_sasl(mech, user, pw)
        records = [(0, None, f"{mech}-{i}".encode()) for i in range(200)]
        acked = produce_all(b.sasl_bootstrap, topic, records, extra=conf)
        eq(len(acked), 200, f"records acknowledged over {mech}")
        total += 200
        got = consume_assigned(b.sasl_bootstrap, topic, [0], total, extra=conf)
        eq([v for _, _, v in got[0]][-200:], [v for _, _, v in records], f"records read back over {mech}")
    for mech, user, pw in (("PLAIN", "alice", "wrong"), ("PLAIN", "mallory", "x"),
                           ("SCRAM-SHA-256", "bob", "wrong"), ("SCRAM-SHA-512", "nobody", "x")):
        err = ck_metadata_error(b.sasl_bootstrap, ck_sasl(mech, user, pw), t=3)
        check(err is not None, f"{mech} as {user} with a wrong password listed topics")
        eq(err.name(), "_AUTHENTICATION", f"{mech} as {user}: the error ({err})")
        check("uthentication failed" in err.str(), f"{mech} as {user}: the broker's message in {err}")
    b.check_alive("after failed authentications")


@timeout(120)
def test_sasl_kafka_python_v0_tokens(ctx):
    """kafka-python 2.0 speaks SaslHandshake v0 and then raw SASL tokens (no SaslAuthenticate)."""
    require_module("kafka", "python3-kafka")
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.errors import KafkaError
    set_scram_user(ctx, "carol", "carol-secret")
    b = ctx.start_broker(0, sasl=sasl_flags())
    topic = unique_topic("saslkpy")
    create_topic(b.bootstrap, topic, partitions=1)
    expected = []
    for mech, user, pw in (("PLAIN", "alice", "alice-secret"), ("SCRAM-SHA-256", "carol", "carol-secret"),
                           ("SCRAM-SHA-512", "carol", "carol-secret")):
        auth = dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism=mech, sasl_plain_username=user,
                    sasl_plain_password=pw)
        p = KafkaProducer(bootstrap_servers=b.sasl_bootstrap, acks="all", **auth)
        futures = [p.send(topic, value=f"kpy-{mech}-{i}".encode(), partition=0) for i in range(100)]
        p.flush(timeout=30)
        offsets = [f.get(timeout=10).offset for f in futures]
        p.close(timeout=10)
        eq(offsets, list(range(len(expected), len(expected) + 100)), f"offsets acknowledged over {mech}")
        expected += [f"kpy-{mech}-{i}".encode() for i in range(100)]
        c = KafkaConsumer(bootstrap_servers=b.sasl_bootstrap, group_id=None, enable_auto_commit=False,
                          consumer_timeout_ms=1000, **auth)
        try:
            tp = TopicPartition(topic, 0)
            c.assign([tp])
            c.seek_to_beginning()
            got = []
            deadline = time.monotonic() + 30
            while len(got) < len(expected) and time.monotonic() < deadline:
                for msgs in c.poll(timeout_ms=500).values():
                    got += [m.value for m in msgs]
            eq(got, expected, f"records read back over {mech} with kafka-python")
        finally:
            c.close()
    # A wrong password: kafka-python raises once the broker closes the v0 exchange.
    failed = None
    try:
        p = KafkaProducer(bootstrap_servers=b.sasl_bootstrap, security_protocol="SASL_PLAINTEXT",
                          sasl_mechanism="SCRAM-SHA-256", sasl_plain_username="carol", sasl_plain_password="nope",
                          max_block_ms=5000, api_version=(2, 0))
        p.send(topic, value=b"must not land").get(timeout=10)
        p.close(timeout=5)
    except KafkaError as e:
        failed = e
    except Exception as e:  # noqa: BLE001 (kafka-python raises assorted errors for a closed exchange)
        failed = e
    check(failed is not None, "kafka-python produced with a wrong SCRAM password")
    with kproto.connect(b.bootstrap) as c:
        eq(kproto.list_offsets_v1(c, topic, 0, -1), (0, 300), "end offset after the refused producer")
    b.check_alive("after kafka-python's failed authentication")


@timeout(90)
def test_sasl_kafkajs(ctx):
    """kafkajs 2.2 (SaslHandshake v1, SaslAuthenticate when advertised) with PLAIN and both SCRAMs; a wrong
    password is a KafkaJSSASLAuthenticationError."""
    reason = os.environ.get("GREGOR_IT_NODE_UNAVAILABLE")
    if reason:
        raise Skip(f"kafkajs not installable: {reason}")
    if not (INTEGRATION / "node_modules" / "kafkajs").exists():
        raise Skip("kafkajs not installed (integration/node_modules missing)")
    set_scram_user(ctx, "erin", "erin-secret")
    b = ctx.start_broker(0, sasl=sasl_flags())
    topic = unique_topic("sasljs")
    create_topic(b.bootstrap, topic, partitions=1)

    def js(mech, user, pw):
        _, out, _ = ctx.run(["node", INTEGRATION / "js" / "sasl_client.js", b.sasl_bootstrap, topic, mech, user, pw],
                            timeout=60, check_rc=0, cwd=INTEGRATION)
        return json.loads(out.strip().splitlines()[-1])

    end = 0
    for mech, user, pw in (("plain", "alice", "alice-secret"), ("scram-sha-256", "erin", "erin-secret"),
                           ("scram-sha-512", "erin", "erin-secret")):
        res = js(mech, user, pw)
        check(res["ok"], f"kafkajs over {mech}: {res}")
        end += 100
        eq([(o["partition"], o["high"]) for o in res["offsets"]], [(0, str(end))], f"offsets after {mech}")
    res = js("scram-sha-256", "erin", "wrong")
    check(not res["ok"], "kafkajs authenticated with a wrong password")
    eq(res["type"], "KafkaJSSASLAuthenticationError", f"kafkajs error for a wrong password ({res})")


def handshake(c, mechanism, version):
    r = c.request(API_SASL_HANDSHAKE, version, kproto.string(mechanism))
    err = r.i16()
    mechs = r.array(lambda rr: rr.string())
    return err, mechs


def authenticate(c, token):
    """SaslAuthenticate v1: (error, message, auth_bytes, session_lifetime_ms), or None when the broker closed."""
    c.corr += 1
    c.send_raw(kproto.frame(kproto.request_header(API_SASL_AUTHENTICATE, 1, c.corr) + kproto.kbytes(token)))
    resp = c.recv_frame()
    if resp is None:
        return None
    r = kproto.Reader(resp)
    eq(r.i32(), c.corr, "correlation id of SaslAuthenticate")
    return r.i16(), r.string(), r.bytes(), r.i64()


@timeout(90)
def test_sasl_protocol_errors_close_only_that_connection(ctx):
    """Raw protocol: Kafka's error codes, the failed-authentication delay, requests before authentication, garbage
    and oversized tokens; the broker keeps serving a good client throughout."""
    b = ctx.start_broker(0, sasl=sasl_flags({"connection.failed.authentication.delay.ms": "400",
                                              "sasl.server.max.receive.size": "4096"}))
    # ApiVersions is answered before authentication.
    with kproto.connect(b.sasl_bootstrap) as c:
        err, apis = kproto.api_versions_v0(c)
        eq(err, 0, "ApiVersions before authentication")
        eq((apis.get(17), apis.get(36)), ((0, 1), (0, 2)), "SaslHandshake and SaslAuthenticate advertised")
        # A Metadata request before authentication closes the connection.
        c.send_raw(kproto.frame(kproto.request_header(kproto.API_METADATA, 1, 99) + kproto.i32(-1)))
        check(kproto.wait_closed(c, 5), "Metadata before SASL authentication was not refused")
    # An unknown mechanism: UNSUPPORTED_SASL_MECHANISM (33) listing the enabled ones, then closed.
    with kproto.connect(b.sasl_bootstrap) as c:
        err, mechs = handshake(c, "GSSAPI", 1)
        eq(err, 33, "SaslHandshake with GSSAPI")
        eq(sorted(mechs), ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], "mechanisms offered")
        check(kproto.wait_closed(c, 5), "connection kept after an unsupported mechanism")
    # PLAIN with a wrong password: SASL_AUTHENTICATION_FAILED (58) with a message, after the delay, then closed.
    with kproto.connect(b.sasl_bootstrap) as c:
        eq(handshake(c, "PLAIN", 1)[0], 0, "SaslHandshake PLAIN v1")
        t0 = time.monotonic()
        res = authenticate(c, b"\0alice\0wrong")
        waited = time.monotonic() - t0
        check(res is not None, "no SaslAuthenticate answer to a wrong password")
        eq(res[0], 58, f"error of a wrong password ({res})")
        check("PLAIN" in (res[1] or ""), f"error message names the mechanism: {res[1]!r}")
        check(waited >= 0.35, f"failed authentication answered after {waited:.3f}s, before the 400 ms delay")
        check(kproto.wait_closed(c, 5), "connection kept after a failed authentication")
    # The right password: authenticated, then ordinary requests are served; SaslAuthenticate again is refused.
    with kproto.connect(b.sasl_bootstrap) as c:
        eq(handshake(c, "PLAIN", 1)[0], 0, "SaslHandshake PLAIN v1")
        res = authenticate(c, b"\0alice\0alice-secret")
        eq(res[0], 0, f"PLAIN authentication of alice ({res})")
        md = kproto.metadata_v1(c, [])
        check(md["brokers"], "Metadata after authentication")
        res = authenticate(c, b"\0alice\0alice-secret")
        eq(res[0], 34, "SaslAuthenticate after authentication: ILLEGAL_SASL_STATE")
    # Garbage as a SCRAM client-first message; then an oversized raw token; both closed.
    with kproto.connect(b.sasl_bootstrap) as c:
        eq(handshake(c, "SCRAM-SHA-256", 1)[0], 0, "SaslHandshake SCRAM v1")
        res = authenticate(c, os.urandom(200))
        check(res is None or res[0] == 58, f"garbage SCRAM token answered {res}")
        check(kproto.wait_closed(c, 5), "connection kept after a garbage SCRAM token")
    with kproto.connect(b.sasl_bootstrap) as c:
        eq(handshake(c, "PLAIN", 0)[0], 0, "SaslHandshake PLAIN v0")
        c.send_raw(struct.pack(">i", 1 << 20) + b"x" * 1000)
        check(kproto.wait_closed(c, 5), "a 1 MiB raw token before authentication was not refused")
    # SaslHandshake v0 + a raw PLAIN token with the right password: a raw (empty) answer, then Kafka requests.
    with kproto.connect(b.sasl_bootstrap) as c:
        eq(handshake(c, "PLAIN", 0)[0], 0, "SaslHandshake PLAIN v0")
        c.send_raw(kproto.frame(b"\0admin\0admin-secret"))
        eq(c.recv_frame(), b"", "raw answer to a v0 PLAIN token")
        check(kproto.metadata_v1(c, [])["brokers"], "Metadata after a v0 exchange")
    # SaslHandshake on the PLAINTEXT listener: ILLEGAL_SASL_STATE (34), as Kafka answers it there.
    with kproto.connect(b.bootstrap) as c:
        eq(handshake(c, "PLAIN", 1)[0], 34, "SaslHandshake on a PLAINTEXT listener")
    b.check_alive("after the bad SASL clients")


@timeout(120)
def test_sasl_ssl_and_credentials_added_while_running(ctx):
    """SCRAM-SHA-512 over SASL_SSL; a user created in ZooKeeper while the broker runs can log in at once, and a
    user whose credentials are deleted cannot any more."""
    require_module("confluent_kafka", "python3-confluent-kafka")
    d = make_certs(ctx)
    b = ctx.start_broker(0, ssl=ssl_flags(d), sasl=sasl_flags(ssl=True))
    tls = {"ssl.ca.location": str(d / "ca.pem")}
    dave = ck_sasl("SCRAM-SHA-512", "dave", "dave-secret", "SASL_SSL", tls)
    check(ck_metadata_error(b.sasl_ssl_bootstrap, dave, t=5) is not None, "dave logged in before he existed")
    set_scram_user(ctx, "dave", "dave-secret")
    wait_until(lambda: ck_metadata_error(b.sasl_ssl_bootstrap, dave, t=5) is None, 20,
               "dave's new SCRAM credentials to be accepted")
    topic = unique_topic("saslssl")
    create_topic(b.bootstrap, topic, partitions=1)
    records = [(0, None, f"ssl-{i}".encode()) for i in range(300)]
    produce_all(b.sasl_ssl_bootstrap, topic, records, extra=dave)
    got = consume_assigned(b.sasl_ssl_bootstrap, topic, [0], 300, extra=dave)
    eq([v for _, _, v in got[0]], [v for _, _, v in records], "records read back over SASL_SSL")
    # kafka-configs.sh --delete-config SCRAM-SHA-512 leaves the user's znode without it.
    zk = ctx.zk()
    zk.set("/config/users/dave", json.dumps({"version": 1, "config": {}}).encode())
    zk.create("/config/changes/config_change_", json.dumps({"version": 2, "entity_path": "users/dave"}).encode(),
              sequence=True)
    wait_until(lambda: ck_metadata_error(b.sasl_ssl_bootstrap, dave, t=5) is not None, 20,
               "dave's deleted credentials to be refused")


API_DESCRIBE_USER_SCRAM = 50
API_ALTER_USER_SCRAM = 51


def alter_scram(c, upsertions=(), deletions=()):
    """AlterUserScramCredentials v0 (KIP-554). upsertions: (user, mechanism type, iterations, password); the
    client computes the salted password, as Kafka's Admin does. Returns {user: (error, message)}."""
    def cbytes(b):
        return kproto.uvarint(len(b) + 1) + b

    def upsert(u):
        user, mech, iterations, password = u
        h = "sha256" if mech == 1 else "sha512"
        salt = os.urandom(16)
        salted = hashlib.pbkdf2_hmac(h, password.encode(), salt, max(iterations, 1))
        return (kproto.compact_string(user) + kproto.i8(mech) + kproto.i32(iterations) + cbytes(salt) +
                cbytes(salted) + kproto.uvarint(0))

    body = (kproto.compact_array(list(deletions), lambda d: kproto.compact_string(d[0]) + kproto.i8(d[1]) +
                                 kproto.uvarint(0)) + kproto.compact_array(list(upsertions), upsert))
    r = kproto.flexible_request(c, API_ALTER_USER_SCRAM, 0, body)
    r.i32()  # throttle

    def result(r):
        user, err, msg = kproto.read_compact_string(r), r.i16(), kproto.read_compact_string(r)
        kproto.skip_tagged_fields(r)
        return user, (err, msg)
    return dict(kproto.read_compact_array(r, result) or [])


def describe_scram(c, users=None):
    """DescribeUserScramCredentials v0: (error, {user: (error, [(mechanism, iterations)])})."""
    body = (kproto.uvarint(0) if users is None else
            kproto.compact_array(users, lambda u: kproto.compact_string(u) + kproto.uvarint(0)))
    r = kproto.flexible_request(c, API_DESCRIBE_USER_SCRAM, 0, body)
    r.i32()
    err = r.i16()
    kproto.read_compact_string(r)

    def info(r):
        m, i = r.i8(), r.i32()
        kproto.skip_tagged_fields(r)
        return m, i

    def result(r):
        user, e = kproto.read_compact_string(r), r.i16()
        kproto.read_compact_string(r)
        infos = kproto.read_compact_array(r, info) or []
        kproto.skip_tagged_fields(r)
        return user, (e, infos)
    return err, dict(kproto.read_compact_array(r, result) or [])


@timeout(90)
def test_sasl_scram_credentials_through_the_admin_api(ctx):
    """KIP-554: AlterUserScramCredentials writes /config/users as kafka-configs.sh does, and the new user logs in
    with librdkafka at once; DescribeUserScramCredentials lists mechanisms and iterations only; Kafka's error codes
    for bad requests."""
    require_module("confluent_kafka", "python3-confluent-kafka")
    b = ctx.start_broker(0, sasl=sasl_flags())
    with kproto.connect(b.bootstrap) as c:
        res = alter_scram(c, upsertions=[("frank", 1, 4096, "frank-secret"), ("frank", 2, 8192, "frank-secret")])
        eq(res, {"frank": (0, None)}, "AlterUserScramCredentials upserting two mechanisms")
        err, described = describe_scram(c)
        eq((err, described), (0, {"frank": (0, [(1, 4096), (2, 8192)])}), "DescribeUserScramCredentials of all")
        config = ctx.zk_json("/config/users/frank")[0]["config"]
        eq(sorted(config), ["SCRAM-SHA-256", "SCRAM-SHA-512"], "credentials in ZooKeeper")
        check(config["SCRAM-SHA-512"].startswith("salt=") and "iterations=8192" in config["SCRAM-SHA-512"],
              f"Kafka's credential text form: {config['SCRAM-SHA-512']}")
        for mech in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
            frank = ck_sasl(mech, "frank", "frank-secret")
            wait_until(lambda: ck_metadata_error(b.sasl_bootstrap, frank, t=3) is None, 20,
                       f"frank to log in with {mech}")
        # Kafka's per-user errors; nothing is written for a user with an error.
        res = alter_scram(c, upsertions=[("", 1, 4096, "x"), ("gina", 0, 4096, "x"), ("hank", 1, 100, "x"),
                                         ("ivan", 2, 20000, "x"), ("jill", 1, 4096, "x"), ("jill", 1, 4096, "y")],
                          deletions=[("kate", 1)])
        eq({u: e for u, (e, _) in res.items()},
           {"": 93, "gina": 33, "hank": 93, "ivan": 93, "jill": 92, "kate": 91}, f"per-user errors ({res})")
        eq(describe_scram(c, ["gina", "frank", "frank"])[1],
           {"gina": (91, []), "frank": (92, [])}, "describing a missing user and a user named twice")
        # Deleting one mechanism keeps the other; deleting the last removes the user.
        eq(alter_scram(c, deletions=[("frank", 1)]), {"frank": (0, None)}, "deleting SCRAM-SHA-256")
        eq(describe_scram(c, ["frank"])[1], {"frank": (0, [(2, 8192)])}, "frank after the deletion")
        frank256 = ck_sasl("SCRAM-SHA-256", "frank", "frank-secret")
        wait_until(lambda: ck_metadata_error(b.sasl_bootstrap, frank256, t=3) is not None, 20,
                   "frank's deleted SCRAM-SHA-256 credential to be refused")
        eq(alter_scram(c, deletions=[("frank", 2)]), {"frank": (0, None)}, "deleting SCRAM-SHA-512")
        check(not ctx.zk().exists("/config/users/frank"), "/config/users/frank left without credentials")
        eq(describe_scram(c), (0, {}), "no users left")


def interbroker_flags(password="broker-secret"):
    return {"security.inter.broker.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config":
                'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" '
                f'password="{password}";'}


@timeout(180)
def test_sasl_between_brokers(ctx):
    """Three brokers whose inter-broker listener is SASL_PLAINTEXT with SCRAM-SHA-512 (the controller's requests,
    replica fetchers, controlled shutdown): an RF 3 topic replicates, acks=all records survive the leader's
    kill -9 and are read back through SASL by a client; a broker with a wrong inter-broker password cannot
    replicate and stays out of the ISR, while the others keep serving."""
    require_module("confluent_kafka", "python3-confluent-kafka")
    set_scram_user(ctx, "broker", "broker-secret", mechanisms=("SCRAM-SHA-512",))
    set_scram_user(ctx, "client", "client-secret")
    brokers = ctx.start_cluster(3, sasl=sasl_flags(interbroker_flags()))
    topic = unique_topic("saslib")
    with kproto.connect(brokers[0].bootstrap) as c:
        res = kproto.create_topics_v0(c, [(topic, 1, 3, {"min.insync.replicas": "2"})])
    eq(res.get(topic), 0, "CreateTopics of the RF 3 topic")
    client = ck_sasl("SCRAM-SHA-256", "client", "client-secret")

    def isr():
        for b in brokers:
            if not b.alive():
                continue
            with kproto.connect(b.bootstrap) as c:
                parts = kproto.metadata_v1(c, [topic])["topics"][topic]["partitions"] or []
            if parts:
                return parts[0]["leader"], sorted(parts[0]["isr"] or [])
        return -1, []
    wait_until(lambda: len(isr()[1]) == 3, 30, "all three replicas in the ISR over inter-broker SASL")
    records = [(0, None, f"ib-{i}".encode()) for i in range(500)]
    produce_all(",".join(b.sasl_bootstrap for b in brokers), topic, records, extra=client)
    leader = isr()[0]
    brokers[leader].kill9()
    rest = [b for b in brokers if b.broker_id != leader]
    got = consume_assigned(",".join(b.sasl_bootstrap for b in rest), topic, [0], 500, extra=client)
    eq([v for _, _, v in got[0]], [v for _, _, v in records], "acks=all records after the leader's kill -9")
    # The old leader comes back with a wrong inter-broker password: it cannot fetch, so it is not in the ISR.
    bad = brokers[leader]
    wait_until(lambda: not ctx.zk().exists(f"/brokers/ids/{bad.broker_id}"), 30,
               "the killed broker's registration to expire")
    bad.sasl = sasl_flags(interbroker_flags("wrong"))
    bad.start(wait=False)
    bad.wait_ready(30)
    time.sleep(5)
    check(bad.broker_id not in isr()[1], f"broker {bad.broker_id} with a wrong password joined the ISR {isr()}")
    log = bad.log_path.read_text(errors="replace")
    check("SASL authentication failed" in log or "SASL_AUTHENTICATION_FAILED" in log,
          "the broker with the wrong password does not log why it cannot connect")
    # Restarted with the right password it catches up and rejoins. (SIGTERM would first try a controlled
    # shutdown, which its wrong password keeps retrying.)
    bad.kill9()
    wait_until(lambda: not ctx.zk().exists(f"/brokers/ids/{bad.broker_id}"), 30,
               "the killed broker's registration to expire")
    bad.sasl = sasl_flags(interbroker_flags())
    bad.start()
    wait_until(lambda: len(isr()[1]) == 3, 60, "the broker to rejoin the ISR with the right password")


@timeout(180)
def test_sasl_ssl_between_brokers(ctx):
    """Three brokers whose inter-broker traffic is SASL_SSL (TLS checked against the CA and the host name, SCRAM-SHA-512
    inside): an RF 3 topic with min.insync.replicas=2 replicates, acks=all records written by a SASL_SSL client
    survive the leader's kill -9 and are read back, and the killed broker rejoins the ISR over SASL_SSL."""
    require_module("confluent_kafka", "python3-confluent-kafka")
    d = make_certs(ctx)
    set_scram_user(ctx, "broker", "broker-secret", mechanisms=("SCRAM-SHA-512",))
    set_scram_user(ctx, "client", "client-secret")
    ib = {"security.inter.broker.protocol": "SASL_SSL", "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
          "ssl.endpoint.identification.algorithm": "https",
          "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config":
              'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" '
              'password="broker-secret";'}
    brokers = ctx.start_cluster(3, ssl=ssl_flags(d), sasl=sasl_flags(ib, ssl=True))
    topic = unique_topic("saslsslib")
    with kproto.connect(brokers[0].bootstrap) as c:
        res = kproto.create_topics_v0(c, [(topic, 1, 3, {"min.insync.replicas": "2"})])
    eq(res.get(topic), 0, "CreateTopics of the RF 3 topic")
    client = ck_sasl("SCRAM-SHA-256", "client", "client-secret", "SASL_SSL", {"ssl.ca.location": str(d / "ca.pem")})

    def isr():
        for b in brokers:
            if not b.alive():
                continue
            with kproto.connect(b.bootstrap) as c:
                parts = kproto.metadata_v1(c, [topic])["topics"][topic]["partitions"] or []
            if parts:
                return parts[0]["leader"], sorted(parts[0]["isr"] or [])
        return -1, []
    wait_until(lambda: len(isr()[1]) == 3, 30, "all three replicas in the ISR over inter-broker SASL_SSL")
    records = [(0, None, f"ibssl-{i}".encode()) for i in range(500)]
    produce_all(",".join(b.sasl_ssl_bootstrap for b in brokers), topic, records, extra=client)
    leader = isr()[0]
    brokers[leader].kill9()
    rest = [b for b in brokers if b.broker_id != leader]
    got = consume_assigned(",".join(b.sasl_ssl_bootstrap for b in rest), topic, [0], 500, extra=client)
    eq([v for _, _, v in got[0]], [v for _, _, v in records], "acks=all records after the leader's kill -9")
    old = brokers[leader]
    wait_until(lambda: not ctx.zk().exists(f"/brokers/ids/{old.broker_id}"), 30,
               "the killed broker's registration to expire")
    old.start()
    wait_until(lambda: len(isr()[1]) == 3, 60, "the restarted broker to rejoin the ISR over SASL_SSL")
    # The fetchers reach their leaders only on the inter-broker listener, which each broker resolved to SASL_SSL.
    for b in brokers:
        check("inter.broker.listener.name = SASL_SSL" in b.log_path.read_text(errors="replace"),
              f"broker {b.broker_id}'s inter-broker listener is not SASL_SSL")
