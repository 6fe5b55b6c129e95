#!/usr/bin/python3
"""Captures the golden batches of tests/protocol/compression_test.cc: record batches as real
producers compress them, read back from the segment files of a real gregord (which stores batches
as producers send them; only base offset and leader epoch, outside the CRC, are stamped).

Producers: librdkafka (Debian's python3-confluent-kafka) and kafka-python (python3-kafka, with
python3-snappy, python3-lz4 and python3-zstandard for its codecs), each with compression.type
gzip, snappy, lz4 and zstd. Each writes the same 30 records (see record() below, which the test
repeats) in one linger window; the segment file of each topic is saved as <client>-<codec>.log.

Usage, from the top of the tree after `make programs`:
    /usr/bin/python3 tests/protocol/testdata/compression/make_golden.py
It starts its own ZooKeeper (zk/zk-server.sh) and one gregord on free ports in a scratch dir, and
stops both (by pid) when done.
"""

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
OUT = Path(__file__).resolve().parent
CODECS = ["gzip", "snappy", "lz4", "zstd"]
N = 30
BASE_TS = 1700000000000


def record(i):
    """Record i: key, value, headers, timestamp (the test checks exactly these)."""
    key = None if i % 10 == 9 else f"k{i % 7}".encode()
    value = None if i % 11 == 10 else (f"v{i}:" + "gregor compresses " * (i % 4)).encode()
    headers = [("trace", f"t{i}".encode())] if i % 3 == 0 else []
    return key, value, headers, BASE_TS + i


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline_s=30):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def produce_librdkafka(bootstrap, topic, codec):
    import confluent_kafka
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "compression.type": codec,
                                  "linger.ms": 500, "acks": "all"})
    # Metadata first (it creates the topic), so that all N records go in one batch.
    p.list_topics(topic, timeout=30)
    time.sleep(1)
    errors = []
    for i in range(N):
        key, value, headers, ts = record(i)
        p.produce(topic, value=value, key=key, headers=headers or None, timestamp=ts,
                  on_delivery=lambda err, msg: err and errors.append(err))
    if p.flush(30) != 0 or errors:
        raise RuntimeError(f"librdkafka {codec}: {errors}")


def produce_kafka_python(bootstrap, topic, codec):
    import kafka
    p = kafka.KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec, linger_ms=500,
                            batch_size=1 << 20, acks="all", api_version=(2, 5, 0))
    futures = []
    for i in range(N):
        key, value, headers, ts = record(i)
        futures.append(p.send(topic, value=value, key=key, headers=headers, timestamp_ms=ts))
    p.flush(30)
    for f in futures:
        f.get(30)
    p.close()


def main():
    scratch = Path(tempfile.mkdtemp(prefix="gregor-golden-"))
    zk_dir = scratch / "zk"
    zk_port, port = free_port(), free_port()
    broker = None
    try:
        subprocess.run(["bash", str(ROOT / "zk/zk-server.sh"), "start", str(zk_dir), str(zk_port)],
                       check=True, timeout=60)
        log = open(scratch / "gregord.log", "wb")
        broker = subprocess.Popen(
            [str(ROOT / "bin/gregord"), "--broker.id=0",
             f"--listeners=PLAINTEXT://127.0.0.1:{port}",
             f"--zookeeper.connect=127.0.0.1:{zk_port}", f"--log.dirs={scratch}/logs",
             "--offsets.topic.replication.factor=1", "--num.partitions=1",
             "--auto.create.topics.enable=true"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_port(port)
        bootstrap = f"127.0.0.1:{port}"
        for codec in CODECS:
            produce_librdkafka(bootstrap, f"rdk-{codec}", codec)
            produce_kafka_python(bootstrap, f"kp-{codec}", codec)
        for client in ("rdk", "kp"):
            for codec in CODECS:
                seg = scratch / "logs" / f"{client}-{codec}-0" / "00000000000000000000.log"
                data = seg.read_bytes()
                (OUT / f"{client}-{codec}.log").write_bytes(data)
                print(f"{client}-{codec}.log: {len(data)} bytes")
    finally:
        if broker is not None:
            broker.terminate()
            try:
                broker.wait(30)
            except subprocess.TimeoutExpired:
                broker.kill()
                broker.wait()
        subprocess.run(["bash", str(ROOT / "zk/zk-server.sh"), "stop", str(zk_dir)], timeout=60)
    shutil.rmtree(scratch)


if __name__ == "__main__":
    sys.exit(main())
