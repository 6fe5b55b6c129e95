#!/usr/bin/python3
"""Rebalance time of the classic and the KIP-848 consumer protocols (`make bench-groups`).

Starts a ZooKeeper and one gregord (Kafka's group defaults, but group.initial.rebalance.delay.ms=0 so that the
classic protocol is not charged its 3 s start delay), a topic with 2 partitions per member, and for 3 and 50
members, with the same librdkafka, in three protocols:
  classic/range            eager JoinGroup/SyncGroup: every member stops during a rebalance
  classic/cooperative      cooperative-sticky (KIP-429): two rounds, only moved partitions stop
  consumer                 group.protocol=consumer (KIP-848): server-side assignment, no group-wide barrier
it measures three events:
  start   all members subscribe at once: time until every partition is owned
  join    one member joins a settled group: time until every partition is owned again and the newcomer
          owns its share
  leave   one member leaves (close): time until every partition is owned again
and for join and leave the partition-seconds without an owner (the consumption that stopped), sampled every
10 ms from the assignment callbacks of all members (one process, one table).
The consumer protocol needs librdkafka >= 2.4: BENCH_LIBRDKAFKA=DIR (its librdkafka.so.1) runs every row with it;
without it the consumer rows are skipped and the classic rows use Debian's librdkafka.
Environment: BENCH_MEMBERS ("3 50"), BENCH_KEEP=1 (keep the temp dir).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "integration"))

if os.environ.get("BENCH_LIBRDKAFKA") and os.environ.get("LD_LIBRARY_PATH") != os.environ["BENCH_LIBRDKAFKA"]:
    os.environ["LD_LIBRARY_PATH"] = os.environ["BENCH_LIBRDKAFKA"]
    os.execv(sys.executable, [sys.executable] + sys.argv)

import confluent_kafka as ck  # noqa: E402
import confluent_kafka.admin  # noqa: E402,F401
from harness import ZooKeeper, free_port  # noqa: E402


class Group:
    """Members of one group in threads, with one owners table fed by their assignment callbacks."""

    def __init__(self, bootstrap, topic, group, conf):
        self.bootstrap, self.topic, self.group, self.conf = bootstrap, topic, group, conf
        self.lock = threading.Lock()
        self.owners = {}  # partition -> member
        self.members = {}

    def add(self, name):
        stop = threading.Event()
        ready = threading.Event()

        def run():
            def on_assign(c, parts):
                with self.lock:
                    for tp in parts:
                        self.owners[tp.partition] = name

            def on_revoke(c, parts):
                with self.lock:
                    for tp in parts:
                        if self.owners.get(tp.partition) == name:
                            del self.owners[tp.partition]

            conf = {"bootstrap.servers": self.bootstrap, "group.id": self.group, "client.id": name,
                    "enable.auto.commit": False, "auto.offset.reset": "earliest"}
            conf.update(self.conf)
            c = ck.Consumer(conf)
            c.subscribe([self.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
            ready.set()
            try:
                while not stop.is_set():
                    c.consume(100, 0.05)
            finally:
                c.close()

        th = threading.Thread(target=run, daemon=True)
        th.start()
        ready.wait()
        self.members[name] = (th, stop)

    def remove(self, name):
        th, stop = self.members.pop(name)
        stop.set()
        th.join()

    def wait_covered(self, partitions, start, timeout=120, also=lambda owners: True):
        """Seconds from start until every partition is owned (and `also` holds), and the partition-seconds
        without an owner meanwhile."""
        unowned = 0.0
        last = time.monotonic()
        while True:
            now = time.monotonic()
            with self.lock:
                owned = dict(self.owners)
            unowned += (partitions - len(owned)) * (now - last)
            last = now
            if len(owned) == partitions and also(owned):
                return now - start, unowned
            if now - start > timeout:
                return None, unowned
            time.sleep(0.01)

    def close(self):
        for name in list(self.members):
            self.remove(name)


def main():
    members_list = [int(x) for x in os.environ.get("BENCH_MEMBERS", "3 50").split()]
    new_client = bool(os.environ.get("BENCH_LIBRDKAFKA"))
    tmp = tempfile.mkdtemp(prefix="gregor-bench-groups.")
    zk = ZooKeeper(os.path.join(tmp, "zk"), free_port())
    zk.start()
    port = free_port()
    log = open(os.path.join(tmp, "gregord.log"), "w")
    broker = subprocess.Popen([os.path.join(TOP, "bin", "gregord"), "--broker.id=0",
                               f"--listeners=PLAINTEXT://127.0.0.1:{port}",
                               f"--zookeeper.connect=127.0.0.1:{zk.port}/bench",
                               f"--log.dirs={tmp}/data", "--offsets.topic.replication.factor=1",
                               "--group.initial.rebalance.delay.ms=0"], stdout=log, stderr=log)
    bootstrap = f"127.0.0.1:{port}"
    try:
        admin = ck.admin.AdminClient({"bootstrap.servers": bootstrap})
        print(f"librdkafka {ck.libversion()[0]}; gregord with Kafka's group defaults (heartbeats: classic 3 s "
              f"client-side, consumer protocol 5 s from the broker)")
        print(f"{'members':>7} {'protocol':<20} {'start s':>8} {'join s':>8} {'join p*s':>9} "
              f"{'leave s':>8} {'leave p*s':>9}")
        protocols = [("classic/range", {"partition.assignment.strategy": "range"}),
                     ("classic/cooperative", {"partition.assignment.strategy": "cooperative-sticky"})]
        if new_client:
            protocols.append(("consumer", {"group.protocol": "consumer"}))
        # __consumer_offsets is created and loaded before the first row: a consumer-protocol group
        # formed within two heartbeat intervals (10 s) of a load waits out that window.
        warm = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-warmup"})
        warm.list_topics(timeout=30)
        try:
            warm.committed([ck.TopicPartition("bench-warmup", 0)], timeout=30)
        except ck.KafkaException:
            pass
        warm.close()
        time.sleep(11)
        for n in members_list:
            partitions = 2 * n
            topic = f"bench-groups-{n}"
            for f in admin.create_topics([ck.admin.NewTopic(topic, partitions, 1)]).values():
                f.result(30)
            time.sleep(1)
            for label, conf in protocols:
                g = Group(bootstrap, topic, f"bench-{label.replace('/', '-')}-{n}", conf)
                t0 = time.monotonic()
                for i in range(n):
                    g.add(f"m{i}")
                start_s, _ = g.wait_covered(partitions, t0)
                time.sleep(2)
                t1 = time.monotonic()
                g.add("newcomer")
                join_s, join_ps = g.wait_covered(partitions, t1,
                                                 also=lambda owned: "newcomer" in owned.values())
                time.sleep(2)
                t2 = time.monotonic()
                g.remove("m0")
                leave_s, leave_ps = g.wait_covered(partitions, t2)
                g.close()

                def fmt(v, w):
                    return f"{v:>{w}.2f}" if v is not None else f"{'timeout':>{w}}"
                print(f"{n:>7} {label:<20} {fmt(start_s, 8)} {fmt(join_s, 8)} {fmt(join_ps, 9)} "
                      f"{fmt(leave_s, 8)} {fmt(leave_ps, 9)}", flush=True)
        if not new_client:
            print("consumer protocol rows skipped: set BENCH_LIBRDKAFKA to the directory of a librdkafka >= 2.4")
    finally:
        broker.terminate()
        broker.wait()
        zk.stop()
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
