"""SASL/OAUTHBEARER with signed JWTs checked against a JWKS file (KIP-768 keys): confluent-kafka (an oauth_cb handing
out the token) and kafka-python (a token provider) authenticate with an RS256 token of the right issuer and audience
and produce and consume as User:<sub>, which is what the ACL authorizer sees; an expired token, a token signed by
another key and a token for another audience are refused. Keys and tokens are made here with Python's
cryptography module."""

import base64
import json
import time

from harness import check, create_topic, eq, require_module, timeout, unique_topic, wait_until
from test_confluent import ck
from test_sasl import sasl_flags


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    def __init__(self, kid):
        from cryptography.hazmat.primitives.asymmetric import rsa
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self):
        n = self.key.public_key().public_numbers()
        return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
                "n": b64url(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
                "e": b64url(n.e.to_bytes((n.e.bit_length() + 7) // 8, "big"))}

    def token(self, sub, aud="kafka", iss="https://idp.example", lifetime=300):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        now = int(time.time())
        head = b64url(json.dumps({"alg": "RS256", "kid": self.kid, "typ": "JWT"}).encode())
        body = b64url(json.dumps({"sub": sub, "aud": aud, "iss": iss, "iat": now, "exp": now + lifetime,
                                  "scope": "kafka"}).encode())
        sig = self.key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{b64url(sig)}", now + lifetime


def ck_conf(b, token_and_expiry):
    return {"bootstrap.servers": b.sasl_bootstrap, "security.protocol": "sasl_plaintext",
            "sasl.mechanisms": "OAUTHBEARER", "oauth_cb": lambda _config: token_and_expiry}


class Provider:
    def __init__(self, token):
        self._token = token

    def token(self):
        return self._token


@timeout(120)
def test_oauthbearer_signed_jwts(ctx):
    require_module("cryptography", "python3-cryptography")
    idp, stranger = Issuer("idp-1"), Issuer("idp-1")
    jwks = ctx.dir / "jwks.json"
    jwks.write_text(json.dumps({"keys": [idp.jwk()]}))
    flags = sasl_flags({"sasl.enabled.mechanisms": "PLAIN,OAUTHBEARER",
                        "sasl.oauthbearer.jwks.endpoint.url": f"file://{jwks}",
                        "sasl.oauthbearer.expected.audience": "kafka",
                        "sasl.oauthbearer.expected.issuer": "https://idp.example",
                        "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class":
                            "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"})
    b = ctx.start_broker(0, sasl=flags, extra={"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
                                               "super.users": "User:ANONYMOUS;User:admin"})
    topic = unique_topic("oauth")
    create_topic(b.bootstrap, topic, partitions=1)
    k = ck()

    def produce(tok, n=3):
        p = k.Producer({**ck_conf(b, tok), "message.timeout.ms": 8000})
        codes = []
        for i in range(n):
            p.produce(topic, value=b"o%d" % i, on_delivery=lambda e, m: codes.append(e.code()) if e else None)
        p.flush(20)
        return codes

    # A valid token authenticates User:svc-orders, whom the authorizer refuses until an ACL names it.
    codes = produce(idp.token("svc-orders"))
    check(codes and set(codes) == {k.KafkaError.TOPIC_AUTHORIZATION_FAILED},
          f"without an ACL the token's principal must be refused the topic: {codes}")
    from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient,
                             ResourcePattern, ResourceType)
    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=15000)
    for op in (ACLOperation.WRITE, ACLOperation.READ):
        res = admin.create_acls([ACL("User:svc-orders", "*", op, ACLPermissionType.ALLOW,
                                     ResourcePattern(ResourceType.TOPIC, topic, ACLResourcePatternType.LITERAL))])
        eq(res["failed"], [], "create ACL")
    admin.close()
    eq(produce(idp.token("svc-orders")), [], "confluent-kafka with a valid token and an ACL")

    # kafka-python with a token provider reads what was written.
    from kafka import KafkaConsumer, TopicPartition
    kc = KafkaConsumer(bootstrap_servers=b.sasl_bootstrap, security_protocol="SASL_PLAINTEXT",
                       sasl_mechanism="OAUTHBEARER", sasl_oauth_token_provider=Provider(idp.token("svc-orders")[0]),
                       auto_offset_reset="earliest", consumer_timeout_ms=5000)
    kc.assign([TopicPartition(topic, 0)])
    eq([m.value for m in kc], [b"o0", b"o1", b"o2"], "kafka-python read with an OAUTHBEARER token")
    kc.close()

    # Refused tokens: the client sees an authentication failure.
    # kafka-python sends an expired token as it is (librdkafka refuses to): the broker refuses it.
    from kafka.errors import KafkaError as KafkaPythonError
    try:
        KafkaConsumer(bootstrap_servers=b.sasl_bootstrap, security_protocol="SASL_PLAINTEXT",
                      sasl_mechanism="OAUTHBEARER", request_timeout_ms=5000,
                      sasl_oauth_token_provider=Provider(idp.token("svc-orders", lifetime=-120)[0]))
        check(False, "an expired token was accepted")
    except KafkaPythonError as e:
        print(f"token expired (kafka-python): {e!r}", flush=True)
    time.sleep(1.1)  # the broker logs refusals at most once a second
    for what, tok in [("signed by another key", stranger.token("svc-orders")),
                      ("for another audience", idp.token("svc-orders", aud="billing"))]:
        p = k.Producer({**ck_conf(b, tok), "socket.timeout.ms": 5000})
        p.poll(0.5)  # serves oauth_cb: librdkafka asks for its token from poll()
        try:
            p.list_topics(timeout=5)
            check(False, f"a token {what} was accepted")
        except k.KafkaException as e:
            check("auth" in str(e).lower() or e.args[0].code() in (k.KafkaError._AUTHENTICATION,
                                                                    k.KafkaError._TRANSPORT),
                  f"token {what}: unexpected error {e}")
            print(f"token {what}: {e}", flush=True)
        time.sleep(1.1)  # the broker logs refusals at most once a second
    log = b.log_path.read_text(errors="replace")
    for reason in ("token expired", "signature does not verify", "audience"):
        check(reason in log, f"no '{reason}' in the broker log")


class JwksEndpoint:
    """An HTTPS JWKS endpoint (Python's http.server with TLS, certificate from make_certs): serves the current
    key set at /certs and counts the fetches."""

    def __init__(self, certs):
        import http.server
        import ssl
        import threading
        endpoint = self
        self.document, self.fetches = b"{}", 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                endpoint.fetches += 1
                body = endpoint.document if self.path == "/certs" else b"not here"
                self.send_response(200 if self.path == "/certs" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(str(certs / "server.pem"))
        self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/certs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, *issuers):
        self.document = json.dumps({"keys": [i.jwk() for i in issuers]}).encode()

    def close(self):
        self.server.shutdown()


@timeout(120)
def test_oauthbearer_jwks_from_an_https_endpoint(ctx):
    """sasl.oauthbearer.jwks.endpoint.url=https://...: the broker fetches the key set over TLS (trusting the CA in
    the OAUTHBEARER JAAS string's ssl.truststore.location, as Kafka's JaasOptionsUtils reads it), confluent-kafka and
    kafka-python authenticate with tokens it signs; when the issuer rotates to a new key, the first token naming it
    makes the broker fetch again and the client's next attempt gets in; a token from an unknown key fetches at most
    once a second."""
    require_module("cryptography", "python3-cryptography")
    from test_tls import make_certs
    certs = make_certs(ctx)
    old, new = Issuer("2026-a"), Issuer("2026-b")
    endpoint = JwksEndpoint(certs)
    endpoint.publish(old)
    jaas = ('org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required '
            f'ssl.truststore.type="PEM" ssl.truststore.location="{certs / "ca.pem"}";')
    flags = sasl_flags({"sasl.enabled.mechanisms": "PLAIN,OAUTHBEARER",
                        "sasl.oauthbearer.jwks.endpoint.url": endpoint.url,
                        "sasl.oauthbearer.expected.audience": "kafka",
                        "sasl.oauthbearer.expected.issuer": "https://idp.example",
                        "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config": jaas,
                        "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class":
                            "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"})
    try:
        b = ctx.start_broker(0, sasl=flags)
        check(endpoint.fetches >= 1, "the broker fetched the JWKS at startup")
        topic = unique_topic("jwks")
        create_topic(b.bootstrap, topic, partitions=1)
        k = ck()

        def produce(tok):
            p = k.Producer({**ck_conf(b, tok), "message.timeout.ms": 8000})
            codes = []
            p.produce(topic, value=b"x", on_delivery=lambda e, m: codes.append(e.code() if e else None))
            p.flush(15)
            return codes
        eq(produce(old.token("svc")), [None], "confluent-kafka with a token of the published key")

        # Rotation: the endpoint now publishes the new key only.
        endpoint.publish(new)
        before = endpoint.fetches
        from kafka import KafkaProducer

        def kafka_python_send():
            try:
                kp = KafkaProducer(bootstrap_servers=b.sasl_bootstrap, security_protocol="SASL_PLAINTEXT",
                                   sasl_mechanism="OAUTHBEARER", request_timeout_ms=5000,
                                   sasl_oauth_token_provider=Provider(new.token("svc")[0]))
            except Exception as e:  # noqa: BLE001 (the refusal of the first attempt)
                print(f"kafka-python before the refetch: {e!r}", flush=True)
                return False
            kp.send(topic, b"rotated").get(timeout=10)
            kp.close()
            return True
        t0 = time.monotonic()
        wait_until(kafka_python_send, 30, "kafka-python to authenticate with the rotated key")
        print(f"rotation: new key accepted {time.monotonic() - t0:.2f} s after its first token; "
              f"{endpoint.fetches - before} fetch(es)", flush=True)
        check(endpoint.fetches - before >= 1, "the rotation made the broker fetch the JWKS again")
        eq(produce(new.token("svc")), [None], "confluent-kafka with the rotated key")
        # The old key is gone from the set: refused.
        p = k.Producer({**ck_conf(b, old.token("svc")), "socket.timeout.ms": 5000})
        p.poll(0.5)
        try:
            p.list_topics(timeout=5)
            check(False, "a token of the retired key was accepted")
        except k.KafkaException:
            pass
        # Tokens from a key nobody publishes, many at once: at most about one fetch a second.
        stranger = Issuer("nobody")
        before, t0 = endpoint.fetches, time.monotonic()
        from kafka.errors import KafkaError as KafkaPythonError
        for _ in range(6):
            try:
                KafkaProducer(bootstrap_servers=b.sasl_bootstrap, security_protocol="SASL_PLAINTEXT",
                              sasl_mechanism="OAUTHBEARER", request_timeout_ms=3000,
                              sasl_oauth_token_provider=Provider(stranger.token("svc")[0])).close()
                check(False, "a token of an unknown key was accepted")
            except KafkaPythonError:
                pass
        elapsed = time.monotonic() - t0
        check(endpoint.fetches - before <= elapsed + 1, f"{endpoint.fetches - before} fetches in {elapsed:.1f} s")
    finally:
        endpoint.close()
