"""The admin listing filters of Kafka 3.8/3.9 over the raw protocol (kproto), against one broker with real clients.

- ListGroups v5 (KIP-848, `kafka-consumer-groups.sh --list --type`): a live confluent-kafka consumer's group is
  listed with type "classic"; the types filter matches names case-insensitively, and a filter without "classic"
  ("consumer", or an unknown name) lists nothing, without error, as a ZooKeeper-mode Kafka broker answers.
- ListTransactions v1 (KIP-994, `kafka-transactions.sh list --duration-filter`): a confluent-kafka transactional
  producer's open transaction is listed once it has run longer than the filter, never with a filter longer than
  it has run, and always with -1 (no filter) or v0.
"""

import time

import kproto
from harness import check, create_topic, eq, timeout, unique_topic, wait_until
from test_confluent import ck

ONE_BROKER = {"transaction.state.log.replication.factor": "1", "transaction.state.log.min.isr": "1",
              "transaction.state.log.num.partitions": "4", "offsets.topic.replication.factor": "1",
              "offsets.topic.num.partitions": "4", "group.initial.rebalance.delay.ms": "0"}


@timeout(90)
def test_list_groups_v5_types_filter(ctx):
    b = ctx.start_broker(0, extra=ONE_BROKER)
    topic = unique_topic("lgtype")
    create_topic(b.bootstrap, topic, partitions=2)
    group = unique_topic("lg-group")
    c = ck().Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                       "session.timeout.ms": 10000})
    try:
        c.subscribe([topic])

        def assigned():
            c.poll(0.2)
            return bool(c.assignment())
        wait_until(assigned, 30, "the consumer's assignment")

        with kproto.connect(b.bootstrap) as conn:
            def mine(types, states=()):
                r = kproto.list_groups_v5(conn, states_filter=states, types_filter=types)
                eq(r["error"], 0, f"ListGroups v5 error with types {types}")
                return [g for g in r["groups"] if g[0] == group]

            eq(mine([]), [(group, "consumer", "Stable", "classic")], "ListGroups v5 without filters")
            eq(mine(["classic"]), [(group, "consumer", "Stable", "classic")], "types filter classic")
            eq(mine(["CLASSIC"]), [(group, "consumer", "Stable", "classic")], "types filter CLASSIC")
            eq(mine(["consumer", "Classic"]), [(group, "consumer", "Stable", "classic")],
               "types filter consumer,Classic")
            eq(mine(["classic"], states=["Stable"]), [(group, "consumer", "Stable", "classic")],
               "types classic and states Stable")
            eq(mine(["classic"], states=["Empty"]), [], "types classic and states Empty")
            r = kproto.list_groups_v5(conn, types_filter=["consumer"])
            eq((r["error"], r["groups"]), (0, []), "types filter consumer (no consumer-protocol groups)")
            r = kproto.list_groups_v5(conn, types_filter=["bogus"])
            eq((r["error"], r["groups"]), (0, []), "an unknown type name")
    finally:
        c.close()


@timeout(90)
def test_list_transactions_v1_duration_filter(ctx):
    b = ctx.start_broker(0, extra=ONE_BROKER)
    topic = unique_topic("ltdur")
    create_topic(b.bootstrap, topic, partitions=1)
    tid = unique_topic("lt-tid")
    p = ck().Producer({"bootstrap.servers": b.bootstrap, "transactional.id": tid, "linger.ms": 5, "acks": "all",
                       "transaction.timeout.ms": 120000})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce(topic, value=b"open")
    eq(p.flush(30), 0, "records without a delivery report")
    began = time.time()  # the coordinator's start time is at most this (AddPartitionsToTxn came before the ack)

    with kproto.connect(b.bootstrap) as conn:
        def listed(duration_ms):
            r = kproto.list_transactions_v1(conn, duration_filter_ms=duration_ms)
            eq(r["error"], 0, f"ListTransactions v1 error with DurationFilter {duration_ms}")
            return [s for s in r["states"] if s[0] == tid]

        ((_, pid, state),) = listed(-1)
        eq(state, "Ongoing", "the open transaction's state")
        eq([s for s in kproto.list_transactions_v0(conn)["states"] if s[0] == tid], [(tid, pid, "Ongoing")],
           "ListTransactions v0 (no filter)")
        eq(listed(600000), [], "DurationFilter 10 min: the transaction is younger")
        # Running longer than 1.5 s once that much time has passed (polled, the clock is the broker's).
        wait_until(lambda: listed(1500) == [(tid, pid, "Ongoing")], 20,
                   "the open transaction listed with DurationFilter 1500 ms")
        check(time.time() - began > 1.0, "listed with DurationFilter 1500 ms too early")
        eq(listed(600000), [], "DurationFilter 10 min while open")
        r = kproto.list_transactions_v1(conn, duration_filter_ms=1500, state_filters=["CompleteCommit"])
        eq([s for s in r["states"] if s[0] == tid], [], "DurationFilter with another state")
    p.commit_transaction(30)
