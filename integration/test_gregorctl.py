"""gregorctl (librdkafka-based tool) against a real broker: topic admin, produce, consume."""

from harness import GREGORCTL, Failure, check, eq, timeout, unique_topic, wait_topic_ready, wait_until


def ctl(ctx, b, *args, input=None, t=30, check_rc=0):
    if not GREGORCTL.exists():
        raise Failure("bin/gregorctl is not built")
    return ctx.run([GREGORCTL, "-b", b.bootstrap, *args], input=input, timeout=t, check_rc=check_rc)


@timeout(90)
def test_gregorctl_topic_produce_consume(ctx):
    b = ctx.start_broker(0)
    topic = unique_topic("ctl")
    ctl(ctx, b, "topic", "create", topic, "--partitions", "2", "--config", "retention.ms=123456")
    wait_topic_ready(b.bootstrap, topic, 2)

    _, out, _ = ctl(ctx, b, "topic", "list")
    check(topic in out.split(), f"{topic} not in `topic list`: {out[:500]}")
    _, out, _ = ctl(ctx, b, "topic", "describe", topic)
    check(f"Topic: {topic}\tPartitionCount: 2" in out, f"`topic describe` header: {out[:500]}")
    check("retention.ms=123456" in out, f"`topic describe` lacks the retention.ms override: {out[:500]}")

    ctl(ctx, b, "topic", "alter-config", topic, "--config", "retention.ms=654321")
    wait_until(lambda: "retention.ms=654321" in ctl(ctx, b, "topic", "describe", topic)[1], 10,
               "alter-config to show in describe")

    lines = [f"key{i}:line {i}" for i in range(100)]
    ctl(ctx, b, "produce", topic, "--key-separator", ":", "--partition", "1", "--acks", "all",
        input="\n".join(lines) + "\n")
    _, out, _ = ctl(ctx, b, "consume", topic, "--from-beginning", "--partition", "1", "--max-messages", "100",
                    "--timeout-ms", "10000", "--print-key")
    eq(out.splitlines(), [f"key{i}\tline {i}" for i in range(100)], "gregorctl consume --print-key output")

    ctl(ctx, b, "topic", "delete", topic)
    wait_until(lambda: topic not in ctl(ctx, b, "topic", "list")[1].split(), 20,
               f"{topic} to disappear from `topic list`")
    rc, _, _ = ctl(ctx, b, "topic", "create", "bad/name", check_rc=None)
    check(rc != 0, "gregorctl topic create bad/name succeeded")
