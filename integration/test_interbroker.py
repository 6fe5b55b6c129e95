"""Inter-broker traffic through network::BrokerClient: replication and the controller's requests over an SSL
inter-broker listener (checked on the sockets the brokers actually hold), and a SIGSTOPped broker that must not
delay the controller's decisions about other brokers by more than a request timeout."""

import os
import time

import kproto
from harness import check, eq, timeout, unique_topic, wait_cluster_formed, wait_until
from test_cluster import (CLUSTER_EXTRA, SeqProducer, by_id, check_no_acked_loss, consume_all_kafka_python,
                          create_topic_rf, produce_direct, wait_isr_full, wait_new_leader, wait_replicas_identical,
                          wait_unregistered, zk_controller, zk_state)
from test_lifecycle import _expect_startup_error
from test_tls import make_certs, ssl_flags


def tcp_remote_ports(pid):
    """Remote ports of the established TCP connections process `pid` holds (from /proc; IPv4 and IPv6)."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(f"{fd_dir}/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "01" and f[9] in inodes:  # 01 = ESTABLISHED
                ports.add(int(f[2].rsplit(":", 1)[1], 16))
    return ports


# ---------------------------------------------------------------- replication over TLS
@timeout(180)
def test_interbroker_tls_replication(ctx):
    """Three brokers with PLAINTEXT (clients) and SSL listeners and security.inter.broker.protocol=SSL: every
    connection a broker opens to another broker (fetchers, controller channel) goes to an SSL port, none to a
    PLAINTEXT one; an RF-3 topic with min.insync.replicas=2 takes acks=all writes (which needs the followers'
    fetches), keeps its followers in the ISR, survives kill -9 of its leader with no acknowledged record lost, and
    the restarted broker catches up over TLS to byte-identical replicas."""
    d = make_certs(ctx)
    extra = dict(CLUSTER_EXTRA)
    extra["security.inter.broker.protocol"] = "SSL"
    brokers = ctx.start_cluster(3, extra=extra, ssl=ssl_flags(d))
    ids = by_id(brokers)
    plain_ports = {b.port for b in brokers}
    ssl_ports = {b.ssl_port for b in brokers}
    info, _ = ctx.zk_json("/brokers/ids/0")
    check(any(e.startswith("SSL://") for e in info["endpoints"]), f"no SSL endpoint registered: {info}")

    topic = unique_topic("tlsrep")
    create_topic_rf(brokers, topic, 1, 3, configs={"min.insync.replicas": "2"})
    wait_isr_full(ctx, brokers, topic, [0])
    leader = zk_state(ctx, topic, 0)["leader"]

    def over_tls_only():
        for b in brokers:
            remotes = tcp_remote_ports(b.proc.pid)
            plain = remotes & plain_ports
            check(not plain, f"broker {b.broker_id} holds connections to PLAINTEXT listener ports {sorted(plain)}")
            if b.broker_id != leader and ids[leader].ssl_port not in remotes:
                return False  # its fetcher has not connected yet
        return True
    wait_until(over_tls_only, 20, f"the followers to fetch from broker {leader}'s SSL port", interval=0.2)
    ctrl = zk_controller(ctx)
    others_ssl = {b.ssl_port for b in brokers if b.broker_id != ctrl}
    ctrl_remotes = tcp_remote_ports(ids[ctrl].proc.pid)
    check(others_ssl <= ctrl_remotes, f"the controller (broker {ctrl}) has no connection to every other broker's "
                                      f"SSL port: {sorted(ctrl_remotes & ssl_ports)} of {sorted(others_ssl)}")

    prod = SeqProducer(brokers, topic, rate=500)
    with prod:
        prod.wait_acked(1500, 40, "acks=all with the followers fetching over TLS")
        wait_isr_full(ctx, brokers, topic, [0])
        print(f"kill -9 the leader, broker {leader}, at {prod.n_acked()} acks")
        ids[leader].kill9()
        new_leader = wait_new_leader(ctx, topic, 0, leader)
        prod.wait_more(500, 40, f"with broker {new_leader} leading after the kill")
        survivors = [b for b in brokers if b.broker_id != leader]
        st = zk_state(ctx, topic, 0)
        check(len(st["isr"]) >= 2, f"ISR {st['isr']} after the kill: the remaining follower left it")
    left = prod.stop()
    eq(left, 0, "records without a delivery report after flush")
    got = consume_all_kafka_python(survivors, topic, [0])
    check_no_acked_loss(prod, got, "TLS replication, leader killed")

    wait_unregistered(ctx, leader)
    ids[leader].start()
    wait_cluster_formed(brokers)
    wait_isr_full(ctx, brokers, topic, [0])
    wait_replicas_identical(ctx, brokers, topic, 0)
    plain = tcp_remote_ports(ids[leader].proc.pid) & plain_ports
    check(not plain, f"the restarted broker holds connections to PLAINTEXT ports {sorted(plain)}")


# ---------------------------------------------------------------- a stopped broker and the controller
@timeout(150)
def test_interbroker_sigstopped_broker_does_not_delay_the_controller(ctx):
    """Broker 0 is the controller. Broker 2 is SIGSTOPped with a long ZooKeeper session (40 s), so it stays
    registered and the controller keeps sending to it: its requests time out (controller.socket.timeout.ms=5000)
    and are retried on new connections. Broker 1 is killed -9: once its 6 s session expires the controller must
    elect broker 0 for broker 1's partition and tell broker 0 so, within about a session timeout plus a request
    timeout, whatever is stuck in broker 2's queue. After SIGCONT broker 2 catches up on what it missed."""
    session_ms, request_ms = 6000, 5000
    base = dict(CLUSTER_EXTRA)
    base["controller.socket.timeout.ms"] = str(request_ms)
    long_session = dict(base)
    long_session["zookeeper.session.timeout.ms"] = "40000"
    b0 = ctx.broker(0, extra=base)
    b0.start()  # alone, so it wins the election
    b1 = ctx.broker(1, extra=base)
    b2 = ctx.broker(2, extra=long_session)
    for b in (b1, b2):
        b.start(wait=False)
    for b in (b1, b2):
        b.wait_ready(60)
    brokers = [b0, b1, b2]
    wait_cluster_formed(brokers)
    eq(zk_controller(ctx), 0, "controller")

    topic = unique_topic("stall")
    # Partition 0 is broker 1's (broker 0 its only other replica), partition 1 broker 2's.
    create_topic_rf(brokers, topic, 2, 2, assignment=[[1, 0], [2, 0]])
    wait_isr_full(ctx, brokers, topic, [0, 1])

    b2.pause()
    try:
        stopped_at = time.monotonic()
        # Work for the stopped broker: a new topic with a replica on it (LeaderAndIsr and UpdateMetadata
        # queue up behind requests it will never answer).
        pending = unique_topic("pending")
        zk = ctx.zk()
        zk.create(f"/brokers/topics/{pending}",
                  b'{"version":2,"partitions":{"0":[2,0]},"adding_replicas":{},"removing_replicas":{}}',
                  makepath=True)
        time.sleep(0.5)  # let the controller queue the new topic's requests (not a state wait)
        killed_at = time.monotonic()
        b1.kill9()

        def elected():
            st = zk_state(ctx, topic, 0)
            if st["leader"] != 0:
                return False
            with kproto.connect(b0.bootstrap, timeout=3) as c:
                md = kproto.metadata_v1(c, [topic])
            parts = {x["partition"]: x for x in md["topics"][topic]["partitions"]}
            return parts[0]["leader"] == 0
        bound = (session_ms + request_ms) / 1000 + 4
        wait_until(elected, bound + 10, "broker 0 to lead partition 0 (ZooKeeper and its own Metadata)",
                   interval=0.1)
        took = time.monotonic() - killed_at
        print(f"leader elected and propagated {took:.1f}s after kill -9 of broker 1 "
              f"(session {session_ms / 1000:.0f}s, request timeout {request_ms / 1000:.0f}s), "
              f"broker 2 stopped for {time.monotonic() - stopped_at:.1f}s")
        check(took <= bound, f"the election took {took:.1f}s, more than a session plus a request timeout "
                             f"(+4s): {bound:.0f}s")
        eq(produce_direct(b0, topic, b"after-election"), (0,), "acks=all produce to broker 0 as the new leader")
        check(ctx.zk().exists("/brokers/ids/2") is not None, "broker 2's registration expired while stopped; "
                                                              "the test needs it registered")
    finally:
        b2.resume()

    # Broker 2 is still registered: its queued (and timed-out, retried) requests reach it now.
    def caught_up():
        with kproto.connect(b2.bootstrap, timeout=3) as c:
            md = kproto.metadata_v1(c, None)  # every topic (naming one would auto-create it)
        t = md["topics"].get(topic)
        p = md["topics"].get(pending)
        if t is None or p is None:
            return False
        leaders = {x["partition"]: x["leader"] for x in t["partitions"]}
        return leaders.get(0) == 0 and 1 not in [x["node_id"] for x in md["brokers"]]
    wait_until(caught_up, request_ms / 1000 + 15, "broker 2's Metadata to show broker 0 leading partition 0, "
                                                 "broker 1 gone and the topic created while it was stopped",
               interval=0.2)
    b2.check_alive("after SIGCONT")
    b0.check_alive("at the end")


# ---------------------------------------------------------------- configuration
def test_interbroker_protocol_and_listener_name_are_exclusive(ctx):
    _expect_startup_error(ctx, ["--security.inter.broker.protocol=PLAINTEXT",
                                "--inter.broker.listener.name=PLAINTEXT"],
                          ["security.inter.broker.protocol", "inter.broker.listener.name"])


def test_interbroker_protocol_needs_a_listener_of_that_name(ctx):
    _expect_startup_error(ctx, ["--security.inter.broker.protocol=SSL"], ["security.inter.broker.protocol", "SSL"])
