#!/usr/bin/python3
"""Consumer group rebalance time against a gregord it starts itself.

    mk/bench-groups.py [--members 3,50] [--delays 0,3000] [--partitions 60] [--runs 1]

For every group.initial.rebalance.delay.ms in --delays: starts ZooKeeper (zk/zk-server.sh, once) and one
bin/gregord with that delay, creates a topic with --partitions partitions, then for every N in --members
subscribes N fresh confluent-kafka consumers (one process, one poll thread each) to a fresh group and measures
the time from the first subscribe() to the moment every member holds an assignment and the assignments are
disjoint and cover every partition. Prints a table (median over --runs, and the generation the group reached).
Everything it starts is stopped by pid on exit; its files live in a temporary directory that is removed.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "integration"))
import kproto  # noqa: E402  (hand-built Metadata/ApiVersions for the readiness check)

try:
    import confluent_kafka as ck
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as e:
    sys.exit(f"bench-groups: confluent_kafka not importable ({e}); install python3-confluent-kafka")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except Exception:  # noqa: BLE001 - not ready yet
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout_s}s waiting for {what}")


class Env:
    """ZooKeeper and brokers started by this script; stop() ends exactly those (by pid)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="gregor-bench-groups-"))
        self.zk_dir = self.dir / "zk"
        self.zk_port = free_port()
        self.zk_started = False
        self.brokers = []  # Popen

    def start_zk(self):
        r = subprocess.run(["bash", str(ROOT / "zk" / "zk-server.sh"), "start", str(self.zk_dir),
                            str(self.zk_port)], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"zk-server.sh start failed: {r.stdout}{r.stderr}")
        self.zk_started = True

    def start_broker(self, name, extra):
        port = free_port()
        log_dir = self.dir / f"data-{name}"
        args = [str(ROOT / "bin" / "gregord"), "--broker.id=0", f"--listeners=PLAINTEXT://127.0.0.1:{port}",
                f"--zookeeper.connect=127.0.0.1:{self.zk_port}/{name}", f"--log.dirs={log_dir}"]
        args += [f"--{k}={v}" for k, v in extra.items()]
        log = open(self.dir / f"gregord-{name}.log", "wb")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        self.brokers.append(p)
        bootstrap = f"127.0.0.1:{port}"

        def ready():
            if p.poll() is not None:
                raise SystemExit(f"gregord exited with {p.returncode}; see {log.name}")
            with kproto.connect(bootstrap, timeout=2) as c:
                md = kproto.metadata_v1(c, [])
            return md["controller"] >= 0 and any(b["node_id"] == 0 for b in md["brokers"])
        wait_for(ready, 30, f"gregord {name} to be ready")
        return p, bootstrap

    def stop_broker(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop(self):
        for p in self.brokers:
            try:
                self.stop_broker(p)
            except Exception:  # noqa: BLE001
                pass
        if self.zk_started:
            subprocess.run(["bash", str(ROOT / "zk" / "zk-server.sh"), "stop", str(self.zk_dir)],
                           capture_output=True, timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def generation(c):
    """The generation id from librdkafka's serialized consumer group metadata ("CGMDv2:", native int32)."""
    try:
        md = c.consumer_group_metadata()
        return int.from_bytes(md[7:11], sys.byteorder, signed=True)
    except Exception:  # noqa: BLE001
        return None


def measure(bootstrap, topic, partitions, n, timeout_s=120):
    """Seconds from the first subscribe() to every member holding a disjoint, covering assignment."""
    group = f"bench-{n}-{os.urandom(4).hex()}"
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
            "session.timeout.ms": 10000, "heartbeat.interval.ms": 1000, "auto.offset.reset": "latest",
            "log_level": 3}
    consumers = [ck.Consumer(conf) for _ in range(n)]
    lock = threading.Lock()
    current = [None] * n  # current assignment of each member (eager: revoke clears it)
    done = threading.Event()
    halt = threading.Event()
    result = {}

    def check_done():
        if done.is_set() or any(not a for a in current):
            return
        seen = [p for a in current for p in a]
        if len(seen) == len(set(seen)) and sorted(seen) == list(range(partitions)):
            result["t"] = time.monotonic()
            done.set()

    def make_cbs(i):
        def on_assign(c, parts):
            with lock:
                current[i] = [p.partition for p in parts]
                check_done()

        def on_revoke(c, parts):
            with lock:
                current[i] = None
        return on_assign, on_revoke

    def poller(i):
        c = consumers[i]
        while not halt.is_set():
            c.poll(0.05)

    t0 = time.monotonic()
    for i, c in enumerate(consumers):
        on_assign, on_revoke = make_cbs(i)
        c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    threads = [threading.Thread(target=poller, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    ok = done.wait(timeout_s)
    gens = {generation(c) for c in consumers} if ok else set()
    halt.set()
    for t in threads:
        t.join(10)
    closers = [threading.Thread(target=c.close, daemon=True) for c in consumers]
    for t in closers:
        t.start()
    for t in closers:
        t.join(30)
    if not ok:
        raise RuntimeError(f"{n} members did not get a covering assignment within {timeout_s}s: {current}")
    return result["t"] - t0, gens


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", default="3,50")
    ap.add_argument("--delays", default="0,3000")
    ap.add_argument("--partitions", type=int, default=60)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="also print the rows as JSON lines")
    args = ap.parse_args()
    members = [int(x) for x in args.members.split(",")]
    delays = [int(x) for x in args.delays.split(",")]
    if not (ROOT / "bin" / "gregord").exists():
        sys.exit("bench-groups: bin/gregord is not built (make bin/gregord)")

    env = Env()
    rows = []

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        env.start_zk()
        for delay in delays:
            extra = {"group.initial.rebalance.delay.ms": delay, "offsets.topic.num.partitions": 4,
                     "offsets.topic.replication.factor": 1, "num.partitions": 1}
            p, bootstrap = env.start_broker(f"delay{delay}", extra)
            topic = "bench-groups"
            admin = AdminClient({"bootstrap.servers": bootstrap})  # must outlive the future
            admin.create_topics([NewTopic(topic, args.partitions, 1)])[topic].result(30)
            del admin  # no client left connected when the broker stops

            def leaders():
                with kproto.connect(bootstrap, timeout=5) as c:
                    parts = kproto.metadata_v1(c, [topic])["topics"][topic]["partitions"]
                return len(parts) == args.partitions and all(pt["leader"] >= 0 for pt in parts)
            wait_for(leaders, 30, "topic leaders")
            # Warm-up: creates __consumer_offsets and loads the coordinator outside the measurement.
            measure(bootstrap, topic, args.partitions, 1)
            for n in members:
                times, gens = [], set()
                for _ in range(args.runs):
                    t, g = measure(bootstrap, topic, args.partitions, n)
                    times.append(t)
                    gens |= g
                rows.append({"members": n, "delay_ms": delay, "partitions": args.partitions,
                             "seconds": statistics.median(times), "runs": len(times),
                             "generations": sorted(x for x in gens if x is not None)})
                print(f"  N={n} delay={delay} ms: {', '.join(f'{t:.2f}' for t in times)} s", file=sys.stderr,
                      flush=True)
            env.stop_broker(p)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        env.stop()

    print(f"rebalance time: first subscribe() -> every member assigned, all {args.partitions} partitions "
          f"covered (eager protocol, librdkafka {ck.libversion()[0]})")
    print(f"{'members':>8} {'initial.rebalance.delay.ms':>27} {'seconds':>9} {'runs':>5}  generation")
    for r in rows:
        print(f"{r['members']:>8} {r['delay_ms']:>27} {r['seconds']:>9.2f} {r['runs']:>5}  "
              f"{','.join(map(str, r['generations']))}")
    if args.json:
        for r in rows:
            print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
