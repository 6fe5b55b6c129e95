"""Hand-built Kafka wire frames for the integration tests.

Only what the tests need, written from the public message schemas: request header v1/v2, ApiVersions,
Metadata v1, CreateTopics v0, Produce v3, ListOffsets v1, DeleteRecords v0, Fetch v4, DescribeClientQuotas v0,
AlterClientQuotas v0, and RecordBatch v2
(magic 2) with CRC-32C computed here. Encoders return bytes; decoders take the response body (after the
correlation id) and raise ProtocolError when the bytes do not parse.
"""

import gzip
import socket
import struct
import time

# Error codes (clients/src/main/java/org/apache/kafka/common/protocol/Errors.java).
NONE = 0
OFFSET_OUT_OF_RANGE = 1
CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
LEADER_NOT_AVAILABLE = 5
NOT_LEADER_OR_FOLLOWER = 6
MESSAGE_TOO_LARGE = 10
INVALID_TOPIC_EXCEPTION = 17
TOPIC_ALREADY_EXISTS = 36
UNSUPPORTED_VERSION = 35
OFFSET_NOT_AVAILABLE = 78

API_PRODUCE = 0
API_FETCH = 1
API_LIST_OFFSETS = 2
API_METADATA = 3
API_FIND_COORDINATOR = 10
API_API_VERSIONS = 18
API_CREATE_TOPICS = 19
API_DELETE_RECORDS = 21
API_DESCRIBE_CLIENT_QUOTAS = 48
API_ALTER_CLIENT_QUOTAS = 49


class ProtocolError(Exception):
    pass


# ---------------------------------------------------------------- CRC-32C (Castagnoli, reflected 0x82F63B78)
def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the standard check value


# ---------------------------------------------------------------- primitives
def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def kbytes(b):
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def array(items, enc):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(enc(x) for x in items)


def uvarint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(v):  # zig-zag, works for 32 and 64 bit values
    return uvarint((v << 1) ^ (v >> 63))


def compact_string(s):
    b = s.encode()
    return uvarint(len(b) + 1) + b


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError(f"truncated: need {n} bytes at {self.pos}, have {len(self.data) - self.pos}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def bytes(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def array(self, dec):
        n = self.i32()
        if n < 0:
            return None
        if n > len(self.data):
            raise ProtocolError(f"array count {n} larger than the frame")
        return [dec(self) for _ in range(n)]

    def uvarint(self):
        shift = 0
        v = 0
        while True:
            b = self.take(1)[0]
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7
            if shift > 63:
                raise ProtocolError("varint too long")

    def varint(self):
        v = self.uvarint()
        return (v >> 1) ^ -(v & 1)

    def remaining(self):
        return len(self.data) - self.pos


# ---------------------------------------------------------------- framing
def request_header(api_key, api_version, correlation_id, client_id="gregor-it", flexible=False):
    h = i16(api_key) + i16(api_version) + i32(correlation_id) + string(client_id)
    if flexible:
        h += uvarint(0)  # empty tagged fields
    return h


def frame(payload):
    return i32(len(payload)) + payload


class Conn:
    """A blocking socket speaking Kafka framing. recv_frame() returns None when the peer closed."""

    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.corr = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def recv_frame(self):
        """Returns the frame payload, or None on EOF / connection reset."""
        try:
            head = self._recv_exact(4)
            if head is None:
                return None
            (n,) = struct.unpack(">i", head)
            if n < 0 or n > 256 * 1024 * 1024:
                raise ProtocolError(f"bad response length {n}")
            return self._recv_exact(n)
        except (ConnectionResetError, BrokenPipeError):
            return None

    client_id = "gregor-it"

    def request(self, api_key, api_version, body, flexible=False):
        """Sends one request; returns the response body after the correlation id (header v0)."""
        self.corr += 1
        corr = self.corr
        self.send_raw(frame(request_header(api_key, api_version, corr, client_id=self.client_id, flexible=flexible)
                            + body))
        resp = self.recv_frame()
        if resp is None:
            raise ProtocolError(f"connection closed instead of a response to api {api_key} v{api_version}")
        r = Reader(resp)
        got = r.i32()
        if got != corr:
            raise ProtocolError(f"correlation id {got}, expected {corr}")
        return r


def connect(bootstrap, timeout=10.0):
    host, port = bootstrap.rsplit(":", 1)
    return Conn(host, int(port), timeout)


def wait_closed(conn, timeout):
    """True when the peer closes the connection (EOF/reset) within timeout; False if still open."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn.sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = conn.sock.recv(65536)
            if not data:
                return True
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        except OSError:
            return True
    return False


# ---------------------------------------------------------------- APIs
def api_versions_v0(conn):
    r = conn.request(API_API_VERSIONS, 0, b"")
    return decode_api_versions_v0(r)


def decode_api_versions_v0(r):
    err = r.i16()
    apis = r.array(lambda r: (r.i16(), r.i16(), r.i16()))
    return err, {k: (lo, hi) for k, lo, hi in apis or []}


def metadata_v1(conn, topics=None):
    body = array(topics, string) if topics is not None else i32(-1)
    r = conn.request(API_METADATA, 1, body)
    brokers = r.array(lambda r: {"node_id": r.i32(), "host": r.string(), "port": r.i32(), "rack": r.string()})
    controller = r.i32()

    def part(r):
        return {"error": r.i16(), "partition": r.i32(), "leader": r.i32(),
                "replicas": r.array(lambda r: r.i32()), "isr": r.array(lambda r: r.i32())}

    def topic(r):
        return {"error": r.i16(), "name": r.string(), "internal": r.i8() != 0, "partitions": r.array(part)}

    topics_out = r.array(topic)
    return {"brokers": brokers, "controller": controller, "topics": {t["name"]: t for t in topics_out}}


def create_topics_v0(conn, topics, timeout_ms=10000):
    """topics: list of (name, num_partitions, replication_factor, {config: value})."""
    def enc(t):
        name, n, rf, configs = t
        return (string(name) + i32(n) + i16(rf) + i32(0) +
                array(sorted(configs.items()), lambda kv: string(kv[0]) + string(kv[1])))

    r = conn.request(API_CREATE_TOPICS, 0, array(topics, enc) + i32(timeout_ms))
    return {name: err for name, err in r.array(lambda r: (r.string(), r.i16()))}


def record_batch(records, base_offset=0, timestamp_ms=None, compression=0):
    """RecordBatch v2. records: list of (key bytes|None, value bytes|None). compression: 0 none, 1 gzip
    (the records section after the count is compressed, as Kafka does)."""
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    recs = b""
    for i, (k, v) in enumerate(records):
        body = (i8(0) + varint(0) + varint(i) +
                (varint(-1) if k is None else varint(len(k)) + k) +
                (varint(-1) if v is None else varint(len(v)) + v) + varint(0))
        recs += varint(len(body)) + body
    if compression == 1:
        recs = gzip.compress(recs)
    elif compression != 0:
        raise ValueError(f"compression {compression} not implemented here")
    after_crc = (i16(compression) + i32(len(records) - 1) + i64(ts) + i64(ts) + i64(-1) + i16(-1) + i32(-1) +
                 i32(len(records)) + recs)
    crc = crc32c(after_crc)
    # batchLength counts everything after the length field: epoch(4) magic(1) crc(4) + after_crc.
    return i64(base_offset) + i32(4 + 1 + 4 + len(after_crc)) + i32(-1) + i8(2) + struct.pack(">I", crc) + after_crc


def produce_v3(conn, topic, partition, batch, acks=-1, timeout_ms=10000, transactional_id=None):
    """Returns (error_code, base_offset) for the one partition."""
    body = (string(transactional_id) + i16(acks) + i32(timeout_ms) +
            array([topic], lambda t: string(t) + array([partition], lambda p: i32(p) + kbytes(batch))))
    r = conn.request(API_PRODUCE, 3, body)
    resp = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
    for name, parts in resp:
        for idx, err, base, _ in parts:
            if name == topic and idx == partition:
                return err, base
    raise ProtocolError(f"no partition {topic}-{partition} in produce response {resp}")


def list_offsets_v1(conn, topic, partition, timestamp):
    """timestamp -1 = latest, -2 = earliest. Returns (error_code, offset)."""
    body = i32(-1) + array([topic], lambda t: string(t) + array([partition], lambda p: i32(p) + i64(timestamp)))
    r = conn.request(API_LIST_OFFSETS, 1, body)
    resp = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
    for name, parts in resp:
        for idx, err, _, off in parts:
            if name == topic and idx == partition:
                return err, off
    raise ProtocolError(f"no partition {topic}-{partition} in list offsets response {resp}")


def delete_records_v0(conn, topic, partition, offset, timeout_ms=10000):
    """Returns (error_code, low_watermark)."""
    body = array([topic], lambda t: string(t) + array([partition], lambda p: i32(p) + i64(offset))) + i32(timeout_ms)
    r = conn.request(API_DELETE_RECORDS, 0, body)
    r.i32()  # throttle
    resp = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i64(), r.i16()))))
    for name, parts in resp:
        for idx, low, err in parts:
            if name == topic and idx == partition:
                return err, low
    raise ProtocolError(f"no partition {topic}-{partition} in delete records response {resp}")


def fetch_v4(conn, topic, partition, offset, max_wait_ms=0, min_bytes=1, max_bytes=1 << 20):
    """Returns dict(error, high_watermark, records=bytes)."""
    body = (i32(-1) + i32(max_wait_ms) + i32(min_bytes) + i32(max_bytes) + i8(0) +
            array([topic], lambda t: string(t) + array([partition], lambda p: i32(p) + i64(offset) + i32(max_bytes))))
    r = conn.request(API_FETCH, 4, body)
    r.i32()  # throttle

    def part(r):
        d = {"partition": r.i32(), "error": r.i16(), "high_watermark": r.i64(), "last_stable_offset": r.i64()}
        r.array(lambda r: (r.i64(), r.i64()))
        d["records"] = r.bytes() or b""
        return d

    resp = r.array(lambda r: (r.string(), r.array(part)))
    for name, parts in resp:
        for p in parts:
            if name == topic and p["partition"] == partition:
                return p
    raise ProtocolError(f"no partition {topic}-{partition} in fetch response")


def decode_batches(data):
    """Parses RecordBatch v2 bytes (a fetch's records). Returns a list of dicts; records decoded only when the
    batch is uncompressed. A trailing partial batch (allowed in fetch responses) is ignored."""
    out = []
    pos = 0
    while pos + 12 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        if pos + 12 + length > len(data):
            break
        r = Reader(data[pos:pos + 12 + length])
        r.take(12)
        b = {"base_offset": base, "epoch": r.i32(), "magic": r.i8(), "crc": r.u32()}
        crc_data = r.data[r.pos:]
        b["crc_ok"] = crc32c(crc_data) == b["crc"]
        b["attributes"] = r.i16()
        b["last_offset_delta"] = r.i32()
        r.take(8 + 8 + 8 + 2 + 4)
        count = r.i32()
        b["count"] = count
        b["records"] = []
        if b["attributes"] & 7 == 0:
            for _ in range(count):
                r.varint()  # length
                r.i8()
                r.varint()  # ts delta
                od = r.varint()
                kl = r.varint()
                k = None if kl < 0 else r.take(kl)
                vl = r.varint()
                v = None if vl < 0 else r.take(vl)
                for _ in range(r.uvarint()):
                    r.take(r.varint())
                    hl = r.varint()
                    if hl > 0:
                        r.take(hl)
                b["records"].append((base + od, k, v))
        out.append(b)
        pos += 12 + length
    return out



# ---------------------------------------------------------------- transactions (KIP-98, KIP-664)
# Appended for test_transactions.py / test_txn_faults.py: FindCoordinator with a key type, Fetch v4 and
# ListOffsets v2 with an isolation level, the flexible admin views DescribeTransactions (65),
# ListTransactions (66), DescribeProducers (61), and the read_committed filtering a client does with a
# fetch's aborted transactions.
API_DESCRIBE_PRODUCERS = 61
API_DESCRIBE_TRANSACTIONS = 65
API_LIST_TRANSACTIONS = 66

READ_UNCOMMITTED = 0
READ_COMMITTED = 1

ATTR_TRANSACTIONAL = 0x10
ATTR_CONTROL = 0x20
CONTROL_ABORT = 0
CONTROL_COMMIT = 1


def skip_tagged_fields(r):
    for _ in range(r.uvarint()):
        r.uvarint()  # tag
        r.take(r.uvarint())


def read_compact_string(r):
    n = r.uvarint()
    return None if n == 0 else r.take(n - 1).decode()


def read_compact_array(r, dec):
    n = r.uvarint()
    if n == 0:
        return None
    if n - 1 > r.remaining():
        raise ProtocolError(f"compact array count {n - 1} larger than the frame")
    return [dec(r) for _ in range(n - 1)]


def compact_array(items, enc):
    return uvarint(len(items) + 1) + b"".join(enc(x) for x in items)


def flexible_request(conn, api_key, version, body):
    """A request with header v2 and the response's header v1 (tagged fields) skipped; returns the Reader."""
    r = conn.request(api_key, version, body + uvarint(0), flexible=True)
    skip_tagged_fields(r)
    return r


def find_coordinator_v1(conn, key, key_type=0):
    """FindCoordinator v1; key_type 0 = group, 1 = transactional id. Returns (error, node_id, host, port)."""
    r = conn.request(API_FIND_COORDINATOR, 1, string(key) + i8(key_type))
    r.i32()  # throttle
    err = r.i16()
    r.string()  # error message
    return err, r.i32(), r.string(), r.i32()


API_OFFSET_FETCH = 9


def offset_fetch_v1(conn, group, topic, partitions):
    """OffsetFetch v1 (offsets committed to Kafka). Returns {partition: (committed_offset, error)}."""
    r = conn.request(API_OFFSET_FETCH, 1, string(group) + array([topic], lambda t: string(t) + array(
        list(partitions), i32)))

    def part(r):
        d = (r.i32(), r.i64())
        r.string()  # metadata
        return d[0], (d[1], r.i16())

    out = {}
    for name, parts in r.array(lambda r: (r.string(), r.array(part))):
        if name == topic:
            out.update(parts)
    return out


def fetch_v4_isolated(conn, topic, partition, offset, isolation_level, max_wait_ms=0, min_bytes=1,
                      max_bytes=4 << 20):
    """Fetch v4 with an isolation level. Returns dict(error, high_watermark, last_stable_offset,
    aborted_transactions=[(producer_id, first_offset)] or None, records=bytes)."""
    body = (i32(-1) + i32(max_wait_ms) + i32(min_bytes) + i32(max_bytes) + i8(isolation_level) +
            array([topic], lambda t: string(t) + array([partition], lambda p: i32(p) + i64(offset) + i32(max_bytes))))
    r = conn.request(API_FETCH, 4, body)
    r.i32()  # throttle

    def part(r):
        d = {"partition": r.i32(), "error": r.i16(), "high_watermark": r.i64(), "last_stable_offset": r.i64()}
        d["aborted_transactions"] = r.array(lambda r: (r.i64(), r.i64()))
        d["records"] = r.bytes() or b""
        return d

    for name, parts in r.array(lambda r: (r.string(), r.array(part))):
        for p in parts:
            if name == topic and p["partition"] == partition:
                return p
    raise ProtocolError(f"no partition {topic}-{partition} in fetch response")


def list_offsets_v2(conn, topic, partition, timestamp, isolation_level):
    """ListOffsets v2 (with an isolation level): -1 = latest (the high watermark, or the last stable offset
    under read_committed), -2 = earliest. Returns (error_code, offset)."""
    body = (i32(-1) + i8(isolation_level) +
            array([topic], lambda t: string(t) + array([partition], lambda p: i32(p) + i64(timestamp))))
    r = conn.request(API_LIST_OFFSETS, 2, body)
    r.i32()  # throttle
    for name, parts in r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64())))):
        for idx, err, _, off in parts:
            if name == topic and idx == partition:
                return err, off
    raise ProtocolError(f"no partition {topic}-{partition} in list offsets response")


def describe_transactions_v0(conn, transactional_ids):
    """DescribeTransactions v0. Returns a list of dicts (error, transactional_id, state, timeout_ms,
    start_time_ms, producer_id, producer_epoch, topics={topic: [partitions]})."""
    r = flexible_request(conn, API_DESCRIBE_TRANSACTIONS, 0, compact_array(transactional_ids, compact_string))
    r.i32()  # throttle

    def topic(r):
        name = read_compact_string(r)
        parts = read_compact_array(r, lambda r: r.i32())
        skip_tagged_fields(r)
        return name, parts

    def state(r):
        d = {"error": r.i16(), "transactional_id": read_compact_string(r), "state": read_compact_string(r),
             "timeout_ms": r.i32(), "start_time_ms": r.i64(), "producer_id": r.i64(), "producer_epoch": r.i16()}
        d["topics"] = {name: parts for name, parts in (read_compact_array(r, topic) or [])}
        skip_tagged_fields(r)
        return d

    out = read_compact_array(r, state) or []
    skip_tagged_fields(r)
    if r.remaining():
        raise ProtocolError(f"DescribeTransactions v0: {r.remaining()} bytes after the response")
    return out


def list_transactions_v0(conn, state_filters=(), producer_id_filters=()):
    """ListTransactions v0. Returns dict(error, unknown_state_filters, states=[(transactional_id, producer_id,
    state)])."""
    body = compact_array(list(state_filters), compact_string) + compact_array(list(producer_id_filters), i64)
    r = flexible_request(conn, API_LIST_TRANSACTIONS, 0, body)
    r.i32()  # throttle
    err = r.i16()
    unknown = read_compact_array(r, read_compact_string) or []

    def state(r):
        d = (read_compact_string(r), r.i64(), read_compact_string(r))
        skip_tagged_fields(r)
        return d

    states = read_compact_array(r, state) or []
    skip_tagged_fields(r)
    if r.remaining():
        raise ProtocolError(f"ListTransactions v0: {r.remaining()} bytes after the response")
    return {"error": err, "unknown_state_filters": unknown, "states": states}


def list_transactions_v1(conn, duration_filter_ms=-1, state_filters=(), producer_id_filters=()):
    """ListTransactions v1 (KIP-994: DurationFilter, -1 = none). Returns what list_transactions_v0 returns."""
    body = (compact_array(list(state_filters), compact_string) + compact_array(list(producer_id_filters), i64)
            + i64(duration_filter_ms))
    r = flexible_request(conn, API_LIST_TRANSACTIONS, 1, body)
    r.i32()  # throttle
    err = r.i16()
    unknown = read_compact_array(r, read_compact_string) or []

    def state(r):
        d = (read_compact_string(r), r.i64(), read_compact_string(r))
        skip_tagged_fields(r)
        return d

    states = read_compact_array(r, state) or []
    skip_tagged_fields(r)
    if r.remaining():
        raise ProtocolError(f"ListTransactions v1: {r.remaining()} bytes after the response")
    return {"error": err, "unknown_state_filters": unknown, "states": states}


API_LIST_GROUPS = 16


def list_groups_v5(conn, states_filter=(), types_filter=()):
    """ListGroups v5 (KIP-848: TypesFilter, GroupType). Returns dict(error, groups=[(group_id, protocol_type,
    state, type)])."""
    body = compact_array(list(states_filter), compact_string) + compact_array(list(types_filter), compact_string)
    r = flexible_request(conn, API_LIST_GROUPS, 5, body)
    r.i32()  # throttle
    err = r.i16()

    def group(r):
        d = (read_compact_string(r), read_compact_string(r), read_compact_string(r), read_compact_string(r))
        skip_tagged_fields(r)
        return d

    groups = read_compact_array(r, group) or []
    skip_tagged_fields(r)
    if r.remaining():
        raise ProtocolError(f"ListGroups v5: {r.remaining()} bytes after the response")
    return {"error": err, "groups": groups}


API_CONSUMER_GROUP_HEARTBEAT = 68
API_CONSUMER_GROUP_DESCRIBE = 69


def compact_nullable_string(s):
    return uvarint(0) if s is None else compact_string(s)


def consumer_group_heartbeat(conn, group_id, member_id, member_epoch, version=0, instance_id=None,
                             rebalance_timeout_ms=-1, topics=None, regex=None, assignor=None, owned=None):
    """ConsumerGroupHeartbeat v0/v1 (KIP-848). owned: None or [(topic_id bytes, [partitions])]. Returns
    dict(error, message, member_id, member_epoch, interval, assignment=None or [(topic_id, [partitions])])."""
    body = compact_string(group_id) + compact_string(member_id) + i32(member_epoch)
    body += compact_nullable_string(instance_id) + compact_nullable_string(None) + i32(rebalance_timeout_ms)
    body += uvarint(0) if topics is None else compact_array(list(topics), compact_string)
    if version >= 1:
        body += compact_nullable_string(regex)
    body += compact_nullable_string(assignor)
    if owned is None:
        body += uvarint(0)
    else:
        body += compact_array(owned, lambda tp: tp[0] + compact_array(tp[1], i32) + uvarint(0))
    r = flexible_request(conn, API_CONSUMER_GROUP_HEARTBEAT, version, body)
    out = {"throttle": r.i32(), "error": r.i16(), "message": read_compact_string(r),
           "member_id": read_compact_string(r), "member_epoch": r.i32(), "interval": r.i32()}
    out["assignment"] = None
    if r.i8() >= 0:
        def tp(r):
            d = (r.take(16), read_compact_array(r, lambda r: r.i32()) or [])
            skip_tagged_fields(r)
            return d
        out["assignment"] = read_compact_array(r, tp) or []
        skip_tagged_fields(r)
    skip_tagged_fields(r)
    if r.remaining():
        raise ProtocolError(f"ConsumerGroupHeartbeat: {r.remaining()} bytes after the response")
    return out


def consumer_group_describe(conn, group_ids, version=0):
    """ConsumerGroupDescribe v0/v1. Returns [dict(error, message, group_id, state, epoch, assignment_epoch,
    assignor, members=[dict(member_id, epoch, topics, assignment={topic: [partitions]}, target={...})])]."""
    r = flexible_request(conn, API_CONSUMER_GROUP_DESCRIBE, version,
                         compact_array(list(group_ids), compact_string) + i8(0))
    r.i32()

    def assignment(r):
        def tp(r):
            r.take(16)
            name = read_compact_string(r)
            parts = read_compact_array(r, lambda r: r.i32()) or []
            skip_tagged_fields(r)
            return name, parts
        d = dict(read_compact_array(r, tp) or [])
        skip_tagged_fields(r)
        return d

    def member(r):
        m = {"member_id": read_compact_string(r), "instance_id": read_compact_string(r),
             "rack_id": read_compact_string(r), "epoch": r.i32(), "client_id": read_compact_string(r),
             "client_host": read_compact_string(r),
             "topics": read_compact_array(r, read_compact_string) or [], "regex": read_compact_string(r),
             "assignment": assignment(r), "target": assignment(r)}
        if version >= 1:
            m["type"] = r.i8()
        skip_tagged_fields(r)
        return m

    def group(r):
        g = {"error": r.i16(), "message": read_compact_string(r), "group_id": read_compact_string(r),
             "state": read_compact_string(r), "epoch": r.i32(), "assignment_epoch": r.i32(),
             "assignor": read_compact_string(r), "members": read_compact_array(r, member) or []}
        r.i32()  # authorized operations
        skip_tagged_fields(r)
        return g

    groups = read_compact_array(r, group) or []
    skip_tagged_fields(r)
    if r.remaining():
        raise ProtocolError(f"ConsumerGroupDescribe: {r.remaining()} bytes after the response")
    return groups


def describe_producers_v0(conn, topic, partitions):
    """DescribeProducers v0 for one topic. Returns {partition: dict(error, message, producers=[dict(producer_id,
    producer_epoch, last_sequence, last_timestamp, coordinator_epoch, current_txn_start_offset)])}."""
    def enc_topic(t):
        return compact_string(t) + compact_array(list(partitions), i32) + uvarint(0)

    r = flexible_request(conn, API_DESCRIBE_PRODUCERS, 0, compact_array([topic], enc_topic))
    r.i32()  # throttle

    def producer(r):
        d = {"producer_id": r.i64(), "producer_epoch": r.i32(), "last_sequence": r.i32(),
             "last_timestamp": r.i64(), "coordinator_epoch": r.i32(), "current_txn_start_offset": r.i64()}
        skip_tagged_fields(r)
        return d

    def part(r):
        d = {"partition": r.i32(), "error": r.i16(), "message": read_compact_string(r)}
        d["producers"] = read_compact_array(r, producer) or []
        skip_tagged_fields(r)
        return d

    def tp(r):
        name = read_compact_string(r)
        parts = read_compact_array(r, part) or []
        skip_tagged_fields(r)
        return name, parts

    out = {}
    for name, parts in read_compact_array(r, tp) or []:
        if name == topic:
            out.update({p["partition"]: p for p in parts})
    skip_tagged_fields(r)
    if r.remaining():
        raise ProtocolError(f"DescribeProducers v0: {r.remaining()} bytes after the response")
    return out


_TXN_HEADER = struct.Struct(">qiibIhiqqqhii")  # base offset .. record count: 61 bytes


def decode_batches_txn(data):
    """RecordBatch v2 bytes (a fetch's records) with the producer fields and the control/transactional flags.
    Each dict: base_offset, last_offset, attributes, transactional, control, producer_id, producer_epoch,
    records=[(offset, key, value)] (uncompressed batches only; None otherwise), control_type (0 abort, 1 commit,
    for a control batch). A trailing partial batch is ignored."""
    out = []
    pos = 0
    while pos + 12 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        if pos + 12 + length > len(data) or length < _TXN_HEADER.size - 12:
            break
        (_, _, _, _, _, attrs, last_delta, _, _, pid, ep, _, _) = _TXN_HEADER.unpack_from(data, pos)
        dec = decode_batches(data[pos:pos + 12 + length])
        b = {"base_offset": base, "last_offset": base + last_delta, "attributes": attrs,
             "transactional": bool(attrs & ATTR_TRANSACTIONAL), "control": bool(attrs & ATTR_CONTROL),
             "producer_id": pid, "producer_epoch": ep,
             "records": dec[0]["records"] if dec and attrs & 7 == 0 else None, "control_type": None}
        if b["control"] and b["records"]:
            key = b["records"][0][1] or b""
            if len(key) >= 4:
                b["control_type"] = struct.unpack(">hh", key[:4])[1]
        out.append(b)
        pos += 12 + length
    return out


def read_committed_view(batches, aborted_transactions):
    """What a read_committed client delivers from fetched batches (KIP-98, as the Java consumer's
    CompletedFetch does): control batches are never delivered; a transactional batch of a producer with an
    aborted transaction whose first offset is <= the batch's last offset is skipped until that producer's
    ABORT marker. Returns [(offset, key, value)]."""
    pending = sorted(aborted_transactions or [], key=lambda x: x[1])
    aborting = set()
    out = []
    i = 0
    for b in batches:
        while i < len(pending) and pending[i][1] <= b["last_offset"]:
            aborting.add(pending[i][0])
            i += 1
        if b["control"]:
            if b["control_type"] == CONTROL_ABORT:
                aborting.discard(b["producer_id"])
            continue
        if b["transactional"] and b["producer_id"] in aborting:
            continue
        out.extend(b["records"] or [])
    return out


# ---------------------------------------------------------------- the partition side of transactions
# Appended for test_txn_partition.py: InitProducerId v0, transactional RecordBatch v2 (attribute 0x10, producer
# id/epoch/sequence), and WriteTxnMarkers v0/v1 as a transaction coordinator sends it to partition leaders.
API_INIT_PRODUCER_ID = 22
API_WRITE_TXN_MARKERS = 27
INVALID_PRODUCER_EPOCH = 47
TRANSACTION_COORDINATOR_FENCED = 52


def init_producer_id_v0(conn, transactional_id=None, timeout_ms=60000):
    """InitProducerId v0. Returns (error_code, producer_id, producer_epoch)."""
    r = conn.request(API_INIT_PRODUCER_ID, 0, string(transactional_id) + i32(timeout_ms))
    r.i32()  # throttle
    return r.i16(), r.i64(), r.i16()


def transactional_batch(records, producer_id, epoch, base_sequence, timestamp_ms=None, transactional=True):
    """RecordBatch v2 (uncompressed) of a producer: producerId/producerEpoch/baseSequence set, and the
    transactional attribute (0x10) unless transactional=False. records: list of (key|None, value|None)."""
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    recs = b""
    for i, (k, v) in enumerate(records):
        body = (i8(0) + varint(0) + varint(i) +
                (varint(-1) if k is None else varint(len(k)) + k) +
                (varint(-1) if v is None else varint(len(v)) + v) + varint(0))
        recs += varint(len(body)) + body
    attributes = ATTR_TRANSACTIONAL if transactional else 0
    after_crc = (i16(attributes) + i32(len(records) - 1) + i64(ts) + i64(ts) + i64(producer_id) + i16(epoch) +
                 i32(base_sequence) + i32(len(records)) + recs)
    crc = crc32c(after_crc)
    return i64(0) + i32(4 + 1 + 4 + len(after_crc)) + i32(-1) + i8(2) + struct.pack(">I", crc) + after_crc


def write_txn_markers(conn, markers, version=1, raw=False):
    """WriteTxnMarkers v0 or v1 (v1 flexible). markers: list of dicts with producer_id, producer_epoch, commit
    (bool), coordinator_epoch and topics={topic: [partitions]}. Returns {producer_id: {(topic, partition):
    error_code}}, or with raw=True the response's entries as they come: [(producer_id, {(topic, partition):
    error_code})]."""
    flexible = version >= 1

    def enc_topic(item):
        name, parts = item
        if flexible:
            return compact_string(name) + compact_array(list(parts), i32) + uvarint(0)
        return string(name) + array(list(parts), i32)

    def enc_marker(m):
        topics = sorted(m["topics"].items())
        body = i64(m["producer_id"]) + i16(m["producer_epoch"]) + i8(1 if m["commit"] else 0)
        body += compact_array(topics, enc_topic) if flexible else array(topics, enc_topic)
        body += i32(m["coordinator_epoch"])
        return body + (uvarint(0) if flexible else b"")

    def dec_partition(r):
        d = (r.i32(), r.i16())
        if flexible:
            skip_tagged_fields(r)
        return d

    def dec_topic(r):
        if flexible:
            name = read_compact_string(r)
            parts = read_compact_array(r, dec_partition) or []
            skip_tagged_fields(r)
        else:
            name = r.string()
            parts = r.array(dec_partition) or []
        return name, parts

    def dec_marker(r):
        pid = r.i64()
        topics = (read_compact_array(r, dec_topic) if flexible else r.array(dec_topic)) or []
        if flexible:
            skip_tagged_fields(r)
        return pid, {(name, p): err for name, parts in topics for p, err in parts}

    if flexible:
        r = flexible_request(conn, API_WRITE_TXN_MARKERS, version, compact_array(markers, enc_marker))
        out = read_compact_array(r, dec_marker) or []
        skip_tagged_fields(r)
    else:
        r = conn.request(API_WRITE_TXN_MARKERS, version, array(markers, enc_marker))
        out = r.array(dec_marker) or []
    if r.remaining():
        raise ProtocolError(f"WriteTxnMarkers v{version}: {r.remaining()} bytes after the response")
    return list(out) if raw else dict(out)


# ---------------------------------------------------------------- client quotas (KIP-546)
def _nullable_string(s):
    return i16(-1) if s is None else string(s)


def _nullable_string_r(r):
    n = r.i16()
    return None if n < 0 else r.take(n).decode()


def alter_client_quotas_v0(conn, entries, validate_only=False):
    """entries: [({"user": "alice" or None (default), "client-id": ...}, {"producer_byte_rate": 1024.0 or None
    (remove)})]. Returns (throttle_ms, [(error_code, error_message, {entity})])."""
    def entry(e):
        entity, ops = e
        body = array(list(entity.items()), lambda kv: string(kv[0]) + _nullable_string(kv[1]))
        return body + array(list(ops.items()), lambda kv: string(kv[0]) + struct.pack(">d", kv[1] or 0.0)
                            + i8(1 if kv[1] is None else 0))
    r = conn.request(API_ALTER_CLIENT_QUOTAS, 0, array(entries, entry) + i8(1 if validate_only else 0))
    throttle = r.i32()

    def result(r):
        code = r.i16()
        msg = _nullable_string_r(r)
        ent = dict(r.array(lambda r: (r.string(), _nullable_string_r(r))))
        return code, msg, ent
    return throttle, r.array(result)


def describe_client_quotas_v0(conn, components, strict=False):
    """components: [(entity_type, match_type, match)]. Returns (throttle_ms, error_code, error_message,
    entries or None) with entries [({entity_type: name or None}, {key: value})]."""
    body = array(components, lambda c: string(c[0]) + i8(c[1]) + _nullable_string(c[2])) + i8(1 if strict else 0)
    r = conn.request(API_DESCRIBE_CLIENT_QUOTAS, 0, body)
    throttle = r.i32()
    code = r.i16()
    msg = _nullable_string_r(r)
    n = r.i32()
    entries = None
    if n >= 0:
        entries = []
        for _ in range(n):
            ent = dict(r.array(lambda r: (r.string(), _nullable_string_r(r))))
            vals = dict(r.array(lambda r: (r.string(), struct.unpack(">d", r.take(8))[0])))
            entries.append((ent, vals))
    return throttle, code, msg, entries
