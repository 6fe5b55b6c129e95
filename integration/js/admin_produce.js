// kafkajs 2.2.4 against gregor: admin + producer (kafkajs consumers need consumer groups, which gregor does
// not have yet). Usage: node admin_produce.js <bootstrap> <topic> <create|delete>
// Prints one JSON line with what it observed; exits non-zero on any error.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [bootstrap, topic, mode] = process.argv.slice(2);
  const kafka = new Kafka({
    clientId: 'gregor-it', brokers: [bootstrap], logLevel: logLevel.ERROR,
    retry: { retries: 5, initialRetryTime: 100 }, connectionTimeout: 5000, requestTimeout: 10000,
  });
  const admin = kafka.admin();
  await admin.connect();
  const out = {};
  try {
    if (mode === 'create') {
      out.created = await admin.createTopics({
        topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true, timeout: 10000,
      });
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      out.metadata = md.topics.map((t) => ({
        name: t.name, partitions: t.partitions.map((p) => ({ id: p.partitionId, leader: p.leader })),
      }));
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      const messages = [];
      for (let i = 0; i < 100; i++) messages.push({ key: `k${i}`, value: `kafkajs ${i}`, partition: i % 2 });
      const res = await producer.send({ topic, acks: -1, messages });
      out.send = res.map((r) => ({ partition: r.partition, errorCode: r.errorCode, baseOffset: r.baseOffset }));
      await producer.disconnect();
      out.offsets = await admin.fetchTopicOffsets(topic);
      out.topics = await admin.listTopics();
    } else if (mode === 'delete') {
      await admin.deleteTopics({ topics: [topic], timeout: 10000 });
      out.deleted = true;
    } else {
      throw new Error(`unknown mode ${mode}`);
    }
  } finally {
    await admin.disconnect();
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(`kafkajs error: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
