"""Hot reload of the TLS key and trust stores: an SSL listener whose PEM files are replaced (atomically, as
certificate tooling does) takes the new certificate for new connections within ssl.reload.check.interval.ms, while
a connection opened before keeps working; a file that cannot be loaded is logged and the previous certificate
kept. confluent-kafka and kafka-python connect with the new CA afterwards."""

import os
import shutil
import socket
import ssl as pyssl
import time

import kproto
from harness import GREGORCTL, check, create_topic, eq, timeout, unique_topic, wait_until
from test_confluent import ck
from test_tls import make_certs


def handshake(port, cafile):
    """A TLS connection verified against `cafile` that answers ApiVersions, or the SSL error."""
    pctx = pyssl.create_default_context(cafile=cafile)
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s = pctx.wrap_socket(raw, server_hostname="127.0.0.1")
    except (pyssl.SSLError, OSError) as e:
        raw.close()
        return None, e
    return s, None


def api_versions_ok(s, corr):
    s.sendall(kproto.frame(kproto.request_header(kproto.API_API_VERSIONS, 0, corr)))
    s.settimeout(5)

    def read(n):
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data
    head = read(4)
    body = head and read(int.from_bytes(head, "big"))
    return body is not None and int.from_bytes(body[:4], "big") == corr


def replace_atomically(src, dst):
    tmp = dst.with_suffix(".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


@timeout(120)
def test_key_store_reloaded_without_dropping_connections(ctx):
    old = make_certs(ctx, "tls-old")
    new = make_certs(ctx, "tls-new")
    live = ctx.mkdir("tls-live")
    shutil.copyfile(old / "server.pem", live / "server.pem")
    shutil.copyfile(old / "ca.pem", live / "ca.pem")
    b = ctx.start_broker(0, ssl={"ssl.keystore.type": "PEM", "ssl.keystore.location": str(live / "server.pem"),
                                 "ssl.truststore.type": "PEM", "ssl.truststore.location": str(live / "ca.pem")},
                         extra={"ssl.reload.check.interval.ms": 300})
    topic = unique_topic("tlsreload")
    create_topic(b.bootstrap, topic, partitions=1)

    kept, err = handshake(b.ssl_port, str(old / "ca.pem"))
    check(kept is not None, f"no TLS with the first certificate: {err}")
    check(api_versions_ok(kept, 1), "no ApiVersions answer before the reload")
    _, err = handshake(b.ssl_port, str(new / "ca.pem"))
    check(err is not None, "the new CA verified the old certificate")

    replace_atomically(new / "server.pem", live / "server.pem")
    replace_atomically(new / "ca.pem", live / "ca.pem")
    start = time.time()

    def new_cert_served():
        s, _ = handshake(b.ssl_port, str(new / "ca.pem"))
        if s is None:
            return False
        s.close()
        return True
    wait_until(new_cert_served, 10, "the new certificate on new connections")
    print(f"new certificate served {time.time() - start:.2f} s after the files changed "
          "(ssl.reload.check.interval.ms=300)")
    _, err = handshake(b.ssl_port, str(old / "ca.pem"))
    check(isinstance(err, pyssl.SSLError), f"the old CA still verifies new connections: {err}")
    check(api_versions_ok(kept, 2), "the connection opened before the reload was dropped")

    # Two real clients through the reloaded listener.
    k = ck()
    conf = {"bootstrap.servers": b.ssl_bootstrap, "security.protocol": "ssl", "ssl.ca.location": str(new / "ca.pem")}
    p = k.Producer({**conf, "message.timeout.ms": 15000})
    errors = []
    for i in range(5):
        p.produce(topic, value=b"r%d" % i, on_delivery=lambda e, m: errors.append(e) if e else None)
    eq(p.flush(20), 0, "messages left")
    eq(errors, [], "delivery errors after the reload")
    from kafka import KafkaConsumer, TopicPartition
    kc = KafkaConsumer(bootstrap_servers=b.ssl_bootstrap, security_protocol="SSL", ssl_cafile=str(new / "ca.pem"),
                       ssl_check_hostname=False, auto_offset_reset="earliest", consumer_timeout_ms=5000)
    kc.assign([TopicPartition(topic, 0)])
    eq([m.value for m in kc], [b"r%d" % i for i in range(5)], "kafka-python read after the reload")
    kc.close()

    # A broken file: logged, the certificate in use is kept.
    (live / "server.pem").write_text("not a PEM file\n")
    wait_until(lambda: "cannot be loaded" in b.log_path.read_text(errors="replace"), 10, "the reload failure in the broker log")
    s, err = handshake(b.ssl_port, str(new / "ca.pem"))
    check(s is not None, f"a broken key store replaced the working certificate: {err}")
    s.close()
    kept.close()


@timeout(180)
def test_inter_broker_clients_take_reloaded_stores(ctx):
    """Two brokers replicating over an SSL inter-broker listener rotate to a new CA (every broker's key and trust
    store files replaced): once the files changed, broker 0's inter-broker clients (fetchers, controller channel)
    use the new stores for their next connection. Broker 1 restarts with the new files only; broker 0, still
    running, must then fetch from it and send it the controller's requests with the new CA, or broker 0 would drop
    out of the ISR of the partition broker 1 leads."""
    from test_cluster import create_topic_rf, wait_isr_full, zk_state
    from test_confluent import produce_all
    from test_tls import ssl_flags
    old = make_certs(ctx, "ib-old")
    new = make_certs(ctx, "ib-new")
    live = {}
    for i in (0, 1):
        live[i] = ctx.mkdir(f"ib-live-{i}")
        shutil.copyfile(old / "server.pem", live[i] / "server.pem")
        shutil.copyfile(old / "ca.pem", live[i] / "ca.pem")
    extra = {"security.inter.broker.protocol": "SSL", "ssl.reload.check.interval.ms": 300,
             "replica.lag.time.max.ms": 5000}
    brokers = [ctx.broker(i, extra=extra, ssl=ssl_flags(live[i])) for i in (0, 1)]
    for b in brokers:
        b.start(wait=False)
    for b in brokers:
        b.wait_ready(30)
    topic = unique_topic("ibreload")
    create_topic_rf(brokers, topic, 2, 2)
    wait_isr_full(ctx, brokers, topic, [0, 1])
    led_by_1 = [p for p in (0, 1) if zk_state(ctx, topic, p)["leader"] == 1]
    check(led_by_1, "broker 1 leads no partition")

    for i in (0, 1):
        replace_atomically(new / "server.pem", live[i] / "server.pem")
        replace_atomically(new / "ca.pem", live[i] / "ca.pem")
    wait_until(lambda: "and the inter-broker clients" in brokers[0].log_path.read_text(errors="replace"), 15,
               "broker 0 to reload its stores for its inter-broker clients")
    brokers[1].stop()
    brokers[1].start()
    wait_isr_full(ctx, brokers, topic, [0, 1])
    # Broker 1 leads its preferred partitions again, so broker 0 must fetch from it over a new connection.
    bootstrap = ",".join(b.bootstrap for b in brokers)
    ctx.run([GREGORCTL, "-b", bootstrap, "partition", "elect-leaders", "--all-topic-partitions"], timeout=30,
            check_rc=0)
    wait_until(lambda: all(zk_state(ctx, topic, p)["leader"] == 1 for p in led_by_1), 20,
               f"broker 1 leading {led_by_1} again")
    produce_all(bootstrap, topic, [(p, None, b"after-rotation-%d-%d" % (p, i)) for p in (0, 1) for i in range(20)])
    wait_isr_full(ctx, brokers, topic, [0, 1])
    text = brokers[0].log_path.read_text(errors="replace")
    check("certificate verify failed" not in text.split("and the inter-broker clients")[-1],
          "broker 0 failed a TLS handshake with the new CA after the reload")
