// @platformatic/kafka 1.x against gregor, for integration/test_platformatic_kafka.py.
//
//   node js/platformatic_client.js BOOTSTRAP TOPIC produce N PREFIX PARTITIONS
//     sends N records (key k<i>, value PREFIX<i>, partition i % PARTITIONS), acks=-1, in batches;
//     prints {"offsets": [[partition, offset, value], ...]} (the offset of every acknowledged record).
//   node js/platformatic_client.js BOOTSTRAP TOPIC consume N GROUP
//     joins GROUP, reads from the earliest offset until N records arrived, commits the next offset
//     of each partition read, leaves;
//     prints {"seen": [[partition, offset, value], ...]} in the order the stream delivered them.
// On an error or after 40 s: {"error": "...", ...what was done} and a non-zero exit.
'use strict';
const { Consumer, Producer, ProduceAcks, stringDeserializers, stringSerializers } = require('@platformatic/kafka');

const [bootstrap, topic, mode, n, arg, partitions] = process.argv.slice(2);
const count = Number(n);
const common = { clientId: 'gregor-it', bootstrapBrokers: [bootstrap], retries: 5, retryDelay: 200 };
const state = {};

function finish(code, extra) {
  console.log(JSON.stringify({ ...state, ...extra }));
  process.exit(code);
}

const timer = setTimeout(() => finish(2, { error: 'timeout' }), 40000);

async function produce() {
  const producer = new Producer({ ...common, serializers: stringSerializers, acks: ProduceAcks.ALL });
  state.offsets = [];
  const nparts = Number(partitions);
  for (let start = 0; start < count; start += 50) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + 50); i++) {
      messages.push({ topic, key: `k${i}`, value: `${arg}${i}`, partition: i % nparts });
    }
    const res = await producer.send({ messages });
    // One offset per partition of the batch: the base offset of what this send appended there.
    for (const o of res.offsets || []) {
      const sent = messages.filter((m) => m.partition === o.partition);
      sent.forEach((m, j) => state.offsets.push([o.partition, Number(o.offset) + j, m.value]));
    }
  }
  await producer.close();
}

async function consume() {
  const consumer = new Consumer({
    ...common,
    groupId: arg,
    deserializers: stringDeserializers,
    sessionTimeout: 10000,
    rebalanceTimeout: 10000,
    heartbeatInterval: 1000,
  });
  state.seen = [];
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 500 });
  await new Promise((resolve, reject) => {
    stream.on('error', reject);
    stream.on('data', (m) => {
      state.seen.push([m.partition, Number(m.offset), m.value]);
      if (state.seen.length >= count) resolve();
    });
  });
  stream.pause();
  const last = new Map();
  for (const [p, o] of state.seen) last.set(p, Math.max(last.get(p) ?? -1, o));
  await consumer.commit({
    offsets: [...last].map(([partition, offset]) => ({ topic, partition, offset: BigInt(offset + 1), leaderEpoch: -1 })),
  });
  await stream.close();
  await consumer.close(true);
}

(mode === 'produce' ? produce() : consume())
  .then(() => {
    clearTimeout(timer);
    finish(0, {});
  })
  .catch((e) => finish(1, { error: String(e && e.stack ? e.stack : e) + (e && e.errors ? ` ${JSON.stringify(e.errors.map(String))}` : '') }));
