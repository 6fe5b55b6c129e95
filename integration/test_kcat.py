"""kcat (librdkafka 2.0.2): metadata, keyed produce, consume back."""

import json
import shutil

from harness import Failure, check, create_topic, eq, timeout, unique_topic


def kcat(ctx, bootstrap, *args, input=None, t=30, check_rc=0):
    if not shutil.which("kcat"):
        raise Failure("kcat not installed (Debian package kcat)")
    return ctx.run(["kcat", "-b", bootstrap, *args], input=input, timeout=t, check_rc=check_rc)


def consume_all(ctx, bootstrap, topic, fmt, extra=()):
    _, out, _ = kcat(ctx, bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", fmt, *extra)
    return out


@timeout(60)
def test_metadata_produce_consume_keyed(ctx):
    b = ctx.start_broker(0)
    topic = unique_topic("kcat")
    create_topic(b.bootstrap, topic, partitions=1)

    _, out, _ = kcat(ctx, b.bootstrap, "-L", "-J", "-t", topic)
    md = json.loads(out)
    eq([br["id"] for br in md["brokers"]], [0], "kcat -L brokers")
    eq(md["brokers"][0]["name"], b.bootstrap, "kcat -L broker address")
    topics = {t["topic"]: t for t in md["topics"]}
    check(topic in topics, f"{topic} not in kcat -L: {list(topics)}")
    check("error" not in topics[topic], f"topic error in kcat -L: {topics[topic]}")
    parts = topics[topic]["partitions"]
    eq(len(parts), 1, "partition count")
    eq(parts[0]["leader"], 0, "partition leader")

    lines = [f"key-{i}:value {i} " + "x" * (i % 50) for i in range(1000)]
    kcat(ctx, b.bootstrap, "-P", "-t", topic, "-K:", "-X", "acks=all", input="\n".join(lines) + "\n")

    out = consume_all(ctx, b.bootstrap, topic, "%o|%k|%s\n")
    got = out.splitlines()
    eq(len(got), 1000, "records consumed")
    for i, line in enumerate(got):
        eq(line, f"{i}|key-{i}|value {i} " + "x" * (i % 50), f"record {i}")


@timeout(60)
def test_api_version_request_explicit(ctx):
    b = ctx.start_broker(0)
    topic = unique_topic("kcatav")
    create_topic(b.bootstrap, topic, partitions=2)
    av = ("-X", "api.version.request=true")
    _, out, _ = kcat(ctx, b.bootstrap, "-L", "-J", *av)
    md = json.loads(out)
    check(topic in [t["topic"] for t in md["topics"]], f"{topic} missing from kcat -L (all topics)")
    lines = [f"v{i}" for i in range(200)]
    kcat(ctx, b.bootstrap, "-P", "-t", topic, "-p", "1", *av, input="\n".join(lines) + "\n")
    out = consume_all(ctx, b.bootstrap, topic, "%p %s\n", extra=av)
    eq(out.splitlines(), [f"1 v{i}" for i in range(200)], "records read back from partition 1")
