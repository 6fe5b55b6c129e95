#!/bin/sh
# The cost of authentication (`make bench-security`): the same librdkafka client code
# (bin/gregorctl bench produce, acks=1, 100-byte records) against one gregord through its
# PLAINTEXT listener, a SASL_PLAINTEXT listener (SCRAM-SHA-512) and a SASL_SSL listener
# (SCRAM-SHA-512 over TLS), each to its own one-partition topic, and through the
# SASL_PLAINTEXT listener of a second gregord with the ACL authorizer on (the user's WRITE ACL
# among 200 other topics' ACLs and a prefixed one) and the audit log recording every decision
# (audit.log.authorization.allowed=true) and client quotas accounted on every request (set too
# high to throttle). SASL costs only the connection set-up; TLS costs per byte; the authorizer
# one ACL lookup per topic per request, the audit log one line per decision, quotas two rate
# recordings per request. Each listener runs BENCH_ROUNDS times, in turn; the
# table shows each one's fastest round, its ratio to PLAINTEXT, and gregord's CPU time per
# record in that round ((utime+stime) delta from /proc/<pid>/stat).
#   BENCH_ROUNDS (default 3), BENCH_RECORDS (default 1000000)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
gregord="$top/bin/gregord"
ctl="$top/bin/gregorctl"
rounds=${BENCH_ROUNDS:-3}
records=${BENCH_RECORDS:-1000000}
tmp=$(mktemp -d /tmp/gregor-bench-security.XXXXXX)
gregord_pid=""
acl_pid=""
cleanup() {
  [ -n "$gregord_pid" ] && kill "$gregord_pid" 2>/dev/null && wait "$gregord_pid" 2>/dev/null
  [ -n "$acl_pid" ] && kill "$acl_pid" 2>/dev/null && wait "$acl_pid" 2>/dev/null
  sh "$top/zk/zk-server.sh" stop "$tmp/zk" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
die() { echo "bench-security: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
[ -x "$gregord" ] && [ -x "$ctl" ] || die "build first (make programs)"

# TLS material and a SCRAM user (in ZooKeeper, as kafka-configs.sh writes it).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1
cat "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/server.pem"
zk_port=$(free_port)
mkdir -p "$tmp/zk" "$tmp/logs"
sh "$top/zk/zk-server.sh" start "$tmp/zk" "$zk_port" >"$tmp/zk-start.log" 2>&1 ||
  { cat "$tmp/zk-start.log" >&2; die "ZooKeeper did not start"; }
/usr/bin/python3 - "$zk_port" <<'EOF'
import base64, hashlib, hmac, json, os, sys
from kazoo.client import KazooClient
salt = os.urandom(16)
salted = hashlib.pbkdf2_hmac("sha512", b"bench-secret", salt, 4096)
ck = hmac.new(salted, b"Client Key", hashlib.sha512).digest()
cred = "salt=%s,stored_key=%s,server_key=%s,iterations=4096" % (
    base64.b64encode(salt).decode(), base64.b64encode(hashlib.sha512(ck).digest()).decode(),
    base64.b64encode(hmac.new(salted, b"Server Key", hashlib.sha512).digest()).decode())
zk = KazooClient(hosts="127.0.0.1:%s" % sys.argv[1])
zk.start(timeout=15)
user = json.dumps({"version": 1, "config": {"SCRAM-SHA-512": cred}}).encode()
zk.create("/bench-sec/config/users/bench", user, makepath=True)
# The broker with the authorizer: the same user, its WRITE ACL, and other ACLs around it, in
# Kafka's layout (loaded at start-up); client quotas so high that they never throttle, so that
# every request pays for the accounting (producer bytes and request time).
zk.create("/bench-acl/config/users/bench", json.dumps({"version": 1, "config": {
    "SCRAM-SHA-512": cred, "producer_byte_rate": "1000000000000", "request_percentage": "100000.0"}}).encode(),
    makepath=True)
zk.create("/bench-acl/config/clients/<default>",
          json.dumps({"version": 1, "config": {"consumer_byte_rate": "1000000000000"}}).encode(), makepath=True)
def acls(*entries):
    return json.dumps({"version": 1, "acls": [
        {"principal": p, "permissionType": "Allow", "operation": op, "host": "*"} for p, op in entries]}).encode()
zk.create("/bench-acl/kafka-acl/Topic/bench-acl", acls(("User:bench", "Write")), makepath=True)
zk.create("/bench-acl/kafka-acl-extended/prefixed/Topic/bench-", acls(("User:bench", "Describe")), makepath=True)
for i in range(200):
    zk.create("/bench-acl/kafka-acl/Topic/other-%d" % i, acls(("User:u%d" % i, "Read"), ("User:u%d" % i, "Write")),
              makepath=True)
zk.stop()
EOF
p_plain=$(free_port); p_sasl=$(free_port); p_ssl=$(free_port)
"$gregord" --zookeeper.connect="127.0.0.1:$zk_port/bench-sec" --broker.id=0 --log.dirs="$tmp/logs" \
  --listeners="PLAINTEXT://127.0.0.1:$p_plain,SASL_PLAINTEXT://127.0.0.1:$p_sasl,SASL_SSL://127.0.0.1:$p_ssl" \
  --sasl.enabled.mechanisms=SCRAM-SHA-512 --ssl.keystore.location="$tmp/server.pem" \
  >"$tmp/gregord.log" 2>&1 &
gregord_pid=$!
# The second broker: its PLAINTEXT listener (inter-broker, User:ANONYMOUS) is a super user.
p_acl_plain=$(free_port); p_acl=$(free_port)
mkdir -p "$tmp/logs-acl"
"$gregord" --zookeeper.connect="127.0.0.1:$zk_port/bench-acl" --broker.id=0 --log.dirs="$tmp/logs-acl" \
  --listeners="PLAINTEXT://127.0.0.1:$p_acl_plain,SASL_PLAINTEXT://127.0.0.1:$p_acl" \
  --sasl.enabled.mechanisms=SCRAM-SHA-512 \
  --authorizer.class.name=kafka.security.authorizer.AclAuthorizer --super.users=User:ANONYMOUS \
  --audit.log.file="$tmp/audit.log" --audit.log.authorization.allowed=true \
  >"$tmp/gregord-acl.log" 2>&1 &
acl_pid=$!
wait_ready() {  # wait_ready PID PORT LOG
  deadline=$(( $(date +%s) + 30 ))
  until "$ctl" -b "127.0.0.1:$2" -X log_level=0 topic list >/dev/null 2>&1; do
    kill -0 "$1" 2>/dev/null || { tail -20 "$3" >&2; die "gregord exited"; }
    [ "$(date +%s)" -lt "$deadline" ] || die "gregord not answering after 30 s"
    sleep 0.2
  done
}
wait_ready "$gregord_pid" "$p_plain" "$tmp/gregord.log"
wait_ready "$acl_pid" "$p_acl_plain" "$tmp/gregord-acl.log"
for t in plaintext sasl sasl_ssl; do
  "$ctl" -b "127.0.0.1:$p_plain" topic create "bench-$t" --partitions 1 --replication-factor 1 >/dev/null
done
"$ctl" -b "127.0.0.1:$p_acl_plain" topic create bench-acl --partitions 1 --replication-factor 1 >/dev/null
sleep 1

scram="-X sasl.mechanism=SCRAM-SHA-512 -X sasl.username=bench -X sasl.password=bench-secret"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
run() {  # run NAME: one round; prints "records/s cpu_us_per_record"
  case $1 in
    plaintext) args="-b 127.0.0.1:$p_plain" ;;
    sasl) args="-b 127.0.0.1:$p_sasl -X security.protocol=sasl_plaintext $scram" ;;
    sasl_ssl) args="-b 127.0.0.1:$p_ssl -X security.protocol=sasl_ssl -X ssl.ca.location=$tmp/cert.pem $scram" ;;
    acl) args="-b 127.0.0.1:$p_acl -X security.protocol=sasl_plaintext $scram" ;;
  esac
  pid=$gregord_pid
  [ "$1" = acl ] && pid=$acl_pid
  c0=$(cpu_ticks "$pid")
  # shellcheck disable=SC2086
  out=$("$ctl" $args bench produce --topic "bench-$1" --records "$records" --acks 1) ||
    die "bench produce over $1 failed"
  c1=$(cpu_ticks "$pid")
  rate=$(echo "$out" | sed -n 's/.* \([0-9][0-9]*\) records\/s.*/\1/p' | head -1)
  [ -n "$rate" ] || die "no records/s in: $out"
  echo "$rate $(( (c1 - c0) * 1000000 / hz * 1000 / records ))"
}
best_plaintext=0; best_sasl=0; best_sasl_ssl=0; best_acl=0
cpu_plaintext=0; cpu_sasl=0; cpu_sasl_ssl=0; cpu_acl=0
i=1
while [ "$i" -le "$rounds" ]; do
  for l in plaintext sasl sasl_ssl acl; do
    set -- $(run "$l")
    eval "best=\$best_$l"
    if [ "$1" -gt "$best" ]; then eval "best_$l=$1; cpu_$l=$2"; fi
  done
  i=$((i + 1))
done
printf '%-31s %12s %8s %22s\n' "produce acks=1, $records x 100 B" "records/s" "ratio" "gregord ns CPU/record"
for l in plaintext sasl sasl_ssl acl; do
  eval "r=\$best_$l; c=\$cpu_$l"
  case $l in plaintext) name="PLAINTEXT" ;; sasl) name="SASL_PLAINTEXT (SCRAM-512)" ;;
    sasl_ssl) name="SASL_SSL (SCRAM-512)" ;; acl) name="SASL_PLAINTEXT+ACL+audit+quota" ;; esac
  ratio=$(awk -v a="$r" -v b="$best_plaintext" 'BEGIN { printf "%.2f", a / b }')
  printf '%-31s %12s %8s %22s\n' "$name" "$r" "$ratio" "$c"
done
echo "audit log lines (every decision of the last broker): $(cat "$tmp"/audit.log* 2>/dev/null | wc -l)"
