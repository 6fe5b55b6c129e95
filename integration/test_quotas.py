"""Client quotas as Kafka keeps them: producer_byte_rate and consumer_byte_rate per client id (and user), set in
ZooKeeper the way `kafka-configs.sh --zookeeper --alter --add-config ... --entity-type clients` writes them and
through AlterClientQuotas / DescribeClientQuotas (KIP-546). A noisy producer (confluent-kafka) is held to its rate
and told so through throttle_time_ms (KIP-219) while a producer of another client id (kafka-python) on the same
broker is not; a consumer with a consumer_byte_rate reads at that rate; removing the quota frees the client.
Short quota windows (3 samples of 1 s) keep the test quick; the rates are measured after the first windows."""

import json
import socket
import threading
import time

import kproto
from harness import GREGORCTL, Failure, check, create_topic, eq, exclusive, timeout, unique_topic, wait_until
from test_confluent import ck

PRODUCE_QUOTA = 200 * 1024  # bytes/s
FETCH_QUOTA = 300 * 1024
VALUE = b"q" * 1000
QUOTA_WINDOWS = {"quota.window.num": 3, "quota.window.size.seconds": 1}


def set_quota_in_zk(ctx, entity_path, config):
    """What kafka-configs.sh --zookeeper writes: the entity's config znode, then a change notification."""
    zk = ctx.zk()
    path = "/config/" + entity_path
    data = json.dumps({"version": 1, "config": config}).encode()
    if zk.exists(path):
        zk.set(path, data)
    else:
        zk.create(path, data, makepath=True)
    zk.create("/config/changes/config_change_", json.dumps({"version": 2, "entity_path": entity_path}).encode(),
              sequence=True, makepath=True)


def produce_for(bootstrap, topic, client_id, seconds, throttles=None):
    """confluent-kafka producer sending VALUE as fast as it may; returns [(ack time, bytes)]."""
    k = ck()
    conf = {"bootstrap.servers": bootstrap, "client.id": client_id, "linger.ms": 5, "acks": 1,
            "queue.buffering.max.kbytes": 512, "message.timeout.ms": 60000}
    if throttles is not None:
        conf["throttle_cb"] = lambda ev: throttles.append(ev.throttle_time)
    p = k.Producer(conf)
    acks = []
    end = time.time() + seconds
    while time.time() < end:
        try:
            p.produce(topic, value=VALUE, on_delivery=lambda err, msg: acks.append((time.time(), len(msg.value())))
                      if err is None else None)
        except BufferError:
            p.poll(0.05)
        p.poll(0)
    p.flush(30)
    return acks


def rate_between(acks, t0, t1):
    return sum(n for t, n in acks if t0 <= t < t1) / (t1 - t0)


@exclusive  # rates measured: alone, so that other tests' load does not skew them
@timeout(150)
def test_producer_held_to_its_byte_rate_others_unaffected(ctx):
    b = ctx.start_broker(0, extra=QUOTA_WINDOWS)
    topic = unique_topic("quota")
    create_topic(b.bootstrap, topic, partitions=1)
    set_quota_in_zk(ctx, "clients/noisy", {"producer_byte_rate": str(PRODUCE_QUOTA)})
    # The broker applies it once the notification is read: DescribeClientQuotas shows it.
    with kproto.connect(b.bootstrap) as c:
        def described():
            _, code, _, entries = kproto.describe_client_quotas_v0(c, [("client-id", 0, "noisy")])
            return code == 0 and entries == [({"client-id": "noisy"}, {"producer_byte_rate": float(PRODUCE_QUOTA)})]
        wait_until(described, 10, "the quota of clients/noisy in DescribeClientQuotas")

    # A quiet kafka-python producer runs at the same time under another client id.
    from kafka import KafkaProducer
    quiet_bytes = []
    quiet_done = threading.Event()

    def quiet():
        p = KafkaProducer(bootstrap_servers=b.bootstrap, client_id="quiet", linger_ms=5, acks=1)
        t_end = time.time() + 8
        n = 0
        while time.time() < t_end:
            p.send(topic, VALUE)
            n += 1
            if n % 500 == 0:
                p.flush()
        p.flush()
        quiet_bytes.append(n * len(VALUE))
        p.close()
        quiet_done.set()

    th = threading.Thread(target=quiet)
    start = time.time()
    th.start()
    throttles = []
    acks = produce_for(b.bootstrap, topic, "noisy", 10, throttles)
    th.join(60)
    check(quiet_done.is_set(), "the quiet producer did not finish")

    noisy = rate_between(acks, start + 4, start + 10)
    quiet_rate = quiet_bytes[0] / 8
    print(f"noisy producer (quota {PRODUCE_QUOTA} B/s): {noisy:.0f} B/s after the first windows; "
          f"quiet producer: {quiet_rate:.0f} B/s; throttle callbacks: {len(throttles)} (max {max(throttles or [0]):.3f} s)")
    check(0.5 * PRODUCE_QUOTA <= noisy <= 1.5 * PRODUCE_QUOTA,
          f"noisy producer at {noisy:.0f} B/s, quota {PRODUCE_QUOTA}")
    check(quiet_rate >= 4 * PRODUCE_QUOTA, f"quiet producer slowed to {quiet_rate:.0f} B/s")
    check(throttles and max(throttles) > 0, "no throttle_time_ms reached the noisy producer")

    # Removed through AlterClientQuotas: the same client runs free again.
    with kproto.connect(b.bootstrap) as c:
        _, results = kproto.alter_client_quotas_v0(c, [({"client-id": "noisy"}, {"producer_byte_rate": None})])
        eq(results, [(0, None, {"client-id": "noisy"})], "AlterClientQuotas removal")
        wait_until(lambda: kproto.describe_client_quotas_v0(c, [("client-id", 0, "noisy")])[3] == [], 10,
                   "the quota gone from DescribeClientQuotas")
    time.sleep(3)  # the throttled windows expire (3 x 1 s)
    start = time.time()
    acks = produce_for(b.bootstrap, topic, "noisy", 4)
    free = rate_between(acks, start, start + 4)
    print(f"noisy producer without its quota: {free:.0f} B/s")
    check(free >= 4 * PRODUCE_QUOTA, f"still held to {free:.0f} B/s after the quota was removed")


@timeout(150)
def test_consumer_held_to_its_byte_rate(ctx):
    b = ctx.start_broker(0, extra=QUOTA_WINDOWS)
    topic = unique_topic("cquota")
    create_topic(b.bootstrap, topic, partitions=1)
    produce_for(b.bootstrap, topic, "filler", 3)  # several MB to read
    with kproto.connect(b.bootstrap) as c:
        _, results = kproto.alter_client_quotas_v0(
            c, [({"user": None, "client-id": "slowreader"}, {"consumer_byte_rate": float(FETCH_QUOTA)})])
        eq(results, [(0, None, {"user": None, "client-id": "slowreader"})], "AlterClientQuotas")
        # Kafka's layout: /config/users/<default>/clients/slowreader holds the key.
        data, _ = ctx.zk().get("/config/users/<default>/clients/slowreader")
        eq(json.loads(data)["config"], {"consumer_byte_rate": str(FETCH_QUOTA)}, "znode written")
        wait_until(lambda: kproto.describe_client_quotas_v0(c, [("user", 1, None)])[3] ==
                   [({"user": None, "client-id": "slowreader"}, {"consumer_byte_rate": float(FETCH_QUOTA)})],
                   10, "the quota in DescribeClientQuotas")
        # Bad requests are refused with a message and change nothing.
        _, bad = kproto.alter_client_quotas_v0(c, [({"client-id": "x"}, {"no_such_quota": 1.0}),
                                                  ({"client-id": "x"}, {"producer_byte_rate": 1.5}),
                                                  ({"topic": "x"}, {"producer_byte_rate": 1.0})])
        check(all(code == 42 and msg for code, msg, _ in bad), f"bad entries: {bad}")
        check(not ctx.zk().exists("/config/clients/x"), "a refused entry was written")

    k = ck()
    cons = k.Consumer({"bootstrap.servers": b.bootstrap, "client.id": "slowreader", "group.id": "g-slow",
                       "auto.offset.reset": "earliest", "enable.auto.commit": False,
                       "fetch.max.bytes": 4 * 1024 * 1024})
    cons.subscribe([topic])
    got = []
    start = time.time()
    while time.time() < start + 9:
        m = cons.poll(0.2)
        if m is not None and m.error() is None:
            got.append((time.time(), len(m.value())))
    cons.close()
    rate = rate_between(got, start + 4, start + 9)
    print(f"consumer (quota {FETCH_QUOTA} B/s): {rate:.0f} B/s after the first windows, "
          f"{sum(n for _, n in got)} bytes in 9 s")
    check(0.4 * FETCH_QUOTA <= rate <= 1.5 * FETCH_QUOTA, f"consumer at {rate:.0f} B/s, quota {FETCH_QUOTA}")

    # kafka-python under another client id reads everything quickly.
    from kafka import KafkaConsumer, TopicPartition
    kc = KafkaConsumer(bootstrap_servers=b.bootstrap, client_id="fastreader", enable_auto_commit=False,
                       auto_offset_reset="earliest", consumer_timeout_ms=3000)
    kc.assign([TopicPartition(topic, 0)])
    start = time.time()
    total = sum(len(m.value) for m in kc)
    kc.close()
    fast = total / max(time.time() - start - 3, 0.1)
    print(f"fast reader: {total} bytes at {fast:.0f} B/s")
    check(fast >= 4 * FETCH_QUOTA, f"the other client was slowed to {fast:.0f} B/s")


@timeout(120)
def test_controller_mutation_rate_slows_topic_creation(ctx):
    """controller_mutation_rate (KIP-599) for one client id: the partitions its CreateTopics requests create beyond
    the burst are paid for with throttle time, during which the broker reads nothing more from the connection
    (kafka-python sends CreateTopics v3, where Kafka's quota is permissive: the topics are created). Another client
    id creates as many topics at once."""
    b = ctx.start_broker(0, extra={"controller.quota.window.num": 2, "controller.quota.window.size.seconds": 1})
    set_quota_in_zk(ctx, "clients/mutator", {"controller_mutation_rate": "2.0"})  # burst: 2 x 2 x 1 s = 4
    with kproto.connect(b.bootstrap) as c:
        wait_until(lambda: kproto.describe_client_quotas_v0(c, [("client-id", 0, "mutator")])[3] ==
                   [({"client-id": "mutator"}, {"controller_mutation_rate": 2.0})], 10, "the quota applied")
    from kafka.admin import KafkaAdminClient, NewTopic

    def create_five(client_id):
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, client_id=client_id, request_timeout_ms=30000)
        start = time.time()
        for i in range(5):
            admin.create_topics([NewTopic(unique_topic(client_id), 3, 1)])
        took = time.time() - start
        admin.close()
        return took

    free = create_five("free")
    held = create_five("mutator")
    print(f"5 topics x 3 partitions: {free:.2f} s without a quota, {held:.2f} s at 2 partitions/s (burst 4)")
    # 15 partitions against a burst of 4 refilled at 2/s: the second, third and fourth responses owe 1, 1.5 and
    # 1.5 s, and the connection is muted that long before the next request is read (the fifth's wait ends no
    # request).
    check(held >= 3.5, f"creation at controller_mutation_rate=2 took only {held:.2f} s")
    check(free < held, "the client without a quota was slowed too")


@timeout(60)
def test_request_percentage_mutes_the_connection(ctx):
    """request_percentage (KIP-124): a client id allowed 1% of a thread that keeps the broker busy gets
    throttle_time_ms in its responses, and the broker does not read its next request until that time has passed
    (KIP-219); another client id on another connection is answered at once meanwhile."""
    b = ctx.start_broker(0, extra=QUOTA_WINDOWS)
    set_quota_in_zk(ctx, "clients/chatty", {"request_percentage": "1.0"})
    with kproto.connect(b.bootstrap) as other:
        wait_until(lambda: kproto.describe_client_quotas_v0(other, [("client-id", 0, "chatty")])[3] ==
                   [({"client-id": "chatty"}, {"request_percentage": 1.0})], 10, "the quota applied")
        with kproto.connect(b.bootstrap) as c:
            c.client_id = "chatty"
            throttle = 0
            for _ in range(5000):
                throttle = kproto.describe_client_quotas_v0(c, [])[0]
                if throttle > 0:
                    break
            check(throttle > 0, "1% of a thread never throttled a client sending requests back to back")
            check(throttle <= 1000, f"request throttle {throttle} ms beyond one window (Kafka's cap)")
            # The next request is read only after the throttle time; another connection is served meanwhile.
            start = time.time()
            c.send_raw(kproto.frame(kproto.request_header(kproto.API_DESCRIBE_CLIENT_QUOTAS, 0, 9999,
                                                          client_id="chatty") + kproto.i32(0) + kproto.i8(0)))
            t_other = time.time()
            kproto.describe_client_quotas_v0(other, [])
            other_took = time.time() - t_other
            check(c.recv_frame() is not None, "no answer after the throttle")
            waited = time.time() - start
            print(f"request quota 1%: throttle {throttle} ms, next response after {waited * 1000:.0f} ms, "
                  f"another client answered in {other_took * 1000:.1f} ms")
            check(waited * 1000 >= 0.8 * throttle, f"answered after {waited * 1000:.0f} ms, throttle {throttle} ms")
            check(other_took < 0.5, f"the other client waited {other_took:.2f} s")


def connection_burst(bootstrap, n, source=None, wait=3.0):
    """Opens n connections at once (from `source`, an address of this host, if given), then sends ApiVersions v0
    on each. Returns (served, closed, seconds until the last close): a connection is served when it is answered,
    closed when the broker closes it unanswered."""
    host, port = bootstrap.rsplit(":", 1)
    socks = [socket.create_connection((host, int(port)), timeout=5,
                                      source_address=(source, 0) if source else None) for _ in range(n)]
    start = time.time()
    served = closed = 0
    last_close = 0.0
    try:
        for i, s in enumerate(socks):
            try:
                s.sendall(kproto.frame(kproto.request_header(kproto.API_API_VERSIONS, 0, i)))
                s.settimeout(wait)
                data = s.recv(4)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            except socket.timeout:
                raise Failure(f"connection {i} of the burst neither answered nor closed within {wait} s")
            if data:
                served += 1
            else:
                closed += 1
                last_close = time.time() - start
    finally:
        for s in socks:
            s.close()
    return served, closed, last_close


def wait_log(b, text, t=10):
    wait_until(lambda: text in b.log_path.read_text(errors="replace"), t, f"{text!r} in the broker's log")


@timeout(90)
def test_ip_connection_creation_rate(ctx):
    """KIP-612 IP quotas (`kafka-configs.sh --entity-type ips`): connection_creation_rate set through
    AlterClientQuotas lands in /config/ips/<ip> with a change notification, DescribeClientQuotas shows it, and the
    broker applies it at once: of a burst of connections from 127.0.0.1 those over the rate are closed unanswered
    (after the throttle time, at most one window), while 127.0.0.2 is not limited; once the window has passed a
    new burst is admitted. The <default> entity through `gregorctl quota --ip-default` limits every address without
    its own quota. "ip" with a user or client id, bad addresses, other keys and fractions are INVALID_REQUEST."""
    b = ctx.start_broker(0, extra=QUOTA_WINDOWS)  # 3 samples of 1 s: a rate divides by at least 2 s
    with kproto.connect(b.bootstrap) as c:
        for entity, ops in (({"ip": "127.0.0.1", "user": "u"}, {"connection_creation_rate": 5.0}),
                            ({"ip": "not-an-address"}, {"connection_creation_rate": 5.0}),
                            ({"ip": "127.0.0.1"}, {"producer_byte_rate": 1024.0}),
                            ({"ip": "127.0.0.1"}, {"connection_creation_rate": 2.5}),
                            ({"user": "u"}, {"connection_creation_rate": 5.0})):
            (code, msg, _), = kproto.alter_client_quotas_v0(c, [(entity, ops)])[1]
            check(code == 42 and msg, f"AlterClientQuotas {entity} {ops}: {code} {msg!r}")
        eq(ctx.zk().exists("/config/ips/127.0.0.1"), None, "a refused entry wrote /config/ips/127.0.0.1")
        (code, msg, _), = kproto.alter_client_quotas_v0(c, [({"ip": "127.0.0.1"},
                                                             {"connection_creation_rate": 4.0})])[1]
        eq((code, msg), (0, None), "AlterClientQuotas ip=127.0.0.1 connection_creation_rate=4")
        eq(ctx.zk_json("/config/ips/127.0.0.1")[0], {"version": 1, "config": {"connection_creation_rate": "4"}},
           "/config/ips/127.0.0.1")
        _, code, _, entries = kproto.describe_client_quotas_v0(c, [("ip", 0, "127.0.0.1")])
        eq((code, entries), (0, [({"ip": "127.0.0.1"}, {"connection_creation_rate": 4.0})]), "DescribeClientQuotas ip")
        _, code, msg, _ = kproto.describe_client_quotas_v0(c, [("ip", 2, None), ("user", 1, None)])
        check(code == 42 and msg, f"DescribeClientQuotas ip with user: {code} {msg!r}")
        wait_log(b, "connection_creation_rate of 127.0.0.1 is now 4")

        # 4/s over at least 2 s: 8 of a fresh burst fit, the others are throttled and closed within one window.
        served, closed, last_close = connection_burst(b.bootstrap, 12)
        print(f"burst of 12 at connection_creation_rate=4: {served} served, {closed} closed "
              f"(last after {last_close:.2f} s)")
        check(6 <= served <= 8 and served + closed == 12, f"{served} served, {closed} closed")
        check(last_close < 2.5, f"a throttled connection stayed open {last_close:.2f} s")
        eq(connection_burst(b.bootstrap, 3, source="127.0.0.2")[:2], (3, 0), "connections from 127.0.0.2")
        # The window span (3 x 1 s) passes: the rate of 127.0.0.1 is back to zero.
        time.sleep(3.5)
        eq(connection_burst(b.bootstrap, 4)[:2], (4, 0), "a burst of 4 once the window has passed")

    # The default, through gregorctl; 127.0.0.1's own quota removed so that the default applies to it.
    time.sleep(3.5)  # the burst above is out of the window: gregorctl's connections are admitted
    ctx.run([GREGORCTL, "-b", b.bootstrap, "quota", "set", "--ip-default", "--add", "connection_creation_rate=2"],
            check_rc=0)
    ctx.run([GREGORCTL, "-b", b.bootstrap, "quota", "set", "--ip", "127.0.0.1", "--delete",
             "connection_creation_rate"], check_rc=0)
    _, out, _ = ctx.run([GREGORCTL, "-b", b.bootstrap, "quota", "describe", "--ip-default"], check_rc=0)
    eq(out.strip(), "ip=<default>: connection_creation_rate=2", "gregorctl quota describe --ip-default")
    eq(ctx.zk_json("/config/ips/<default>")[0], {"version": 1, "config": {"connection_creation_rate": "2"}},
       "/config/ips/<default>")
    wait_log(b, "connection_creation_rate of <default> is now 2")
    wait_log(b, "connection_creation_rate of 127.0.0.1 is now unlimited")
    time.sleep(3.5)
    served, closed, _ = connection_burst(b.bootstrap, 8)
    check(served <= 4 and closed >= 4, f"at the default of 2/s: {served} served, {closed} closed")
    eq(connection_burst(b.bootstrap, 2, source="127.0.0.2")[:2], (2, 0), "127.0.0.2 at the default, 2 at once")
