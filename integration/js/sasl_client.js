// kafkajs over SASL_PLAINTEXT: authenticates with the given mechanism (plain, scram-sha-256,
// scram-sha-512), produces 100 records with acks -1 and reads the topic's offsets back.
// Usage: node sasl_client.js <bootstrap> <topic> <mechanism> <username> <password>
// Prints one JSON line: {"ok": true, "offsets": [...]} or {"ok": false, "error": "...", "type": "..."}.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [bootstrap, topic, mechanism, username, password] = process.argv.slice(2);
  const kafka = new Kafka({
    clientId: 'gregor-it-sasl', brokers: [bootstrap], logLevel: logLevel.NOTHING,
    sasl: { mechanism, username, password },
    retry: { retries: 2, initialRetryTime: 100 }, connectionTimeout: 5000, requestTimeout: 10000,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const admin = kafka.admin();
  try {
    await producer.connect();
    const messages = [];
    for (let i = 0; i < 100; i++) messages.push({ value: `kafkajs ${mechanism} ${i}`, partition: 0 });
    await producer.send({ topic, acks: -1, messages });
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    console.log(JSON.stringify({ ok: true, offsets }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, type: e && e.name, error: String(e && e.message) }));
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

main();
