// mongodb-data-api (npm), a client library written for the Atlas Data API, driven against odmd:
// only its base URL and key differ from a client of the old service. Asserts each action's
// answer as the library hands it back (findOne, find, insertOne, insertMany, replaceOne,
// updateOne, updateMany, aggregate, deleteOne, deleteMany); prints "dataapi client ok".
//
//   node dataapi_client.mjs BASE_URL API_KEY DATABASE NODE_MODULES_PARENT
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const [base, apiKey, database, installed] = process.argv.slice(2);
const require = createRequire(`${installed}/`);
const { createMongoDBDataAPI } = require('mongodb-data-api');

const api = createMongoDBDataAPI({ apiKey, urlEndpoint: `${base}/data/v1` });
const users = api.$cluster('Cluster0').$database(database).$collection('users');
const plain = api.$cluster('Cluster0').$database(database).$collection('plain');

const inserted = await users.insertOne({
  document: { email: 'lib@example.com', name: 'Lib', password: 'library-secret', age: 40 },
});
assert.match(inserted.insertedId, /^[0-9a-f]{24}$/);

const one = await users.findOne({ filter: { _id: { $oid: inserted.insertedId } } });
assert.equal(one.document.name, 'Lib');
assert.equal(one.document.password, undefined, 'writeOnly fields never come back');

const many = await plain.insertMany({ documents: [{ name: 'l1', qty: 1 }, { name: 'l2', qty: 2 }] });
assert.equal(many.insertedIds.length, 2);

const found = await plain.find({ filter: { qty: { $gte: 1 } }, sort: { qty: -1 }, limit: 10 });
assert.deepEqual(
  found.documents.map((d) => d.name),
  ['l2', 'l1'],
);

const replaced = await plain.replaceOne({ filter: { name: 'l1' }, replacement: { name: 'l1', qty: 5 } });
assert.deepEqual(replaced, { matchedCount: 1, modifiedCount: 1 });

const upserted = await plain.replaceOne({
  filter: { name: 'l3' },
  replacement: { name: 'l3', qty: 3 },
  upsert: true,
});
assert.equal(upserted.matchedCount, 0);
assert.match(upserted.upsertedId, /^[0-9a-f]{24}$/);

// update operators: $set and $inc on one document, $inc on several
const updated = await plain.updateOne({
  filter: { name: 'l2' },
  update: { $set: { name: 'l2b' }, $inc: { qty: 10 } },
});
assert.deepEqual(updated, { matchedCount: 1, modifiedCount: 1 });
const l2b = await plain.findOne({ filter: { name: 'l2b' } });
assert.equal(l2b.document.qty, 12);
const none = await plain.updateOne({ filter: { name: 'nobody' }, update: { $set: { qty: 1 } } });
assert.deepEqual(none, { matchedCount: 0, modifiedCount: 0 });
const several = await plain.updateMany({
  filter: { name: { $in: ['l1', 'l3'] } },
  update: { $inc: { qty: 1 } },
});
assert.deepEqual(several, { matchedCount: 2, modifiedCount: 2 });
const upsertedByUpdate = await plain.updateOne({
  filter: { name: 'l4' },
  update: { $set: { qty: 0 } },
  upsert: true,
});
assert.equal(upsertedByUpdate.matchedCount, 0);
assert.match(upsertedByUpdate.upsertedId, /^[0-9a-f]{24}$/);
// an update whose result the model refuses (qty below its minimum): the 400, nothing written
await assert.rejects(plain.updateOne({ filter: { name: 'l1' }, update: { $inc: { qty: -100 } } }), (e) => {
  assert.equal(e.status, 400);
  return true;
});

// aggregate: l1 5+1, l2b 12, l3 3+1, l4 0
const totals = await plain.aggregate({
  pipeline: [{ $match: { qty: { $gte: 0 } } }, { $group: { _id: null, total: { $sum: '$qty' } } }],
});
assert.deepEqual(totals.documents, [{ _id: null, total: 22 }]);
const counted = await plain.aggregate({ pipeline: [{ $match: { qty: { $gte: 0 } } }, { $count: 'n' }] });
assert.deepEqual(counted.documents, [{ n: 4 }]);
const sorted = await plain.aggregate({
  pipeline: [{ $sort: { qty: -1 } }, { $limit: 2 }, { $project: { _id: 0, name: 1, qty: 1 } }],
});
assert.deepEqual(sorted.documents, [
  { name: 'l2b', qty: 12 },
  { name: 'l1', qty: 6 },
]);

// a write the model refuses: the library rejects with the 400
await assert.rejects(plain.insertOne({ document: { name: 'bad', qty: -1 } }), (e) => {
  assert.equal(e.status, 400);
  return true;
});

assert.deepEqual(await plain.deleteOne({ filter: { name: 'l2b' } }), { deletedCount: 1 });
assert.deepEqual(await plain.deleteMany({ filter: { qty: { $gte: 0 } } }), { deletedCount: 3 });
assert.deepEqual(await users.deleteOne({ filter: { email: 'lib@example.com' } }), {
  deletedCount: 1,
});
console.log('dataapi client ok');
