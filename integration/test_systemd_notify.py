"""gregord speaks systemd's notify protocol (Type=notify, through libsystemd's sd_notify) when NOTIFY_SOCKET is
set, as systemd sets it for the unit in conf/gregord.service: READY=1 only once the broker is registered in
ZooKeeper and answering requests, WATCHDOG=1 at half of WATCHDOG_USEC while its threads answer, RELOADING=1 then
READY=1 on SIGHUP (ExecReload), STOPPING=1 on SIGTERM before the controlled shutdown. A datagram socket of the test
stands in for systemd."""

import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

import kproto
from harness import check, eq, timeout, wait_until


class NotifySocket:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages = []  # (time, {key: value})

    def drain(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                return self.messages
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append((time.time(), fields))

    def keys(self):
        return [k for _, m in self.drain() for k in m]


@timeout(90)
def test_sd_notify_ready_watchdog_reload_stopping(ctx):
    # AF_UNIX paths are limited to 107 bytes and the test's log directory may be deeper than that
    # (a clone in a long path): the socket lives in a short directory of its own.
    sock_dir = tempfile.mkdtemp(prefix="gregor-sd-")
    try:
        notify_scenario(ctx, Path(sock_dir) / "notify.sock")
    finally:
        shutil.rmtree(sock_dir, ignore_errors=True)


def notify_scenario(ctx, path):
    n = NotifySocket(path)
    b = ctx.broker(0)
    b.env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "1000000"}
    b.start(wait=False)

    # READY=1 arrives once, and then the broker answers at once.
    wait_until(lambda: "READY" in n.keys(), 30, "READY=1 from gregord")
    with kproto.connect(b.bootstrap) as c:
        md = kproto.metadata_v1(c, None)
        eq([br["node_id"] for br in md["brokers"]], [0], "brokers in Metadata right after READY=1")
    ready = [m for _, m in n.messages if "READY" in m]
    eq(len(ready), 1, "READY=1 messages")
    check("serving" in ready[0].get("STATUS", ""), f"STATUS with READY: {ready[0]}")

    # The watchdog: about two pings a second for WATCHDOG_USEC=1 s.
    before = sum(1 for _, m in n.drain() if "WATCHDOG" in m)
    time.sleep(2.5)
    pings = sum(1 for _, m in n.drain() if "WATCHDOG" in m) - before
    check(3 <= pings <= 8, f"{pings} watchdog pings in 2.5 s at WATCHDOG_USEC=1000000")

    # SIGHUP: RELOADING=1 then READY=1, and the broker keeps serving.
    b.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: [k for k in n.keys() if k in ("RELOADING", "READY")][-2:] == ["RELOADING", "READY"], 10,
               "RELOADING=1 then READY=1 after SIGHUP")
    wait_until(lambda: "reload requested (SIGHUP)" in b.log_path.read_text(errors="replace"), 10,
               "the reload in the broker log")
    with kproto.connect(b.bootstrap) as c:
        kproto.metadata_v1(c, None)

    # SIGTERM: STOPPING=1, then a clean exit.
    b.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: "STOPPING" in n.keys(), 10, "STOPPING=1 after SIGTERM")
    eq(b.proc.wait(60), 0, "gregord exit status after SIGTERM")
