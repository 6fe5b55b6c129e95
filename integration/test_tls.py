"""TLS listener with PEM keystore/truststore: kcat and confluent-kafka over SSL, plaintext against the SSL
port fails cleanly."""

import json
import socket
import ssl as pyssl

import kproto
from harness import Failure, check, create_topic, eq, timeout, unique_topic
from test_confluent import consume_assigned, produce_all
from test_kcat import kcat


def make_certs(ctx, name="tls"):
    d = ctx.mkdir(name)

    def openssl(*args):
        ctx.run(["openssl", *args], timeout=30, check_rc=0, cwd=d)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=gregor-it-ca")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    (d / "server.pem").write_text((d / "server.crt").read_text() + (d / "server.key").read_text())
    return d


def ssl_flags(d):
    return {"ssl.keystore.type": "PEM", "ssl.keystore.location": str(d / "server.pem"),
            "ssl.truststore.type": "PEM", "ssl.truststore.location": str(d / "ca.pem")}


@timeout(90)
def test_tls_kcat_and_confluent(ctx):
    d = make_certs(ctx)
    b = ctx.start_broker(0, ssl=ssl_flags(d))
    topic = unique_topic("tls")
    create_topic(b.bootstrap, topic, partitions=1)
    ssl_x = ["-X", "security.protocol=ssl", "-X", f"ssl.ca.location={d / 'ca.pem'}"]

    # Python's ssl module first: a clear diagnosis if the handshake itself is broken.
    cafile = str(d / "ca.pem")
    pctx = pyssl.create_default_context(cafile=cafile)
    with socket.create_connection(("127.0.0.1", b.ssl_port), timeout=5) as raw:
        try:
            with pctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(kproto.frame(kproto.request_header(kproto.API_API_VERSIONS, 0, 1)))
                s.settimeout(5)
                head = s.recv(4)
                check(len(head) == 4, "no ApiVersions response over TLS")
        except pyssl.SSLError as e:
            raise Failure(f"TLS handshake with the SSL listener failed: {e}")

    _, out, _ = kcat(ctx, b.ssl_bootstrap, "-L", "-J", *ssl_x)
    md = json.loads(out)
    # Over the SSL listener the broker must advertise its SSL endpoint, not the plaintext one.
    eq([br["name"] for br in md["brokers"]], [b.ssl_bootstrap], "broker address advertised on the SSL listener")

    lines = [f"secret {i}" for i in range(300)]
    kcat(ctx, b.ssl_bootstrap, "-P", "-t", topic, *ssl_x, input="\n".join(lines) + "\n")
    _, out, _ = kcat(ctx, b.ssl_bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", *ssl_x)
    eq(out.splitlines(), lines, "records read back over TLS with kcat")

    conf = {"security.protocol": "ssl", "ssl.ca.location": cafile}
    records = [(0, None, f"ck-tls-{i}".encode()) for i in range(500)]
    acked = produce_all(b.ssl_bootstrap, topic, records, extra=conf)
    got = consume_assigned(b.ssl_bootstrap, topic, [0], 800, extra=conf)
    eq([v for _, _, v in got[0]][300:], [v for _, _, v in records], "records read back over TLS (confluent)")
    eq(sorted(o for _, o in acked.values()), list(range(300, 800)), "offsets of the confluent records")


@timeout(60)
def test_plaintext_client_on_ssl_port_fails_cleanly(ctx):
    d = make_certs(ctx)
    b = ctx.start_broker(0, ssl=ssl_flags(d))
    # A Kafka request in clear text is not a TLS ClientHello: the broker drops the connection.
    with kproto.connect(b.ssl_bootstrap, timeout=5) as c:
        c.send_raw(kproto.frame(kproto.request_header(kproto.API_API_VERSIONS, 0, 1)))
        check(kproto.wait_closed(c, 10), "SSL port kept a plaintext connection open for 10s")
    # kcat in plaintext against the SSL port gives up with an error.
    rc, _, _ = kcat(ctx, b.ssl_bootstrap, "-L", "-m", "3", t=30, check_rc=None)
    check(rc != 0, "kcat -L in plaintext against the SSL port succeeded")
    # A TLS client that does not trust the CA fails the handshake.
    with socket.create_connection(("127.0.0.1", b.ssl_port), timeout=5) as raw:
        try:
            with pyssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1"):
                raise Failure("TLS handshake succeeded without trusting the test CA")
        except pyssl.SSLError:
            pass
    b.check_alive("after plaintext and untrusted clients on the SSL port")
    _, out, _ = kcat(ctx, b.ssl_bootstrap, "-L", "-J", "-X", "security.protocol=ssl",
                      "-X", f"ssl.ca.location={d / 'ca.pem'}")
    check(json.loads(out)["brokers"], "no brokers in kcat -L over TLS after the bad clients")
