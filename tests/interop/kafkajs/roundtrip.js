// kafkajs (a pure JavaScript Kafka client with its own protocol code) against
// `strata serve --kafka-listen`, with the client's default settings. Run by
// tests/interop/test_kafka_clients.py, which checks what this prints:
//
//   node roundtrip.js BOOTSTRAP TOPIC COUNT
//
// 1. admin.createTopics makes TOPIC with 3 partitions and retention.ms=3600000, and
//    admin.describeConfigs reads the topic's configs back;
// 2. two consumers join one group and wait until the group has settled with both in it;
// 3. a producer with default settings (acks all) sends the first half of COUNT keyed records
//    in batches, an idempotent producer the second half in gzip-compressed batches;
// 4. both consumers read until COUNT records have arrived between them;
// 5. consumer b leaves, the group rebalances onto a, 300 more records are produced, and a reads
//    until they have arrived, and a second more.
//
// Prints one JSON document: {created, described, produced, read, members (the split of step 2),
// rebalanced (a's partitions after b left)}. Exits non-zero on
// any error, with the error on stderr.
'use strict';

const { Kafka, logLevel, ConfigResourceTypes, CompressionTypes } = require('kafkajs');

const [bootstrap, topic, countArg] = process.argv.slice(2);
const count = Number(countArg);
const deadline = Date.now() + 90_000;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(what, test) {
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

async function main() {
  const kafka = new Kafka({ clientId: 'strata-interop', brokers: [bootstrap], logLevel: logLevel.WARN });

  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
  });
  const describedAll = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
  });
  const described = {};
  for (const resource of describedAll.resources) {
    if (resource.errorCode !== 0) throw new Error(`describeConfigs: ${resource.errorMessage}`);
    for (const entry of resource.configEntries) {
      described[entry.configName] = { value: entry.configValue, isDefault: entry.isDefault };
    }
  }
  await admin.disconnect();

  const read = [];
  const assigned = {};
  const consumers = ['a', 'b'].map((name) => {
    const consumer = kafka.consumer({ groupId: `${topic}-group` });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      assigned[name] = (e.payload.memberAssignment[topic] || []).slice().sort();
    });
    return { name, consumer };
  });
  for (const { name, consumer } of consumers) {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        read.push([partition, Number(message.offset), message.key.toString(), message.value.toString(), name]);
      },
    });
  }
  // Both members are in the group and the partitions are split between them.
  await until('both consumers have partitions', () => {
    const a = assigned.a || [];
    const b = assigned.b || [];
    return a.length > 0 && b.length > 0 && a.length + b.length === 3;
  });

  // The first half with the default producer, the second with an idempotent one sending
  // gzip-compressed batches.
  const produced = [];
  for (let i = 0; i < count; i++) produced.push([`js${i % 11}`, `kafkajs-${String(i).padStart(5, '0')}`]);
  const half = Math.floor(count / 2);
  const plain = kafka.producer();
  const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  for (const [producer, from, to, compression] of [
    [plain, 0, half, CompressionTypes.None],
    [idempotent, half, count, CompressionTypes.GZIP],
  ]) {
    await producer.connect();
    for (let start = from; start < to; start += 500) {
      const messages = produced.slice(start, Math.min(start + 500, to)).map(([key, value]) => ({ key, value }));
      await producer.send({ topic, messages, compression });
    }
    await producer.disconnect();
  }

  await until(`${count} records are read`, () => read.length >= count);
  const members = { a: assigned.a, b: assigned.b };

  // Member b leaves: the group rebalances and a takes every partition, from the offsets b
  // committed; then more records arrive, all for a.
  await consumers[1].consumer.disconnect();
  await until('a has every partition', () => (assigned.a || []).length === 3);
  const more = [];
  for (let i = count; i < count + 300; i++) more.push([`js${i % 11}`, `kafkajs-${String(i).padStart(5, '0')}`]);
  const after = kafka.producer();
  await after.connect();
  await after.send({ topic, messages: more.map(([key, value]) => ({ key, value })) });
  await after.disconnect();
  produced.push(...more);
  await until(`${produced.length} records are read`, () => read.length >= produced.length);
  await sleep(1000); // anything read twice would arrive now
  await consumers[0].consumer.disconnect();

  // Exit only once the whole document is written: a pipe takes 64 KiB at a time.
  const doc = JSON.stringify({ created, described, produced, read, members, rebalanced: assigned.a });
  await new Promise((resolve) => process.stdout.write(doc, resolve));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  },
);
