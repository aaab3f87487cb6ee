// Seeds the benchmark's data, identical on every run: world (10,000 {_id: 1..N, randomNumber}) and
// customers (realistic ~300-byte documents with ObjectId ids). Prints one JSON line of counts.
//
//   node seed.mjs --uri mongodb://127.0.0.1:PORT/ --db bench [--world 10000] [--customers 1000]
//                 [--only world|customers] [--ids-lua FILE]   (FILE: the customers' ids as a Lua table)
import { MongoClient, ObjectId } from 'mongodb';
import { writeFileSync } from 'node:fs';

const args = { uri: 'mongodb://127.0.0.1:27017/', db: 'bench', world: 10000, customers: 1000, only: '', 'ids-lua': '' };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '');
  if (!(key in args) || i + 1 >= process.argv.length) {
    console.error(`seed: unknown or incomplete option '${process.argv[i]}'`);
    process.exit(2);
  }
  args[key] = typeof args[key] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}

// mulberry32: a small deterministic generator, so that every reseed writes the same documents.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Dennis', 'Frances', 'John', 'Radia'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Ritchie', 'Allen', 'Backus', 'Perlman'];
const CITIES = ['London', 'Paris', 'Berlin', 'Madrid', 'Rome', 'Vienna', 'Lisbon', 'Dublin', 'Prague', 'Oslo'];
const COUNTRIES = ['GB', 'FR', 'DE', 'ES', 'IT', 'AT', 'PT', 'IE', 'CZ', 'NO'];
const PLANS = ['free', 'pro', 'team', 'enterprise'];
const TAGS = ['early-adopter', 'newsletter', 'beta', 'vip', 'churn-risk', 'referral', 'trial', 'annual'];

function customer(r, i) {
  const pick = (list) => list[Math.floor(r() * list.length)];
  const first = pick(FIRST);
  const last = pick(LAST);
  const c = Math.floor(r() * CITIES.length);
  const tags = TAGS.filter(() => r() < 0.25);
  // ObjectIds from a fixed timestamp and the index: the same ids on every reseed.
  const id = new ObjectId((0x65000000 + i).toString(16).padStart(8, '0') + i.toString(16).padStart(16, '0'));
  return {
    _id: id,
    email: `${first}.${last}${i}@example.com`.toLowerCase(),
    name: { first, last },
    age: 18 + Math.floor(r() * 73),
    plan: pick(PLANS),
    active: r() < 0.8,
    balance: Math.round(r() * 1000000) / 100,
    signedUpAt: new Date(Date.UTC(2020, 0, 1) + Math.floor(r() * 4 * 365 * 86400) * 1000),
    address: { street: `${1 + Math.floor(r() * 200)} ${pick(LAST)} Street`, city: CITIES[c], zip: String(10000 + Math.floor(r() * 89999)), country: COUNTRIES[c] },
    tags,
    loginCount: Math.floor(r() * 500),
  };
}

async function reset(coll, docs) {
  await coll.drop().catch(() => {});
  for (let i = 0; i < docs.length; i += 1000) await coll.insertMany(docs.slice(i, i + 1000), { ordered: false });
  return coll.countDocuments();
}

const client = new MongoClient(args.uri, { serverSelectionTimeoutMS: 10000 });
await client.connect();
const db = client.db(args.db);
const out = {};
if (args.only !== 'customers') {
  const r = rng(1);
  const world = [];
  for (let i = 1; i <= args.world; i++) world.push({ _id: i, randomNumber: 1 + Math.floor(r() * 10000) });
  out.world = await reset(db.collection('world'), world);
}
if (args.only !== 'world') {
  const r = rng(2);
  const customers = [];
  for (let i = 0; i < args.customers; i++) customers.push(customer(r, i));
  out.customers = await reset(db.collection('customers'), customers);
  if (args['ids-lua']) {
    const ids = customers.map((d) => `"${d._id.toHexString()}"`);
    writeFileSync(args['ids-lua'], `return {${ids.join(',')}}\n`);
  }
}
await client.close();
console.log(JSON.stringify(out));
