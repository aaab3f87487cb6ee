// The benchmark's API on Hono 4 (@hono/node-server) + the mongodb driver; bodies checked with ajv.
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { validator } from 'hono/validator';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { MongoClient, ObjectId } from 'mongodb';
import { loadModels, parseId, parseListQuery, toStored, HttpError, problem422, useObjectId } from '../common/models.mjs';
import { runMaybeClustered, env } from '../common/cluster.mjs';

useObjectId(ObjectId);

const PROBLEM = { 'Content-Type': 'application/problem+json' };
const notFound = (c) => c.json({ status: 404, title: 'Not Found' }, 404, PROBLEM);

// A JSON body checked by a compiled ajv validator: 422 with every violation.
function jsonBody(check) {
  return validator('json', (value, c) => {
    if (!check(value)) {
      const errors = check.errors.map((e) => ({ instanceLocation: e.instancePath, keywordLocation: e.schemaPath, error: e.message }));
      return c.json(problem422(errors), 422, PROBLEM);
    }
    return value;
  });
}

async function start() {
  const client = new MongoClient(env.mongoUri, { maxPoolSize: env.poolSize });
  await client.connect();
  const db = client.db(env.db);
  const models = loadModels();
  const ajv = new Ajv({ allErrors: true });
  addFormats(ajv);

  const app = new Hono();
  app.onError((err, c) => {
    if (err instanceof HttpError) return c.json(err.body, err.status, PROBLEM);
    if (err.status && err.status < 500) return c.json({ status: err.status, detail: err.message }, err.status);
    return c.json({ status: 500, detail: err.message }, 500);
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  for (const model of Object.values(models)) {
    const coll = db.collection(model.collection);
    const base = `/api/${model.name}`;
    const checkCreate = ajv.compile(model.createSchema);
    const checkPatch = ajv.compile(model.patchSchema);

    app.get(`${base}/:id`, async (c) => {
      const doc = await coll.findOne({ _id: parseId(model, c.req.param('id')) });
      return doc === null ? notFound(c) : c.json(doc);
    });

    app.get(base, async (c) => {
      const q = parseListQuery(model, c.req.query());
      return c.json(await coll.find(q.filter).sort(q.sort).limit(q.limit).toArray());
    });

    app.post(base, jsonBody(checkCreate), async (c) => {
      const doc = toStored(model, c.req.valid('json'));
      const res = await coll.insertOne(doc);
      return c.json(doc, 201, { Location: `${base}/${res.insertedId}` });
    });

    app.patch(`${base}/:id`, jsonBody(checkPatch), async (c) => {
      const doc = await coll.findOneAndUpdate(
        { _id: parseId(model, c.req.param('id')) },
        { $set: toStored(model, c.req.valid('json')) },
        { returnDocument: 'after' },
      );
      return doc === null ? notFound(c) : c.json(doc);
    });
  }

  serve({ fetch: app.fetch, port: env.port, hostname: '127.0.0.1' });
}

runMaybeClustered(start);
