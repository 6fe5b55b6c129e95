"""Broker lifecycle: ZooKeeper registration, clean shutdown, and start-up configuration errors."""

import re
import time

from harness import GREGORD, Failure, check, eq, free_port, timeout, wait_until


@timeout(60)
def test_registration_and_clean_shutdown(ctx):
    b = ctx.start_broker(0)
    zk = ctx.zk()

    info, stat = ctx.zk_json("/brokers/ids/0")
    check(stat.ephemeralOwner != 0, "/brokers/ids/0 is not ephemeral")
    check(isinstance(info.get("version"), int) and info["version"] >= 4, f"/brokers/ids/0 version: {info}")
    eq(info.get("host"), "127.0.0.1", "/brokers/ids/0 host")
    eq(info.get("port"), b.port, "/brokers/ids/0 port")
    eq(info.get("endpoints"), [f"PLAINTEXT://127.0.0.1:{b.port}"], "/brokers/ids/0 endpoints")
    eq(info.get("listener_security_protocol_map"), {"PLAINTEXT": "PLAINTEXT"},
       "/brokers/ids/0 listener_security_protocol_map")
    check(isinstance(info.get("timestamp"), str) and info["timestamp"].isdigit(),
          f"/brokers/ids/0 timestamp must be a string of digits: {info.get('timestamp')!r}")
    check(abs(int(info["timestamp"]) - time.time() * 1000) < 120000, f"timestamp not recent: {info['timestamp']}")
    check(isinstance(info.get("jmx_port"), int), f"/brokers/ids/0 jmx_port must be an int: {info}")

    ctrl, cstat = ctx.zk_json("/controller")
    eq(ctrl.get("brokerid"), 0, "/controller brokerid")
    check(cstat.ephemeralOwner != 0, "/controller is not ephemeral")
    check(isinstance(ctrl.get("version"), int), f"/controller version: {ctrl}")
    epoch, _ = zk.get("/controller_epoch")
    check(epoch.decode().strip().isdigit(), f"/controller_epoch must be a plain integer: {epoch!r}")

    cid, _ = ctx.zk_json("/cluster/id")
    eq(cid.get("version"), "1", "/cluster/id version (a string)")
    check(re.fullmatch(r"[A-Za-z0-9_-]{22}", cid.get("id", "")) is not None, f"/cluster/id id: {cid}")

    for p in ("/brokers/topics", "/config/topics", "/config/changes", "/admin/delete_topics"):
        check(zk.exists(p) is not None, f"persistent path {p} missing")

    t0 = time.monotonic()
    rc = b.stop(timeout=10)
    eq(rc, 0, "exit code after SIGTERM")
    took = time.monotonic() - t0
    # A clean shutdown closes the ZooKeeper session, so the ephemeral node goes at once rather than after the
    # session timeout (18 s by default).
    wait_until(lambda: zk.exists("/brokers/ids/0") is None, 3, "/brokers/ids/0 to disappear after shutdown")
    check((b.log_dir / ".kafka_cleanshutdown").exists(),
          f".kafka_cleanshutdown missing in {b.log_dir} after clean shutdown (took {took:.1f}s); "
          f"contents: {sorted(p.name for p in b.log_dir.iterdir())}")


def _expect_startup_error(ctx, extra_args, must_mention, limit=10):
    if not GREGORD.exists():
        raise Failure("bin/gregord is not built")
    b = ctx.broker(0)
    args = b.args() + extra_args
    t0 = time.monotonic()
    rc, out, err = ctx.run(args, timeout=limit)
    took = time.monotonic() - t0
    text = out + err
    check(rc != 0, f"gregord {' '.join(extra_args)} exited 0; output:\n{text[-1500:]}")
    check(rc > 0, f"gregord {' '.join(extra_args)} died by signal {-rc} instead of exiting with an error")
    for m in must_mention:
        check(m.lower() in text.lower(), f"error output does not mention {m!r}:\n{text[-1500:]}")
    return took, text


def test_unknown_flag_is_rejected(ctx):
    _expect_startup_error(ctx, ["--no.such.option=1"], ["no.such.option"])


def test_invalid_value_is_rejected(ctx):
    _expect_startup_error(ctx, ["--num.partitions=abc"], ["num.partitions"])


def test_zookeeper_unreachable_exits(ctx):
    dead = free_port()  # nothing listens there
    b = ctx.broker(0, zk_connect=f"127.0.0.1:{dead}/gregor")
    args = b.args() + ["--zookeeper.connection.timeout.ms=2000"]
    if not GREGORD.exists():
        raise Failure("bin/gregord is not built")
    t0 = time.monotonic()
    rc, out, err = ctx.run(args, timeout=15)
    took = time.monotonic() - t0
    text = out + err
    check(rc > 0, f"gregord exited {rc} with ZooKeeper unreachable; output:\n{text[-1500:]}")
    check(took < 6.0, f"gregord took {took:.1f}s to give up (zookeeper.connection.timeout.ms=2000)")
    check("zookeeper" in text.lower(), f"error does not mention ZooKeeper:\n{text[-1500:]}")

