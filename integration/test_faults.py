"""Faults: a failing disk (file-size limit -> EFBIG), ZooKeeper session expiry and short outages (through a
TCP proxy the test can cut), SIGTERM under load, and `make run`'s script (zk/run-local.sh) end to end."""

import os
import re
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import kproto
from harness import (GREGORD, ROOT, Broker, Failure, check, create_topic, eq, list_offset, proc_start_time,
                     tail, timeout, unique_topic, wait_topic_ready, wait_until)
from test_confluent import ck, consume_assigned

KAFKA_STORAGE_ERROR = 56


# ---------------------------------------------------------------- helpers
class LimitedBroker(Broker):
    """A broker started under `prlimit --fsize=<bytes>`: any file it writes stops growing at that size (writes
    past it fail with EFBIG; gregord ignores SIGXFSZ). log_dirs: several data dirs (log.dirs=a,b)."""

    def __init__(self, ctx, fsize, log_dirs, **kw):
        super().__init__(ctx, 0, **kw)
        self.fsize = fsize
        self.log_dirs = [Path(d) for d in log_dirs]
        for d in self.log_dirs:
            d.mkdir(parents=True, exist_ok=True)
            if d not in ctx.data_dirs:
                ctx.data_dirs.append(d)

    def args(self):
        a = [x for x in super().args() if not str(x).startswith("--log.dirs=")]
        a.append("--log.dirs=" + ",".join(str(d) for d in self.log_dirs))
        if self.fsize is None:
            return a
        return ["prlimit", f"--fsize={self.fsize}", "--"] + a


class ZkProxy:
    """A TCP proxy between a broker and the run's ZooKeeper, so a test can cut one broker off ZooKeeper without
    touching the server the other tests share. cut(): drops every proxied connection and refuses new ones (each
    accepted socket is closed at once), as a dead ZooKeeper would; heal(): forwards again."""

    def __init__(self, ctx):
        self.target = ("127.0.0.1", ctx.zk_port)
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.mu = threading.Lock()
        self.pairs = []
        self.blocked = False
        self.closed = False
        self.accepted = 0
        self.refused = 0
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def connect_string(self, chroot):
        return f"127.0.0.1:{self.port}{chroot}"

    def _accept_loop(self):
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            with self.mu:
                self.accepted += 1
                blocked = self.blocked
            if blocked:
                with self.mu:
                    self.refused += 1
                c.close()
                continue
            try:
                s = socket.create_connection(self.target, timeout=5)
            except OSError:
                c.close()
                continue
            with self.mu:
                self.pairs.append((c, s))
            threading.Thread(target=self._pump, args=(c, s), daemon=True).start()

    def _pump(self, a, b):
        socks = [a, b]
        try:
            while True:
                r, _, _ = select.select(socks, [], [], 0.5)
                with self.mu:
                    if (a, b) not in self.pairs:
                        return
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            self._drop(a, b)

    def _drop(self, a, b):
        with self.mu:
            if (a, b) in self.pairs:
                self.pairs.remove((a, b))
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self):
        with self.mu:
            self.blocked = True
            pairs = list(self.pairs)
        for a, b in pairs:
            self._drop(a, b)

    def heal(self):
        with self.mu:
            self.blocked = False

    def refused_count(self):
        with self.mu:
            return self.refused

    def live_connections(self):
        with self.mu:
            return len(self.pairs)

    def close(self):
        self.closed = True
        self.cut()
        self.lsock.close()


def raw_produce(bootstrap, topic, partition, values, timeout_s=10):
    """One Produce v3 request with one batch of `values`; returns (error_code, base_offset)."""
    with kproto.connect(bootstrap, timeout=timeout_s) as c:
        return kproto.produce_v3(c, topic, partition, kproto.record_batch([(None, v) for v in values]))


def fetch_all(bootstrap, topic, partition, end, timeout_s=20):
    """Fetches [0, end) with Fetch v4; returns the list of (offset, value). Failure on any error code."""
    out = []
    deadline = time.monotonic() + timeout_s
    with kproto.connect(bootstrap) as c:
        while len(out) < end:
            check(time.monotonic() < deadline, f"fetched only {len(out)} of {end} records of {topic}-{partition}")
            nxt = out[-1][0] + 1 if out else 0
            r = kproto.fetch_v4(c, topic, partition, nxt, max_bytes=1 << 20)
            eq(r["error"], 0, f"fetch error for {topic}-{partition} at {nxt}")
            for b in kproto.decode_batches(r["records"]):
                check(b["crc_ok"], f"bad CRC in batch at {b['base_offset']}")
                out.extend((o, v) for o, _, v in b["records"] if o >= nxt)
    return out[:end]


def partition_dir_of(log_dirs, topic, partition=0):
    found = [d for d in log_dirs if (Path(d) / f"{topic}-{partition}").is_dir()]
    eq(len(found), 1, f"log dirs holding {topic}-{partition}")
    return found[0]


def record_pid(ctx, pid):
    """Adds a process the test did not start itself (e.g. started by a script) to <test dir>/pids, so the runner
    kills it if the test times out."""
    st = proc_start_time(pid)
    if st is not None:
        with open(ctx.dir / "pids", "a") as f:
            f.write(f"{pid} {st}\n")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def find_pids(exe, arg):
    """Pids of running `exe` processes with `arg` on their command line."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if Path(d / "exe").resolve() != Path(exe).resolve():
                continue
            if arg.encode() in (d / "cmdline").read_bytes().split(b"\0"):
                out.append(int(d.name))
        except OSError:
            continue
    return out


def metadata_ok(bootstrap):
    with kproto.connect(bootstrap, timeout=3) as c:
        md = kproto.metadata_v1(c, [])
    return any(b["node_id"] == 0 for b in md["brokers"])


# ---------------------------------------------------------------- a. failing disk
@timeout(90)
def test_disk_full_storage_error(ctx):
    """log.dirs=a,b under a 600 KB file-size limit: the partition in a fills its segment, Produce gets
    KAFKA_STORAGE_ERROR, the broker stays up, the acknowledged records stay readable, the topic in b keeps
    working; after a restart without the limit every acknowledged record is there and the log takes writes."""
    limit = 600 * 1024
    dirs = [ctx.dir / "data-a", ctx.dir / "data-b"]
    # Small preallocated indexes (they are sparse files of segment.index.bytes, also subject to the limit);
    # segment.bytes stays at its default, far above the limit, so the segment never rolls.
    extra = {"log.index.size.max.bytes": "65536", "auto.create.topics.enable": "false"}
    b = LimitedBroker(ctx, limit, dirs, extra=extra)
    ctx.brokers.append(b)
    b.start()
    full, other = unique_topic("full"), unique_topic("other")
    create_topic(b.bootstrap, full, 1)
    create_topic(b.bootstrap, other, 1)
    full_dir = partition_dir_of(dirs, full)
    other_dir = partition_dir_of(dirs, other)
    check(full_dir != other_dir, f"both topics were placed in {full_dir}; expected one per log dir")

    acked = []  # (base_offset, values)
    error = None
    for i in range(200):
        values = [f"{i}:{j}:".encode() + b"x" * 900 for j in range(50)]  # ~47 KB a batch
        try:
            err, base = raw_produce(b.bootstrap, full, 0, values)
        except (kproto.ProtocolError, OSError):
            if b.alive():
                raise
            b.proc.wait()
            raise Failure(f"gregord died (exit {b.proc.returncode}) on a produce past the file-size limit, after "
                          f"{len(acked)} acknowledged batches:\n{tail(b.log_path, 10)}")
        if err != 0:
            error = err
            break
        eq(base, sum(len(v) for _, v in acked), f"base offset of batch {i}")
        acked.append((base, values))
    check(error is not None, f"200 batches (~9 MB) were all accepted under a {limit}-byte file-size limit")
    eq(error, KAFKA_STORAGE_ERROR, f"produce error after {len(acked)} acknowledged batches")
    check(len(acked) >= 5, f"only {len(acked)} batches accepted before the storage error")
    b.check_alive("after the storage error")

    # The failed partition keeps failing writes (its log is offline); the torn write is checked after the restart.
    err, _ = raw_produce(b.bootstrap, full, 0, [b"small"])
    eq(err, KAFKA_STORAGE_ERROR, "produce of a small batch to the failed partition")
    n_acked = sum(len(v) for _, v in acked)
    expected = [v for _, vs in acked for v in vs]

    wait_until(lambda: metadata_ok(b.bootstrap), 10, "Metadata from the broker after the storage error")
    # The topic in the other log dir still takes writes and serves them.
    for i in range(3):
        err, base = raw_produce(b.bootstrap, other, 0, [f"other-{i}".encode()])
        eq((err, base), (0, i), f"produce {i} to {other} (in the healthy log dir)")
    eq([v for _, v in fetch_all(b.bootstrap, other, 0, 3)], [b"other-0", b"other-1", b"other-2"],
       f"records of {other}")

    # Everything acknowledged before the failure is still readable, at the acknowledged offsets.
    got = fetch_all(b.bootstrap, full, 0, n_acked)
    eq([o for o, _ in got], list(range(n_acked)), f"offsets read back from {full}")
    check([v for _, v in got] == expected, f"values read back from {full} differ from the acknowledged ones")
    b.check_alive("after reading the failed partition")

    # Restart without the limit: recovery keeps all acknowledged records and the log takes writes again.
    b.stop(timeout=15)
    b.fsize = None
    b.start(timeout=40)
    wait_topic_ready(b.bootstrap, full, 1)
    eq(list_offset(b.bootstrap, full, 0, -1), n_acked, f"log end offset of {full} after restart")
    got = fetch_all(b.bootstrap, full, 0, n_acked)
    check([v for _, v in got] == expected, f"values of {full} after restart differ from the acknowledged ones")
    err, base = raw_produce(b.bootstrap, full, 0, [b"after-restart"])
    eq((err, base), (0, n_acked), f"produce to {full} after restart without the limit")


@timeout(60)
def test_one_log_dir_unusable_at_startup(ctx):
    """log.dirs=a,b where b is a regular file: the broker starts on a alone and topics work."""
    good = ctx.dir / "data-good"
    bad = ctx.dir / "data-bad"
    bad.write_text("not a directory\n")
    b = LimitedBroker(ctx, None, [good], extra={"auto.create.topics.enable": "false"})
    b.log_dirs.append(bad)
    ctx.brokers.append(b)
    b.start()
    topic = unique_topic("survivor")
    create_topic(b.bootstrap, topic, 2)
    for part in (0, 1):
        check((good / f"{topic}-{part}").is_dir(), f"{topic}-{part} not created in the healthy dir {good}")
        err, base = raw_produce(b.bootstrap, topic, part, [b"a", b"b"])
        eq((err, base), (0, 0), f"produce to {topic}-{part}")
        eq([v for _, v in fetch_all(b.bootstrap, topic, part, 2)], [b"a", b"b"], f"records of {topic}-{part}")
    check(bad.is_file() and bad.read_text() == "not a directory\n", "the broker modified the file posing as a dir")
    log = b.log_path.read_text(errors="replace")
    check(str(bad) in log and "offline" in log.lower(), f"no log line reports {bad} offline:\n{tail(b.log_path)}")


# ---------------------------------------------------------------- b/c. ZooKeeper session expiry and outages
def _produce_consume_check(bootstrap, topic, n, tag):
    k = ck()
    p = k.Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2, "message.timeout.ms": 15000})
    errors = []
    for i in range(n):
        p.produce(topic, value=f"{tag}-{i}".encode(), partition=0,
                  on_delivery=lambda e, m: errors.append(str(e)) if e else None)
    eq(p.flush(20), 0, f"{tag}: messages left in the producer queue")
    check(not errors, f"{tag}: delivery errors: {errors[:3]}")


@timeout(90)
def test_zk_session_expiry_reregisters(ctx):
    """Cut the broker off ZooKeeper for longer than its session timeout: the server expires the session and
    deletes /brokers/ids/0 and /controller. When ZooKeeper is reachable again the broker must open a new session,
    re-register (new czxid), become controller again, and keep serving."""
    proxy = ZkProxy(ctx)
    try:
        session_ms = 4000
        b = ctx.start_broker(0, zk_connect=proxy.connect_string(ctx.chroot),
                             extra={"zookeeper.session.timeout.ms": str(session_ms)})
        topic = unique_topic("expiry")
        create_topic(b.bootstrap, topic, 1)
        _produce_consume_check(b.bootstrap, topic, 100, "before")
        zk = ctx.zk()
        old_reg = zk.exists("/brokers/ids/0")
        old_ctrl = zk.exists("/controller")
        check(old_reg is not None and old_ctrl is not None, "/brokers/ids/0 or /controller missing before the cut")

        proxy.cut()
        # The server expires the session after session_ms without hearing from the client.
        wait_until(lambda: zk.exists("/brokers/ids/0") is None, session_ms / 1000 + 15,
                   "ZooKeeper to expire the cut-off broker's session (/brokers/ids/0 gone)", interval=0.2)
        wait_until(lambda: zk.exists("/controller") is None, 5, "/controller to go with the expired session")
        b.check_alive("while cut off from ZooKeeper")
        proxy.heal()

        new_reg = wait_until(lambda: zk.exists("/brokers/ids/0"), 30,
                             "the broker to re-register /brokers/ids/0 after session expiry", interval=0.2)
        check(new_reg.czxid != old_reg.czxid, "/brokers/ids/0 has the old czxid")
        check(new_reg.ephemeralOwner not in (0, old_reg.ephemeralOwner),
              f"/brokers/ids/0 owner {new_reg.ephemeralOwner:#x} is not a new session")
        info, _ = ctx.zk_json("/brokers/ids/0")
        eq(info.get("endpoints"), [f"PLAINTEXT://127.0.0.1:{b.port}"], "re-registered endpoints")
        wait_until(lambda: zk.exists("/controller"), 30, "/controller to be held again", interval=0.2)
        ctrl, cstat = ctx.zk_json("/controller")
        eq(ctrl.get("brokerid"), 0, "/controller brokerid after re-election")
        check(cstat.ephemeralOwner == new_reg.ephemeralOwner,
              "/controller is not owned by the broker's new session")

        # The broker still serves the old topic, and topic creation (which needs the controller) works.
        wait_topic_ready(b.bootstrap, topic, 1)
        _produce_consume_check(b.bootstrap, topic, 100, "after")
        got = consume_assigned(b.bootstrap, topic, [0], 200, t=30)
        eq([v.decode() for _, _, v in got[0]], [f"before-{i}" for i in range(100)] + [f"after-{i}" for i in range(100)],
           "records of the topic across the session expiry")
        t2 = unique_topic("after-expiry")
        create_topic(b.bootstrap, t2, 2)
        err, base = raw_produce(b.bootstrap, t2, 1, [b"x"])
        eq((err, base), (0, 0), f"produce to {t2} created after the expiry")

        # The config-change watch died with the old session; the broker must have set it again. A topic
        # config written the way Kafka's tools do (/config/topics/<t> + a /config/changes notification)
        # must take effect: max.message.bytes=200 makes a 1 KB batch MESSAGE_TOO_LARGE.
        zk.set(f"/config/topics/{topic}", b'{"version":1,"config":{"max.message.bytes":"200"}}')
        zk.create("/config/changes/config_change_", b'{"version":2,"entity_path":"topics/' + topic.encode() + b'"}',
                  sequence=True)
        wait_until(lambda: raw_produce(b.bootstrap, topic, 0, [b"y" * 1000])[0] == kproto.MESSAGE_TOO_LARGE, 15,
                   "a topic config change made after the session expiry to take effect", interval=0.2)
        b.check_alive()
        eq(b.stop(timeout=10), 0, "exit code after SIGTERM")
    finally:
        proxy.close()


@timeout(60)
def test_zk_short_outage_keeps_serving(ctx):
    """ZooKeeper unreachable for less than the session timeout: produce and fetch keep working throughout, and the
    session survives (same /brokers/ids/0 czxid and owner)."""
    proxy = ZkProxy(ctx)
    try:
        session_ms = 12000
        b = ctx.start_broker(0, zk_connect=proxy.connect_string(ctx.chroot),
                             extra={"zookeeper.session.timeout.ms": str(session_ms)})
        topic = unique_topic("outage")
        create_topic(b.bootstrap, topic, 1)
        zk = ctx.zk()
        before = zk.exists("/brokers/ids/0")
        check(before is not None, "/brokers/ids/0 missing")
        check(proxy.live_connections() >= 1, "the broker's ZooKeeper connection does not go through the proxy")

        proxy.cut()
        t_cut = time.monotonic()
        n = 0
        with kproto.connect(b.bootstrap, timeout=5) as c:
            # ~4 s of produce + fetch round trips while ZooKeeper is unreachable.
            while time.monotonic() - t_cut < 4:
                err, base = kproto.produce_v3(c, topic, 0, kproto.record_batch([(None, f"v{n}".encode())]),
                                              timeout_ms=3000)
                eq((err, base), (0, n), f"produce {n} during the ZooKeeper outage "
                                        f"({time.monotonic() - t_cut:.1f}s in)")
                r = kproto.fetch_v4(c, topic, 0, n)
                eq(r["error"], 0, f"fetch at {n} during the outage")
                recs = [v for b_ in kproto.decode_batches(r["records"]) for _, _, v in b_["records"]]
                eq(recs[:1], [f"v{n}".encode()], f"fetch of offset {n} during the outage")
                n += 1
        elapsed = time.monotonic() - t_cut
        check(elapsed < session_ms / 1000 - 2,
              f"the outage phase took {elapsed:.1f}s, too close to the session timeout")
        check(proxy.refused_count() >= 1, "the broker never tried to reconnect: ZooKeeper was not really cut off")
        check(n >= 20, f"only {n} produce/fetch round trips in {elapsed:.1f}s of outage")
        b.check_alive("during the ZooKeeper outage")
        proxy.heal()

        wait_until(lambda: proxy.live_connections() >= 1, 15, "the broker to reconnect to ZooKeeper", interval=0.1)
        after = zk.exists("/brokers/ids/0")
        check(after is not None, "/brokers/ids/0 vanished after a short outage")
        eq((after.czxid, after.ephemeralOwner), (before.czxid, before.ephemeralOwner),
           "/brokers/ids/0 (czxid, owner) after a short outage (the session should have survived)")
        # Controller work needs ZooKeeper: topic creation works again after the outage.
        t2 = unique_topic("post-outage")
        create_topic(b.bootstrap, t2, 1)
        eq(list_offset(b.bootstrap, topic, 0, -1), n, f"log end offset of {topic}")
        eq(b.stop(timeout=10), 0, "exit code after SIGTERM")
    finally:
        proxy.close()


# ---------------------------------------------------------------- d. SIGTERM under load
@timeout(90)
def test_sigterm_while_producing(ctx):
    k = ck()
    b = ctx.start_broker(0)
    topic = unique_topic("sigterm")
    create_topic(b.bootstrap, topic, partitions=2)
    p = k.Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 2, "retries": 0,
                    "message.timeout.ms": 5000, "reconnect.backoff.max.ms": 500})
    acked = set()
    failed = []

    def cb(err, msg):
        if err is None:
            acked.add(int(msg.value()))
        else:
            failed.append(int(msg.value()))

    i = 0
    stopped_at = None
    rc = None
    took = None
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        try:
            p.produce(topic, value=str(i).encode(), partition=i % 2, on_delivery=cb)
            i += 1
        except BufferError:
            pass
        p.poll(0.001 if i % 50 == 0 else 0)
        if stopped_at is None and len(acked) >= 2000:
            # SIGTERM with records in flight; keep producing while the broker shuts down.
            b.proc.send_signal(signal.SIGTERM)
            t0 = time.monotonic()
            stopped_at = i
        if stopped_at is not None:
            if not b.alive():
                took = time.monotonic() - t0
                rc = b.proc.returncode
                break
            if time.monotonic() - t0 > 10:
                break
    check(stopped_at is not None, f"only {len(acked)} records acknowledged in 40s")
    check(took is not None, "gregord did not exit within 10 s of SIGTERM while a producer was sending")
    eq(rc, 0, f"exit code after SIGTERM under load (exited after {took:.1f}s)")
    p.flush(10)
    check((b.log_dir / ".kafka_cleanshutdown").exists(), f".kafka_cleanshutdown missing in {b.log_dir}")
    n_acked = len(acked)

    b.start(timeout=40)
    check("clean shutdown" in b.log_path.read_text(errors="replace").split("===== start 2")[-1],
          "the restarted broker did not report a clean shutdown of its log dir")
    wait_topic_ready(b.bootstrap, topic, 2)
    ends = [list_offset(b.bootstrap, topic, part, -1) for part in (0, 1)]
    check(sum(ends) >= n_acked, f"log end offsets {ends} hold fewer records than the {n_acked} acknowledged")
    got = consume_assigned(b.bootstrap, topic, [0, 1], sum(ends), t=60)
    seen = set()
    for part in (0, 1):
        offs = [o for o, _, _ in got[part]]
        eq(offs, list(range(len(offs))), f"offsets of partition {part} after restart")
        seen.update(int(v) for _, _, v in got[part])
    missing = sorted(acked - seen)
    check(not missing, f"{len(missing)} of {n_acked} acknowledged records missing after SIGTERM + restart, "
                       f"e.g. {missing[:10]}")


# ---------------------------------------------------------------- e. make run (zk/run-local.sh)
@timeout(150)
def test_make_run_script(ctx):
    """zk/run-local.sh, what `make run` starts after building: three brokers by default; prints the bootstrap
    list, the brokers form one cluster that serves kcat, and a Ctrl-C (SIGINT to its process group) stops every
    gregord cleanly with SIGTERM, then ZooKeeper, and exits 0."""
    if not GREGORD.exists():
        raise Failure(f"{GREGORD} is not built")
    tmp = ctx.mkdir("tmp")
    ctx.data_dirs.append(tmp)
    env = dict(os.environ, TMPDIR=str(tmp), GREGORD=str(GREGORD))
    env.pop("GREGOR_BROKERS", None)
    # Hold 2181 and 9092 (when free) so the script must pick other ports: that path gets tested, and a
    # concurrent run (or a developer's own `make run`) cannot collide with this one.
    held = []
    for port in (2181, 9092):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen(1)
            held.append(s)
        except OSError:
            s.close()
    out_path = ctx.dir / "run-local.out"
    out = open(out_path, "wb")
    p = ctx.popen(["bash", ROOT / "zk" / "run-local.sh"], stdout=out, stderr=subprocess.STDOUT, env=env,
                  cwd=ROOT)
    text = lambda: out_path.read_text(errors="replace")  # noqa: E731

    def ready():
        if p.poll() is not None:
            raise Failure(f"run-local.sh exited {p.returncode} during start-up:\n{text()[-2000:]}")
        return re.search(r"gregor is running: bootstrap (\S+) \(ZooKeeper 127\.0\.0\.1:(\d+)", text())
    m = wait_until(ready, 60, "run-local.sh to print the bootstrap address", interval=0.1)
    bootstrap = m.group(1)
    addrs = bootstrap.split(",")
    eq(len(addrs), 3, f"brokers in the bootstrap list {bootstrap}")
    held_ports = {s.getsockname()[1] for s in held}
    for s in held:
        s.close()
    used = {int(a.rsplit(":", 1)[1]) for a in addrs} | {int(m.group(2))}
    eq(len(used), 4, f"distinct ports of ZooKeeper and the brokers ({bootstrap}, ZooKeeper {m.group(2)})")
    check(not used & held_ports, f"run-local.sh used a port that was taken: {sorted(used & held_ports)}")
    zk_pid_m = re.search(r"zk-server: running on \S+ \(pid (\d+)", text())
    check(zk_pid_m is not None, f"no ZooKeeper pid in the output:\n{text()[-2000:]}")
    zk_pid = int(zk_pid_m.group(1))
    record_pid(ctx, zk_pid)
    gregord_pids = []
    for a in addrs:
        found = find_pids(GREGORD, f"--listeners=PLAINTEXT://{a}")
        eq(len(found), 1, f"gregord processes listening on {a}")
        record_pid(ctx, found[0])
        gregord_pids.append(found[0])

    # One cluster: every broker lists all three (ids 0, 1, 2) and the same controller.
    def formed():
        seen = []
        for a in addrs:
            with kproto.connect(a, timeout=3) as c:
                md = kproto.metadata_v1(c, [])
            seen.append((sorted((b["node_id"], f"{b['host']}:{b['port']}") for b in md["brokers"]), md["controller"]))
        return seen if all(s == seen[0] for s in seen) and seen[0][1] >= 0 else None
    seen = wait_until(formed, 30, "the three brokers to form one cluster", interval=0.2)
    eq(seen[0][0], [(i, a) for i, a in enumerate(addrs)], "brokers listed in Metadata")

    topic = unique_topic("makerun")
    ctx.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-K:"], input="k1:hello\nk2:world\n", timeout=30,
            check_rc=0)
    rc, o, _ = ctx.run(["kcat", "-C", "-b", addrs[-1], "-t", topic, "-o", "beginning", "-e", "-K:", "-c", "2"],
                       timeout=30, check_rc=0)
    eq(o.split(), ["k1:hello", "k2:world"], "kcat consume output")

    os.killpg(p.pid, signal.SIGINT)  # Ctrl-C on the terminal: the whole foreground process group
    try:
        rc = p.wait(timeout=100)
    except subprocess.TimeoutExpired:
        raise Failure(f"run-local.sh did not exit within 100s of SIGINT:\n{text()[-2000:]}")
    eq(rc, 0, f"run-local.sh exit code after SIGINT; output:\n{text()[-1500:]}")
    for i, pid in enumerate(gregord_pids):
        check(not pid_alive(pid), f"gregord {i} still running after run-local.sh exited")
    check(not pid_alive(zk_pid), "ZooKeeper still running after run-local.sh exited")
    t = text()
    for i in range(3):
        check(f"gregord {i} stopped (exit 0)" in t, f"gregord {i} did not exit 0:\n{t[-1500:]}")
    check("ZooKeeper stopped" in t, f"ZooKeeper stop not reported:\n{t[-1500:]}")
    check(t.index("gregord 0 stopped") > t.index("gregord 2 stopped"), "brokers not stopped highest id first")
    check(t.index("ZooKeeper stopped") > t.index("gregord 0 stopped"), "ZooKeeper stopped before a broker")
    scratch = re.search(r"scratch dir (\S+)", t)
    check(scratch is not None, "no scratch dir printed")
    for i in range(3):
        check((Path(scratch.group(1)) / f"logs-{i}" / ".kafka_cleanshutdown").exists(),
              f"no .kafka_cleanshutdown in the make-run log dir of broker {i}")


@timeout(60)
def test_sigterm_during_zk_outage(ctx):
    """SIGTERM while ZooKeeper is unreachable: the broker still exits 0 within 10 s with a clean log dir."""
    proxy = ZkProxy(ctx)
    try:
        b = ctx.start_broker(0, zk_connect=proxy.connect_string(ctx.chroot),
                             extra={"zookeeper.session.timeout.ms": "18000"})
        topic = unique_topic("zkdown")
        create_topic(b.bootstrap, topic, 1)
        err, base = raw_produce(b.bootstrap, topic, 0, [b"a"])
        eq((err, base), (0, 0), "produce before the outage")
        proxy.cut()
        # The broker's ZooKeeper client is now in its reconnect loop (a retry was refused).
        wait_until(lambda: proxy.refused_count() >= 1, 15, "the broker to retry its ZooKeeper connection")
        err, base = raw_produce(b.bootstrap, topic, 0, [b"b"])
        eq((err, base), (0, 1), "produce during the outage")
        t0 = time.monotonic()
        rc = b.stop(timeout=10)
        eq(rc, 0, f"exit code after SIGTERM during a ZooKeeper outage ({time.monotonic() - t0:.1f}s)")
        check((b.log_dir / ".kafka_cleanshutdown").exists(), f".kafka_cleanshutdown missing in {b.log_dir}")
    finally:
        proxy.close()
