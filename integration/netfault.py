"""Network partitions for integration tests, inside a network namespace the test creates.

The test process (the runner forks one per test) moves itself into a new network namespace with
unshare(CLONE_NEWNET) and brings its `lo` up; everything it starts afterwards (ZooKeeper, gregord, clients,
its own threads) lives there. The host's network configuration is never touched: every `ip`/`nft` command
checks first that this process is no longer in the network namespace it started in, and the namespace (with
its nftables ruleset) vanishes with the test's last process.

In the namespace:
  - ZooKeeper answers on 127.0.0.2 (its own address, so that cutting a broker from it cuts nothing else);
  - broker i listens on 127.0.0.(10+i) and runs as uid/gid UID_BASE+i (setpriv). The output-hook chain first
    marks every connection a broker opens with its uid (`meta skuid U ct state new ct mark set U`), so that a
    connection is known by (uid of the broker that opened it, address it was opened to) in both directions
    and for its whole life. cut(a, b) drops every packet of every connection a opened to b's address and b
    opened to a's (`ct mark Ua ct original ip daddr <b> drop` and the mirror), whoever sends it: connect()
    fails (EPERM), established connections stop moving. heal(a, b) deletes both rules. (Matching packets on
    `meta skuid` alone is not enough: a socket its process has closed has no owner any more, and its FIN,
    RST and retransmitted data would get through);
  - clients (the test's producers, consumers, kazoo) run as root and are never cut.

    with NetSplitCluster(ctx, 3, extra={...}) as net:
        brokers = net.brokers
        net.cut(0, 1); net.heal(0, 1)
        net.cut_zk(2); net.heal_zk(2)
        net.isolate(1)       # from ZooKeeper and every other broker, not from clients
        net.heal_all()

Every rule added or deleted is logged (with the time since the cluster started) to the test's test.out and,
with the nft command and its output, to runs.log.
"""

import ctypes
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from harness import GREGORD, Failure, Skip, ZooKeeper, wait_cluster_formed

CLONE_NEWNET = 0x40000000
ZK_HOST = "127.0.0.2"
ZK_PORT = 2181
UID_BASE = 47000  # broker i runs as uid/gid UID_BASE + i (no such user needs to exist)
TABLE = "gregor"
CHAIN = "out"


def broker_host(broker_id):
    return f"127.0.0.{10 + broker_id}"


_host_netns = None  # the network namespace this process started in (to refuse commands there)


def enter_netns():
    """Moves this process into a new network namespace (once) and brings lo up. Skip when not root."""
    global _host_netns
    if _host_netns is not None:
        return
    if os.geteuid() != 0:
        raise Skip("network partitions need root (unshare(CLONE_NEWNET), nftables, setpriv)")
    for tool in ("ip", "nft", "setpriv"):
        if shutil.which(tool) is None:
            raise Failure(f"{tool} not found; install {'nftables' if tool == 'nft' else 'iproute2/util-linux'} "
                          f"(conf/debian-packages)")
    before = os.readlink("/proc/self/ns/net")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise Failure(f"unshare(CLONE_NEWNET) failed: {os.strerror(e)}")
    _host_netns = before
    _netns_cmd(["ip", "link", "set", "lo", "up"])


def _in_private_netns():
    return _host_netns is not None and os.readlink("/proc/self/ns/net") != _host_netns


def _netns_cmd(args, ctx=None):
    """Runs ip/nft, only ever inside the private namespace. Returns stdout; Failure on a non-zero exit."""
    if not _in_private_netns():
        raise Failure(f"refusing to run {' '.join(args)} outside the test's own network namespace")
    if ctx is not None:
        rc, out, err = ctx.run(args, timeout=10)
    else:
        r = subprocess.run(args, capture_output=True, text=True, timeout=10)
        rc, out, err = r.returncode, r.stdout, r.stderr
    if rc != 0:
        raise Failure(f"{' '.join(args)} exited {rc}: {err.strip()}")
    return out


class NetSplitCluster:
    """ZooKeeper and n brokers inside the test's own network namespace, with cuts between any two of them."""

    def __init__(self, ctx, n=3, extra=None, timeout_s=60):
        self.ctx = ctx
        self.n = n
        self.extra = dict(extra or {})
        self.timeout_s = timeout_s
        self.rules = {}  # (uid, address) -> nft rule handle
        self.t0 = None
        self.zk = None
        self.brokers = []
        self.base = None  # private dir (binary, data dirs) that the brokers' uids can reach

    # -- set-up and tear-down
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        ctx = self.ctx
        enter_netns()
        self.t0 = time.monotonic()
        self.zk = ZooKeeper(ctx.dir / "zookeeper", ZK_PORT, host=ZK_HOST, ctx=ctx)
        ctx.data_dirs.append(self.zk.dir / "data")  # zk.log is kept
        try:
            self.zk.start()
        except RuntimeError as e:
            raise Failure(f"the test's ZooKeeper on {self.zk.connect}: {e}")
        ctx.zk_hosts = self.zk.connect  # kazoo (ctx.zk()) and the brokers' zookeeper.connect
        _netns_cmd(["nft", "add", "table", "inet", TABLE], ctx)
        _netns_cmd(["nft", "add", "chain", "inet", TABLE, CHAIN,
                    "{ type filter hook output priority 0; policy accept; }"], ctx)
        # The brokers run as other uids, which may not traverse the checkout (a clone in a mkdtemp
        # dir is 0700): their binary and data dirs live in a private dir under /tmp they can reach.
        self.base = Path(tempfile.mkdtemp(prefix="gregor-netsplit-", dir="/tmp"))
        os.chmod(self.base, 0o755)
        ctx.data_dirs.append(self.base)  # removed when the test passes, kept when it fails
        binary = self.base / "gregord"
        try:
            os.link(GREGORD, binary)
        except OSError:
            shutil.copy2(GREGORD, binary)
        os.chmod(binary, 0o755)
        for i in range(self.n):
            (self.base / f"data-{i}").mkdir()
        self.brokers = [ctx.broker(i, extra=self.extra, host=broker_host(i), uid=UID_BASE + i,
                                   log_dir=self.base / f"data-{i}", binary=binary)
                        for i in range(self.n)]
        for b in self.brokers:  # before any drop rule (rules run in order; drops are appended)
            _netns_cmd(["nft", "add", "rule", "inet", TABLE, CHAIN, "meta", "skuid", str(b.uid),
                        "ct", "state", "new", "ct", "mark", "set", str(b.uid)], ctx)
        for b in self.brokers:
            b.start(wait=False)
        for b in self.brokers:
            b.wait_ready(self.timeout_s)
        wait_cluster_formed(self.brokers, self.timeout_s)
        self.log(f"cluster up: ZooKeeper {self.zk.connect}, brokers " +
                 ", ".join(f"{b.broker_id}={b.bootstrap} (uid {b.uid})" for b in self.brokers))
        return self.brokers

    def close(self):
        """Deletes every rule and the table (the namespace goes with the test's processes anyway), and the
        private binary (running brokers keep its inode); the data dirs go with the test's (kept on failure)."""
        if self.base is not None:
            try:
                (self.base / "gregord").unlink()
            except OSError:
                pass
        if not _in_private_netns():
            return
        try:
            if self.rules:
                self.heal_all()
        except Exception as e:  # noqa: BLE001 - the table goes next anyway
            self.log(f"heal_all at close failed: {e}")
        try:
            _netns_cmd(["nft", "delete", "table", "inet", TABLE], self.ctx)
        except Failure:
            pass

    def log(self, msg):
        t = time.monotonic() - self.t0 if self.t0 is not None else 0.0
        print(f"[net {t:7.3f}s] {msg}", flush=True)

    # -- rules
    def _uid(self, broker_id):
        return self.brokers[broker_id].uid

    def _drop(self, uid, address, why):
        key = (uid, address)
        if key in self.rules:
            return
        out = _netns_cmd(["nft", "--echo", "--handle", "add", "rule", "inet", TABLE, CHAIN,
                          "ct", "mark", str(uid), "ct", "original", "ip", "daddr", address, "drop"], self.ctx)
        try:
            handle = int(out.rsplit("# handle", 1)[1].split()[0])
        except (IndexError, ValueError):
            raise Failure(f"no rule handle in nft's echo: {out!r}")
        self.rules[key] = handle
        self.log(f"+ drop connections of uid {uid} to {address} (handle {handle}) [{why}]")

    def _undrop(self, uid, address, why):
        handle = self.rules.pop((uid, address), None)
        if handle is None:
            return
        _netns_cmd(["nft", "delete", "rule", "inet", TABLE, CHAIN, "handle", str(handle)], self.ctx)
        self.log(f"- drop connections of uid {uid} to {address} (handle {handle}) [{why}]")

    def cut(self, a, b):
        """No packet between brokers a and b, either way."""
        self._drop(self._uid(a), broker_host(b), f"cut {a}-{b}")
        self._drop(self._uid(b), broker_host(a), f"cut {a}-{b}")

    def heal(self, a, b):
        self._undrop(self._uid(a), broker_host(b), f"heal {a}-{b}")
        self._undrop(self._uid(b), broker_host(a), f"heal {a}-{b}")

    def cut_zk(self, a):
        """Broker a can no longer reach ZooKeeper (ZooKeeper never connects to brokers)."""
        self._drop(self._uid(a), ZK_HOST, f"cut {a}-zk")

    def heal_zk(self, a):
        self._undrop(self._uid(a), ZK_HOST, f"heal {a}-zk")

    def isolate(self, a):
        """Broker a cut from ZooKeeper and from every other broker; clients still reach it."""
        self.cut_zk(a)
        for b in range(self.n):
            if b != a:
                self.cut(a, b)

    def heal_all(self):
        for uid, address in list(self.rules):
            self._undrop(uid, address, "heal all")

    def listed_rules(self):
        """The chain as nft lists it (for a test's log)."""
        return _netns_cmd(["nft", "--handle", "list", "chain", "inet", TABLE, CHAIN])
