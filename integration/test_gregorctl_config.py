"""gregorctl config describe|alter (DescribeConfigs with synonyms and IncrementalAlterConfigs over gregorctl's
own protocol client, like kafka-configs.sh --bootstrap-server) against real brokers.

Topics: SET, DELETE and APPEND on a topic's overrides, read back by gregorctl (JSON and table) and by an
independent client (kafka-python's KafkaAdminClient.describe_configs); --validate-only and a bad value change
nothing, the bad value is INVALID_CONFIG with exit status 1.

Brokers (two, the tool bootstrapped from broker 0 only, so a --broker 1 request must be routed to broker 1):
the cluster-wide default, a per-broker value that wins over it (synonym order), a static key refused, and log
levels (BROKER_LOGGER)."""

import json

from harness import (GREGORCTL, Failure, check, eq, require_module, timeout, unique_topic, wait_topic_ready,
                     wait_until)

# ConfigSource ids (DescribeConfigsResponse) by the names gregorctl prints.
SOURCE_IDS = {"DYNAMIC_TOPIC_CONFIG": 1, "DYNAMIC_BROKER_CONFIG": 2, "DYNAMIC_DEFAULT_BROKER_CONFIG": 3,
              "STATIC_BROKER_CONFIG": 4, "DEFAULT_CONFIG": 5, "DYNAMIC_BROKER_LOGGER_CONFIG": 6}


def ctl(ctx, b, *args, check_rc=0, t=30):
    if not GREGORCTL.exists():
        raise Failure("bin/gregorctl is not built")
    return ctx.run([GREGORCTL, "-b", b.bootstrap, *args], timeout=t, check_rc=check_rc)


def describe(ctx, b, *entity, all=False):
    """`config describe ENTITY --output json [--all]` -> (resource, {name: config})."""
    _, out, _ = ctl(ctx, b, "config", "describe", *entity, "--output", "json", *(["--all"] if all else []))
    doc = json.loads(out)
    return doc["resource"], {c["name"]: c for c in doc["configs"]}


def kafka_python_topic_configs(bootstrap, topic):
    """kafka-python DescribeConfigs of TOPIC `topic`: {name: (value, config_source)}."""
    require_module("kafka", "python3-kafka")
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        resp = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        admin.close()
    out = {}
    for r in resp:
        check(r.API_VERSION >= 1, f"kafka-python used DescribeConfigs v{r.API_VERSION}, which has no sources")
        for res in r.resources:
            eq(res[0], 0, f"kafka-python DescribeConfigs of topic {topic}: error {res[1]}")
            for entry in res[4]:
                out[entry[0]] = (entry[1], entry[3])  # (value, config_source) at v1+
    return out


@timeout(90)
def test_gregorctl_config_topic(ctx):
    b = ctx.start_broker(0)
    topic = unique_topic("cfg")
    ctl(ctx, b, "topic", "create", topic, "--partitions", "1")
    wait_topic_ready(b.bootstrap, topic, 1)

    resource, shown = describe(ctx, b, "--topic", topic)
    eq(resource, {"type": "topic", "name": topic}, "the resource of `config describe --topic`")
    eq(shown, {}, "a new topic's dynamic configs")
    _, defaults = describe(ctx, b, "--topic", topic, all=True)
    check({"retention.ms", "cleanup.policy"} <= defaults.keys(), f"--all lacks keys: {sorted(defaults)[:40]}")
    check(defaults["retention.ms"]["source"] != "DYNAMIC_TOPIC_CONFIG", f"before: {defaults['retention.ms']}")
    default_retention = defaults["retention.ms"]["value"]
    check(default_retention not in (None, "1234"), f"the default retention.ms: {default_retention}")

    # SET two keys in one request.
    _, out, _ = ctl(ctx, b, "config", "alter", "--topic", topic, "--set", "retention.ms=1234",
                    "--set", "cleanup.policy=compact")
    eq(out, f"Altered config of topic {topic}.\n", "`config alter` output")
    _, shown = describe(ctx, b, "--topic", topic)
    eq({k: (v["value"], v["source"]) for k, v in shown.items()},
       {"retention.ms": ("1234", "DYNAMIC_TOPIC_CONFIG"), "cleanup.policy": ("compact", "DYNAMIC_TOPIC_CONFIG")},
       "dynamic configs after SET")
    eq((shown["retention.ms"]["read_only"], shown["retention.ms"]["sensitive"]), (False, False),
       "retention.ms read_only/sensitive")
    _, table, _ = ctl(ctx, b, "config", "describe", "--topic", topic)
    lines = table.splitlines()
    eq(lines[0].split(), ["NAME", "VALUE", "SOURCE", "READ_ONLY", "SENSITIVE"], "table header")
    eq([line.split() for line in lines[1:]],
       [["cleanup.policy", "compact", "DYNAMIC_TOPIC_CONFIG", "false", "false"],
        ["retention.ms", "1234", "DYNAMIC_TOPIC_CONFIG", "false", "false"]], "table rows")
    _, table, _ = ctl(ctx, b, "config", "describe", "--topic", topic, "--all")
    check(table.splitlines()[0].split()[-1] == "SYNONYMS", f"--all table header: {table.splitlines()[0]}")
    check(any(line.startswith("retention.ms ") and "retention.ms=1234 (DYNAMIC_TOPIC_CONFIG)" in line
              for line in table.splitlines()), f"--all table lacks the retention.ms synonyms: {table[:3000]}")

    # A second, independent client sees the same.
    kp = kafka_python_topic_configs(b.bootstrap, topic)
    eq((kp["retention.ms"], kp["cleanup.policy"]), (("1234", 1), ("compact", 1)),
       "kafka-python DescribeConfigs of retention.ms and cleanup.policy")

    # --validate-only checks and changes nothing.
    _, out, _ = ctl(ctx, b, "config", "alter", "--topic", topic, "--set", "retention.ms=999", "--validate-only")
    eq(out, f"Validated config of topic {topic}.\n", "`config alter --validate-only` output")
    eq(describe(ctx, b, "--topic", topic)[1]["retention.ms"]["value"], "1234", "retention.ms after --validate-only")

    # A bad value: INVALID_CONFIG, exit status 1, nothing changed.
    _, out, err = ctl(ctx, b, "config", "alter", "--topic", topic, "--set", "retention.ms=abc", check_rc=1)
    check(f"topic {topic}: INVALID_CONFIG" in err, f"stderr of a bad value: {err!r}")
    eq(out, "", "stdout of a refused alter")
    _, _, err = ctl(ctx, b, "config", "alter", "--topic", topic, "--set", "retention.ms=abc", "--validate-only",
                     check_rc=1)
    check("INVALID_CONFIG" in err, f"stderr of a bad value with --validate-only: {err!r}")
    eq(describe(ctx, b, "--topic", topic)[1]["retention.ms"]["value"], "1234", "retention.ms after a bad value")

    # APPEND to a list config.
    ctl(ctx, b, "config", "alter", "--topic", topic, "--append", "cleanup.policy=delete")
    eq(describe(ctx, b, "--topic", topic)[1]["cleanup.policy"]["value"], "compact,delete",
       "cleanup.policy after --append delete")

    # DELETE: back to the inherited value, no longer listed as dynamic.
    ctl(ctx, b, "config", "alter", "--topic", topic, "--delete", "retention.ms")
    _, shown = describe(ctx, b, "--topic", topic)
    eq(sorted(shown), ["cleanup.policy"], "dynamic configs after --delete retention.ms")
    _, after = describe(ctx, b, "--topic", topic, all=True)
    eq((after["retention.ms"]["value"], after["retention.ms"]["source"]),
       (default_retention, defaults["retention.ms"]["source"]), "retention.ms after --delete")
    eq(kafka_python_topic_configs(b.bootstrap, topic)["retention.ms"],
       (default_retention, SOURCE_IDS[defaults["retention.ms"]["source"]]),
       "kafka-python's retention.ms after --delete")

    # A topic that does not exist; bad usage.
    _, _, err = ctl(ctx, b, "config", "describe", "--topic", topic + "-nosuch", check_rc=1)
    check("UNKNOWN_TOPIC_OR_PARTITION" in err, f"stderr of an unknown topic: {err!r}")
    _, _, err = ctl(ctx, b, "config", "alter", "--topic", topic, check_rc=2)
    check("nothing to alter" in err and "usage: gregorctl config" in err, f"stderr of nothing to alter: {err!r}")
    ctl(ctx, b, "config", "describe", "--topic", topic, "--broker", "0", check_rc=2)


@timeout(150)
def test_gregorctl_config_brokers(ctx):
    b0, b1 = ctx.start_cluster(2)

    # The cluster-wide default, sent to any broker (the tool knows only broker 0).
    _, out, _ = ctl(ctx, b0, "config", "alter", "--broker-defaults", "--set", "log.retention.ms=3600000")
    eq(out, "Altered config of broker defaults.\n", "`config alter --broker-defaults` output")

    def default_shown():
        resource, shown = describe(ctx, b0, "--broker-defaults")
        eq(resource, {"type": "broker-defaults", "name": None}, "the resource of --broker-defaults")
        e = shown.get("log.retention.ms")
        return e is not None and (e["value"], e["source"]) == ("3600000", "DYNAMIC_DEFAULT_BROKER_CONFIG")
    wait_until(default_shown, 15, "`config describe --broker-defaults` to show log.retention.ms=3600000")
    _, shown = describe(ctx, b0, "--broker-defaults")
    check(all(c["source"] == "DYNAMIC_DEFAULT_BROKER_CONFIG" for c in shown.values()),
          f"--broker-defaults lists only DYNAMIC_DEFAULT_BROKER_CONFIG: {shown}")
    _, table, _ = ctl(ctx, b0, "config", "describe", "--broker-defaults")
    check(any(line.split()[:3] == ["log.retention.ms", "3600000", "DYNAMIC_DEFAULT_BROKER_CONFIG"]
              for line in table.splitlines()), f"--broker-defaults table: {table}")

    # Broker 1 (reached through broker 0's metadata) inherits it; the synonyms say from where.
    def broker1_retention():
        resource, everything = describe(ctx, b0, "--broker", "1", all=True)
        eq(resource, {"type": "broker", "name": "1"}, "the resource of --broker 1")
        return everything["log.retention.ms"]
    wait_until(lambda: broker1_retention()["value"] == "3600000", 15, "broker 1 to take the default retention")
    e = broker1_retention()
    eq(e["source"], "DYNAMIC_DEFAULT_BROKER_CONFIG", "log.retention.ms source on broker 1")
    check(e["synonyms"] and (e["synonyms"][0]["source"], e["synonyms"][0]["value"]) ==
          ("DYNAMIC_DEFAULT_BROKER_CONFIG", "3600000"), f"log.retention.ms synonyms on broker 1: {e['synonyms']}")

    # A per-broker value wins over the default on that broker only.
    _, out, _ = ctl(ctx, b0, "config", "alter", "--broker", "1", "--set", "log.retention.ms=7200000")
    eq(out, "Altered config of broker 1.\n", "`config alter --broker 1` output")
    wait_until(lambda: broker1_retention()["value"] == "7200000", 15, "broker 1 to take its own retention")
    e = broker1_retention()
    eq(e["source"], "DYNAMIC_BROKER_CONFIG", "log.retention.ms source on broker 1 after its own value")
    eq([(s["source"], s["value"]) for s in e["synonyms"][:2]],
       [("DYNAMIC_BROKER_CONFIG", "7200000"), ("DYNAMIC_DEFAULT_BROKER_CONFIG", "3600000")],
       "the first synonyms of log.retention.ms on broker 1")
    _, shown = describe(ctx, b0, "--broker", "1")
    eq((shown["log.retention.ms"]["value"], shown["log.retention.ms"]["source"]),
       ("7200000", "DYNAMIC_BROKER_CONFIG"), "`config describe --broker 1` without --all")
    check(all(c["source"] in ("DYNAMIC_BROKER_CONFIG", "DYNAMIC_DEFAULT_BROKER_CONFIG") for c in shown.values()),
          f"--broker 1 without --all lists only dynamic configs: {shown}")
    eq(describe(ctx, b0, "--broker", "0")[1]["log.retention.ms"]["value"], "3600000",
       "log.retention.ms on broker 0 (the default)")

    # A static key is refused, and changes nothing.
    _, _, err = ctl(ctx, b0, "config", "alter", "--broker", "1", "--set", "num.io.threads=4", check_rc=1)
    check("broker 1: INVALID_CONFIG" in err, f"stderr of a static key: {err!r}")
    _, everything = describe(ctx, b0, "--broker", "1", all=True)
    check(everything["num.io.threads"]["source"] != "DYNAMIC_BROKER_CONFIG",
          f"num.io.threads after a refused change: {everything['num.io.threads']}")

    # Log levels (BROKER_LOGGER, KIP-412), on broker 1 through broker 0's metadata.
    resource, loggers = describe(ctx, b0, "--broker-logger", "1")
    eq(resource, {"type": "broker-logger", "name": "1"}, "the resource of --broker-logger 1")
    check("root" in loggers, f"--broker-logger 1 lacks the root logger: {sorted(loggers)}")
    _, out, _ = ctl(ctx, b0, "config", "alter", "--broker-logger", "1", "--set", "gregor.server=DEBUG")
    eq(out, "Altered config of broker-logger 1.\n", "`config alter --broker-logger 1` output")
    _, loggers = describe(ctx, b0, "--broker-logger", "1")
    check("gregor.server" in loggers, f"--broker-logger 1 after the change: {sorted(loggers)}")
    eq((loggers["gregor.server"]["value"], loggers["gregor.server"]["source"]),
       ("DEBUG", "DYNAMIC_BROKER_LOGGER_CONFIG"), "gregor.server after --set gregor.server=DEBUG")
    _, table, _ = ctl(ctx, b0, "config", "describe", "--broker-logger", "1")
    check(any(line.split()[:2] == ["gregor.server", "DEBUG"] for line in table.splitlines()),
          f"--broker-logger table: {table}")
