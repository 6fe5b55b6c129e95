"""librdkafka consumers with group.protocol=consumer (KIP-848) under member churn, for test_kip848.py.

    python3 kip848_rdkafka.py BOOTSTRAP TOPIC GROUP PLAN_JSON

Run with LD_LIBRARY_PATH naming a librdkafka >= 2.4 (Debian's python3-confluent-kafka loads whichever
librdkafka.so.1 it finds). PLAN_JSON as for js/platformatic_kip848.js: {"partitions": P, "steps": [[at_ms,
"join"|"leave", name], ...], "end_ms": T}. Each member is a thread with its own Consumer; the assignment callbacks
keep one table of owners (partition -> member) under a lock, so a partition handed to a member while another
still holds it is counted as an overlap. Prints one JSON line: {"seen", "overlaps", "overlap_examples",
"unowned_end", "members_end", "settle_ms", "errors", "lost" (partitions lost by a fenced member),
"librdkafka"}."""

import json
import sys
import threading
import time

import confluent_kafka as ck


def main():
    bootstrap, topic, group, plan = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    lock = threading.Lock()
    owners = {}
    state = {"seen": [], "overlaps": 0, "overlap_examples": [], "settle_ms": [], "errors": [], "lost": [],
             "librdkafka": ck.libversion()[0]}
    members = {}
    t0 = time.monotonic()
    pending = [None]

    def covered():
        if pending[0] is not None and len(owners) == plan["partitions"]:
            state["settle_ms"].append(int((time.monotonic() - pending[0]) * 1000))
            pending[0] = None

    def member(name, stop):
        def on_assign(c, parts):
            with lock:
                for tp in parts:
                    other = owners.get(tp.partition)
                    if other is not None and other != name:
                        state["overlaps"] += 1
                        if len(state["overlap_examples"]) < 5:
                            state["overlap_examples"].append(
                                {"t": int((time.monotonic() - t0) * 1000), "partition": tp.partition,
                                 "members": [other, name]})
                    owners[tp.partition] = name
                covered()

        def on_revoke(c, parts):
            with lock:
                for tp in parts:
                    if owners.get(tp.partition) == name:
                        del owners[tp.partition]

        def on_lost(c, parts):
            # Partitions lost, not revoked: the member was fenced (FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID or
            # its session timed out) and rejoins.
            with lock:
                state["lost"].append({"t": int((time.monotonic() - t0) * 1000), "member": name,
                                      "partitions": sorted(tp.partition for tp in parts)})
            on_revoke(c, parts)

        c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.protocol": "consumer",
                         "client.id": f"kip848-{name}", "auto.offset.reset": "earliest",
                         "enable.auto.commit": True, "auto.commit.interval.ms": 200})
        c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
        try:
            while not stop.is_set():
                for m in c.consume(100, 0.1):
                    if m.error():
                        with lock:
                            state["errors"].append(f"{name}: {m.error()}")
                        continue
                    with lock:
                        state["seen"].append([m.partition(), m.offset(), m.value().decode()])
        finally:
            c.close()

    start = time.monotonic()
    for at, action, name in plan["steps"]:
        wait = at / 1000 - (time.monotonic() - start)
        if wait > 0:
            time.sleep(wait)
        with lock:
            if pending[0] is not None:
                state["settle_ms"].append(None)
            pending[0] = time.monotonic()
        if action == "join":
            stop = threading.Event()
            th = threading.Thread(target=member, args=(name, stop))
            th.start()
            members[name] = (th, stop)
        else:
            th, stop = members.pop(name)
            stop.set()
            th.join()
    rest = plan["end_ms"] / 1000 - (time.monotonic() - start)
    if rest > 0:
        time.sleep(rest)
    with lock:
        state["unowned_end"] = [p for p in range(plan["partitions"]) if p not in owners]
        state["members_end"] = len(members)
    for th, stop in members.values():
        stop.set()
    for th, stop in members.values():
        th.join()
    print(json.dumps(state))


if __name__ == "__main__":
    main()
