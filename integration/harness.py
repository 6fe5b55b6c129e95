"""A small harness for gregor's integration tests.

Each test is a function `test_*(ctx)` in integration/test_*.py, optionally decorated with
@timeout(seconds). The runner (integration/run) forks one child per test; the child builds a Ctx, runs the
test and reports back. Every process a test starts is recorded (pid + start time) in <test dir>/pids so the
runner can kill exactly those processes when a test times out or dies, and nothing else.

The runner starts one ZooKeeper for the whole run; each test gets its own chroot in it, so tests never see
each other's znodes. Logs and data live in build/integration-logs/<test>/; data dirs are removed after a
passing test, logs are kept.
"""

import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import kproto

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "integration"
# GREGOR_IT_GREGORD=/path/to/gregord tests another build (e.g. a sanitizer build) with the same suite.
GREGORD = Path(os.environ.get("GREGOR_IT_GREGORD", ROOT / "bin" / "gregord")).resolve()
GREGORCTL = ROOT / "bin" / "gregorctl"
LOGROOT = ROOT / "build" / "integration-logs"


class Failure(AssertionError):
    pass


class Skip(Exception):
    pass


def timeout(seconds):
    def deco(fn):
        fn.timeout = seconds
        return fn
    return deco


def exclusive(fn):
    """Marks a test that must not share the machine with another (integration/run -j runs it alone):
    one that measures pauses or throughput against a goal."""
    fn.exclusive = True
    return fn


def torture_only(fn):
    """Marks a long fault workload that make torture runs (GREGOR_TORTURE=1, on its long clock) and make
    check leaves out: the runner does not collect it otherwise, unless -k names it."""
    fn.torture_only = True
    return fn


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def eq(actual, expected, what):
    if actual != expected:
        raise Failure(f"{what}: got {short(actual)}, expected {short(expected)}")


def short(v, n=300):
    s = repr(v)
    return s if len(s) <= n else s[:n] + f"... ({len(s)} chars)"


def free_port():
    """A port free now and not handed out before in this run: tests run concurrently (integration/run -j),
    so a port one test was given and has not bound yet must not go to another. The run's ports are kept in
    LOGROOT/.ports under a lock."""
    LOGROOT.mkdir(parents=True, exist_ok=True)
    with open(LOGROOT / ".ports", "a+") as reg:
        fcntl.flock(reg, fcntl.LOCK_EX)
        reg.seek(0)
        given = set(reg.read().split())
        for _ in range(100):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if str(port) not in given:
                break
        reg.write(f"{port}\n")
        return port


def wait_until(pred, timeout, what, interval=0.05):
    """Polls pred() until it returns a truthy value (returned) or the deadline passes (Failure). Exceptions
    from pred count as 'not yet'; the last one is reported."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Failure:
            raise
        except Exception as e:  # noqa: BLE001 - any client error means "not ready yet"
            last_exc = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise Failure(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(interval)


def proc_start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def kill_recorded(pid_file):
    """Kills (SIGKILL) every recorded process that is still the same process. Used by the runner."""
    try:
        lines = Path(pid_file).read_text().splitlines()
    except OSError:
        return
    for line in lines:
        try:
            pid_s, start = line.split()
            pid = int(pid_s)
        except ValueError:
            continue
        if proc_start_time(pid) == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def tail(path, n=30):
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return f"(no {path})"
    return "\n".join(lines[-n:])


class ZooKeeper:
    """A standalone ZooKeeper from Debian's package, answering on host:port. The runner's one (host 127.0.0.1)
    is started by zk/zk-server.sh when present; otherwise, and always for another address (zk-server.sh
    listens on 127.0.0.1 only), by a direct java start with the same settings. ctx: a test's own ZooKeeper
    (netfault.py), recorded in the test's pid file so that the runner kills it if the test dies."""

    def __init__(self, dir, port, host="127.0.0.1", ctx=None):
        self.dir = Path(dir)
        self.port = port
        self.host = host
        self.ctx = ctx
        self.script = ROOT / "zk" / "zk-server.sh"
        self.use_script = self.script.exists() and host == "127.0.0.1" and ctx is None
        self.pid = None
        self.proc = None

    @property
    def connect(self):
        return f"{self.host}:{self.port}"

    def start(self, timeout_s=30):
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        if self.use_script:
            r = subprocess.run(["bash", str(self.script), "start", str(self.dir), str(self.port)],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise RuntimeError(f"zk-server.sh start failed: {r.stdout}{r.stderr}")
            self.pid = int((self.dir / "zk.pid").read_text())
            return self
        (self.dir / "data").mkdir()
        (self.dir / "zoo.cfg").write_text(
            f"tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={self.dir}/data\nclientPort={self.port}\n"
            f"clientPortAddress={self.host}\nmaxClientCnxns=0\nadmin.enableServer=false\n"
            "4lw.commands.whitelist=*\nminSessionTimeout=1000\nmaxSessionTimeout=60000\n")
        cp = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"
        if Path("/usr/share/java/slf4j-simple.jar").exists():
            cp += ":/usr/share/java/slf4j-simple.jar"
        args = ["java", "-Xmx256m", f"-Dzookeeper.log.dir={self.dir}", "-cp", cp,
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(self.dir / "zoo.cfg")]
        log = open(self.dir / "zk.log", "wb")
        if self.ctx is not None:
            p = self.ctx.popen(args, stdout=log, stderr=subprocess.STDOUT)
        else:
            p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        log.close()
        self.proc = p
        self.pid = p.pid
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise RuntimeError(f"ZooKeeper exited: {tail(self.dir / 'zk.log')}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    s.sendall(b"ruok")
                    if s.recv(4) == b"imok":
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"ZooKeeper did not answer ruok on {self.connect} within {timeout_s} s")

    def stop(self):
        if self.pid is None:
            return
        if self.use_script:
            subprocess.run(["bash", str(self.script), "stop", str(self.dir)], capture_output=True, timeout=30)
        elif self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.pid = None


class Ctx:
    """Per-test context: a directory, a ZooKeeper chroot, and the processes the test started."""

    def __init__(self, name, zk_port):
        self.name = name
        self.dir = LOGROOT / name
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self.zk_port = zk_port
        self.zk_hosts = f"127.0.0.1:{zk_port}"
        self.chroot = "/" + re.sub(r"[^A-Za-z0-9_-]", "-", name) + "-" + os.urandom(3).hex()
        self.procs = []
        self.brokers = []
        self.data_dirs = []
        self._kazoo = None
        self._runs = 0

    # -- processes
    def _record(self, p):
        st = proc_start_time(p.pid)
        with open(self.dir / "pids", "a") as f:
            f.write(f"{p.pid} {st}\n")
        self.procs.append(p)

    def popen(self, args, log_name=None, **kw):
        """Starts a process in its own session, stdout+stderr to <dir>/<log_name> unless given."""
        if log_name is not None:
            out = open(self.dir / log_name, "ab")
            kw.setdefault("stdout", out)
            kw.setdefault("stderr", subprocess.STDOUT)
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen([str(a) for a in args], start_new_session=True, **kw)
        self._record(p)
        return p

    def run(self, args, input=None, timeout=30, env=None, cwd=None, check_rc=None):
        """Runs a client to completion. Returns (rc, stdout, stderr) as text; kills it at the deadline (then
        raises Failure). check_rc=0 asserts the exit code. The command line and output go to <dir>/runs.log."""
        self._runs += 1
        p = self.popen(args, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
        try:
            out, err = p.communicate(input=input.encode() if isinstance(input, str) else input, timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            self._log_run(args, "timeout", out, err)
            raise Failure(f"{Path(str(args[0])).name} did not finish within {timeout}s: "
                          f"{err.decode(errors='replace')[-800:]}")
        self._log_run(args, p.returncode, out, err)
        out, err = out.decode(errors="replace"), err.decode(errors="replace")
        if check_rc is not None and p.returncode != check_rc:
            raise Failure(f"{' '.join(map(str, args))[:200]} exited {p.returncode}, expected {check_rc}: "
                          f"{err.strip()[-1000:]}")
        return p.returncode, out, err

    def _log_run(self, args, rc, out, err):
        with open(self.dir / "runs.log", "ab") as f:
            f.write(f"\n### run {self._runs}: {' '.join(map(str, args))}\n### rc={rc}\n".encode())
            f.write(b"### stdout (first 4000 bytes)\n" + out[:4000] + b"\n### stderr (last 4000 bytes)\n" +
                    err[-4000:] + b"\n")

    def mkdir(self, name):
        d = self.dir / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    # -- brokers
    def broker(self, broker_id=0, **kw):
        b = Broker(self, broker_id, **kw)
        self.brokers.append(b)
        return b

    def start_broker(self, broker_id=0, **kw):
        b = self.broker(broker_id, **kw)
        b.start()
        return b

    def start_cluster(self, n=3, extra=None, timeout=60, **kw):
        """Starts brokers 0..n-1 on this test's chroot (all at once, so their start-ups overlap) and waits
        until every one is ready and lists all n brokers in its Metadata. Returns the list of Brokers."""
        brokers = [self.broker(i, extra=extra, **kw) for i in range(n)]
        for b in brokers:
            b.start(wait=False)
        for b in brokers:
            b.wait_ready(timeout)
        wait_cluster_formed(brokers, timeout)
        return brokers

    # -- ZooKeeper (kazoo client rooted at this test's chroot)
    def zk(self):
        if self._kazoo is None:
            try:
                from kazoo.client import KazooClient
            except ImportError as e:
                raise Failure(f"python3-kazoo missing: {e}")
            self._kazoo = KazooClient(hosts=self.zk_hosts + self.chroot, timeout=10)
            self._kazoo.start(timeout=15)
        return self._kazoo

    def zk_json(self, path):
        data, stat = self.zk().get(path)
        try:
            return json.loads(data.decode()), stat
        except ValueError:
            raise Failure(f"{path} is not JSON: {data!r}")

    def cleanup(self, passed):
        if self._kazoo is not None:
            try:
                self._kazoo.stop()
                self._kazoo.close()
            except Exception:  # noqa: BLE001
                pass
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.kill()
                    p.wait(timeout=10)
                except Exception:  # noqa: BLE001
                    pass
        if passed:
            for d in self.data_dirs:
                shutil.rmtree(d, ignore_errors=True)

    def failure_logs(self):
        parts = []
        for b in self.brokers:
            if not b.log_path.exists():
                continue
            parts.append(f"--- tail of {b.log_path.relative_to(ROOT)}\n{tail(b.log_path, 25)}")
        return "\n".join(parts)


class Broker:
    """One gregord process. Listeners: PLAINTEXT on a free port, plus SSL when ssl= a dict of ssl.* flags, plus
    SASL_PLAINTEXT (and SASL_SSL when ssl= too) when sasl= a dict of SASL flags (listener-prefixed keys may name
    the listeners sasl_plaintext and sasl_ssl)."""

    def __init__(self, ctx, broker_id=0, ssl=None, extra=None, log_dir=None, zk_connect=None, host="127.0.0.1",
                 uid=None, binary=None, sasl=None):
        self.ctx = ctx
        self.broker_id = broker_id
        # host: the listeners' address (netfault.py gives each broker its own 127.0.0.x); uid: run gregord as
        # this uid/gid (setpriv, its data dir chowned to it) so that nftables can tell its sockets apart.
        self.host = host
        self.uid = uid
        self.binary = Path(binary) if binary else GREGORD  # netfault.py runs a copy other uids can reach
        self.port = free_port()
        self.ssl_port = free_port() if ssl else None
        self.ssl = ssl or {}
        self.sasl = sasl
        self.sasl_port = free_port() if sasl is not None else None
        self.sasl_ssl_port = free_port() if sasl is not None and ssl else None
        self.extra = dict(extra or {})
        self.log_dir = Path(log_dir) if log_dir else ctx.mkdir(f"data-{broker_id}")
        if self.log_dir not in ctx.data_dirs:
            ctx.data_dirs.append(self.log_dir)
        self.zk_connect = zk_connect or ctx.zk_hosts + ctx.chroot
        self.log_path = ctx.dir / f"gregord-{broker_id}.log"
        self.proc = None
        self.starts = 0
        self.env = None  # extra environment variables for gregord (e.g. NOTIFY_SOCKET)

    @property
    def bootstrap(self):
        return f"{self.host}:{self.port}"

    @property
    def ssl_bootstrap(self):
        return f"{self.host}:{self.ssl_port}"

    @property
    def sasl_bootstrap(self):
        return f"{self.host}:{self.sasl_port}"

    @property
    def sasl_ssl_bootstrap(self):
        return f"{self.host}:{self.sasl_ssl_port}"

    def args(self):
        listeners = f"PLAINTEXT://{self.host}:{self.port}"
        if self.ssl_port:
            listeners += f",SSL://{self.host}:{self.ssl_port}"
        if self.sasl_port:
            listeners += f",SASL_PLAINTEXT://{self.host}:{self.sasl_port}"
        if self.sasl_ssl_port:
            listeners += f",SASL_SSL://{self.host}:{self.sasl_ssl_port}"
        a = [self.binary, f"--broker.id={self.broker_id}", f"--listeners={listeners}",
             f"--zookeeper.connect={self.zk_connect}", f"--log.dirs={self.log_dir}"]
        a += [f"--{k}={v}" for k, v in self.ssl.items()]
        a += [f"--{k}={v}" for k, v in (self.sasl or {}).items()]
        a += [f"--{k}={v}" for k, v in self.extra.items()]
        return a

    def start(self, wait=True, timeout=30):
        if os.environ.get("GREGOR_IT_WRAPPER"):
            timeout *= 4
        if not self.binary.exists():
            raise Failure(f"{self.binary} is not built")
        self.starts += 1
        with open(self.log_path, "ab") as f:
            f.write(f"\n===== start {self.starts}: {' '.join(map(str, self.args()))}\n".encode())
        # GREGOR_IT_WRAPPER="valgrind --quiet" (say) runs every broker under a tool, for debugging.
        wrapper = shlex.split(os.environ.get("GREGOR_IT_WRAPPER", ""))
        env = dict(os.environ, **self.env) if self.env else None
        self.proc = self.ctx.popen(self.run_as() + wrapper + self.args(), log_name=self.log_path.name, env=env)
        if wait:
            self.wait_ready(timeout)
        return self

    def run_as(self):
        """The command prefix that runs gregord as self.uid (empty without one). Its data dir and log file
        (everything it writes) are chowned to that uid first."""
        if self.uid is None:
            return []
        setpriv = shutil.which("setpriv")
        if not setpriv:
            raise Failure("setpriv not found (util-linux); cannot run a broker as its own uid")
        for path in [self.log_dir, *self.log_dir.rglob("*"), self.log_path]:
            os.chown(path, self.uid, self.uid)
        # Another uid needs the other-execute bit, which a binary being relinked lacks for a moment.
        wait_until(lambda: self.binary.stat().st_mode & 0o001, 30,
                   f"{self.binary} to be executable by others (it runs as uid {self.uid})", interval=0.5)
        return [setpriv, f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups"]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout=30):
        """Ready = answers ApiVersions and Metadata lists itself with a controller elected."""
        def ready():
            if not self.alive():
                raise Failure(f"gregord exited with {self.proc.returncode} during startup:\n"
                              f"{tail(self.log_path, 15)}")
            with kproto.connect(self.bootstrap, timeout=2) as c:
                err, _ = kproto.api_versions_v0(c)
                if err != 0:
                    return False
                md = kproto.metadata_v1(c, [])
                return md["controller"] >= 0 and any(b["node_id"] == self.broker_id for b in md["brokers"])
        wait_until(ready, timeout, f"broker {self.broker_id} to be ready on {self.bootstrap}", interval=0.1)

    def stop(self, timeout=10):
        """SIGTERM and wait; returns the exit code. Failure if it does not exit in time (then killed)."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"gregord did not exit within {timeout}s of SIGTERM")

    def kill9(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def pause(self):
        """SIGSTOP: the process stays alive but does nothing (no ZooKeeper heartbeats, no answers)."""
        check(self.alive(), f"broker {self.broker_id} is not running; cannot SIGSTOP it")
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        """SIGCONT after pause()."""
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)

    def check_alive(self, what=""):
        if not self.alive():
            raise Failure(f"gregord died{(' ' + what) if what else ''} (exit {self.proc.returncode}):\n"
                          f"{tail(self.log_path, 15)}")


# ---------------------------------------------------------------- helpers shared by tests
def unique_topic(prefix="t"):
    return f"{prefix}-{os.urandom(4).hex()}"


def create_topic(bootstrap, name, partitions=1, configs=None, timeout=20):
    """CreateTopics v0 over a raw socket, then waits until every partition has a leader."""
    with kproto.connect(bootstrap) as c:
        res = kproto.create_topics_v0(c, [(name, partitions, 1, configs or {})])
    eq(res.get(name), kproto.NONE, f"CreateTopics error for {name}")
    wait_topic_ready(bootstrap, name, partitions, timeout)


def wait_topic_ready(bootstrap, name, partitions, timeout=20):
    def ready():
        with kproto.connect(bootstrap, timeout=3) as c:
            md = kproto.metadata_v1(c, [name])
        t = md["topics"].get(name)
        if not t or t["error"] != 0 or len(t["partitions"]) != partitions:
            return False
        return all(p["error"] == 0 and p["leader"] >= 0 for p in t["partitions"])
    wait_until(ready, timeout, f"topic {name} with {partitions} partitions to have leaders", interval=0.1)


def list_offset(bootstrap, topic, partition, ts):
    with kproto.connect(bootstrap) as c:
        err, off = kproto.list_offsets_v1(c, topic, partition, ts)
    eq(err, 0, f"ListOffsets({ts}) error for {topic}-{partition}")
    return off


def require_module(name, package):
    """Imports a Python client module; a missing Debian package is a failure (it is in
    conf/debian-packages), not a skip."""
    import importlib
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise Failure(f"{name} not importable ({e}); install {package}")


# ---------------------------------------------------------------- several brokers (one chroot)
def bootstrap_of(brokers):
    """The comma-separated bootstrap list of the given brokers."""
    return ",".join(b.bootstrap for b in brokers)


def wait_cluster_formed(brokers, timeout=30):
    """Waits until every given (running) broker answers Metadata listing all of them and the same controller."""
    ids = sorted(b.broker_id for b in brokers)

    def formed():
        controllers = set()
        for b in brokers:
            b.check_alive("while the cluster forms")
            with kproto.connect(b.bootstrap, timeout=3) as c:
                md = kproto.metadata_v1(c, [])
            if sorted(x["node_id"] for x in md["brokers"]) != ids or md["controller"] < 0:
                return False
            controllers.add(md["controller"])
        return len(controllers) == 1
    wait_until(formed, timeout, f"brokers {ids} to see each other and agree on a controller", interval=0.1)
