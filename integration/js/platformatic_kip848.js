// A KIP-848 consumer group (group.protocol "consumer": ConsumerGroupHeartbeat) of @platformatic/kafka
// consumers under member churn, for integration/test_kip848.py.
//
//   node js/platformatic_kip848.js BOOTSTRAP TOPIC GROUP PLAN_JSON
//
// PLAN_JSON: {"partitions": P, "steps": [[at_ms, "join"|"leave", name], ...], "end_ms": T,
//             "instance": bool (static members: groupInstanceId = name)}
// Every consumer reads TOPIC from the earliest offset (or its group's committed offset) with
// autocommit. Every 20 ms the script samples what each member owns (its assignments) and counts:
//   overlaps: samples where a partition is owned by two members at once;
//   unowned_end: partitions nobody owns at the end, once the group settled (last 2 s);
// and it records the first time the group covered every partition after each step.
// Prints {"seen": [[partition, offset, value], ...], "overlaps": n, "overlap_examples": [...],
//         "unowned_end": [...], "settle_ms": [...], "errors": [...]}.
'use strict';
const { Consumer, stringDeserializers } = require('@platformatic/kafka');

const [bootstrap, topic, group, planJson] = process.argv.slice(2);
const plan = JSON.parse(planJson);
const consumers = new Map(); // name -> {consumer, stream}
const state = { seen: [], overlaps: 0, overlap_examples: [], settle_ms: [], errors: [] };
const t0 = Date.now();

function owned(c) {
  const out = [];
  for (const a of c.assignments || []) {
    if (a.topic !== topic) continue;
    for (const p of a.partitions) out.push(p);
  }
  return out;
}

async function join(name) {
  const consumer = new Consumer({
    clientId: `kip848-${name}`,
    bootstrapBrokers: [bootstrap],
    groupId: group,
    groupProtocol: 'consumer',
    groupInstanceId: plan.instance ? name : undefined,
    deserializers: stringDeserializers,
    sessionTimeout: 6000,
    rebalanceTimeout: 6000,
    heartbeatInterval: 500,
    retries: 10,
    retryDelay: 200,
  });
  const entry = { consumer, stream: null };
  consumers.set(name, entry);
  entry.stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest',
    autocommit: 200, maxWaitTime: 300 });
  entry.stream.on('data', (m) => state.seen.push([m.partition, Number(m.offset), m.value]));
  entry.stream.on('error', (e) => state.errors.push(`${name}: ${e}`));
}

async function leave(name) {
  const entry = consumers.get(name);
  consumers.delete(name);
  if (!entry) return;
  await entry.stream.close();
  await entry.consumer.close(true);
}

let pendingSettle = null;
function sample() {
  const owners = new Map();
  for (const [name, { consumer }] of consumers) {
    for (const p of owned(consumer)) {
      if (owners.has(p)) {
        state.overlaps++;
        if (state.overlap_examples.length < 5) {
          state.overlap_examples.push({ t: Date.now() - t0, partition: p, members: [owners.get(p), name] });
        }
      } else {
        owners.set(p, name);
      }
    }
  }
  if (pendingSettle !== null && owners.size === plan.partitions) {
    state.settle_ms.push(Date.now() - pendingSettle);
    pendingSettle = null;
  }
  return owners;
}

async function main() {
  const sampler = setInterval(sample, 20);
  const start = Date.now();
  for (const [at, action, name] of plan.steps) {
    const wait = at - (Date.now() - start);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (pendingSettle !== null) state.settle_ms.push(null);  // never covered before the next step
    pendingSettle = Date.now();
    if (action === 'join') await join(name);
    else await leave(name);
  }
  const rest = plan.end_ms - (Date.now() - start);
  if (rest > 0) await new Promise((r) => setTimeout(r, rest));
  const owners = sample();
  clearInterval(sampler);
  state.unowned_end = [];
  for (let p = 0; p < plan.partitions; p++) if (!owners.has(p)) state.unowned_end.push(p);
  state.members_end = consumers.size;
  for (const name of [...consumers.keys()]) await leave(name);
}

// Exits once the line is flushed: a pipe takes large writes asynchronously, and an immediate
// process.exit() would cut the JSON at 64 KiB.
function finish(code, extra) {
  process.stdout.write(JSON.stringify({ ...state, ...extra }) + '\n', () => process.exit(code));
}

const timer = setTimeout(() => finish(2, { error: 'timeout' }), (plan.end_ms || 30000) + 40000);

main()
  .then(() => {
    clearTimeout(timer);
    finish(0, {});
  })
  .catch((e) => finish(1, { error: String(e && e.stack ? e.stack : e) }));
