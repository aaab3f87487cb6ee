// The benchmark's API on Elysia 1 (Bun) + the mongodb driver; bodies checked by Elysia's own schemas (t.*).
import { Elysia, t } from 'elysia';
import { MongoClient, ObjectId } from 'mongodb';
import { loadModels, parseId, parseListQuery, toStored, HttpError, problem422, useObjectId } from '../common/models.mjs';
import { env } from '../common/cluster.mjs';

useObjectId(ObjectId);

const closed = { additionalProperties: false };
const int = (o) => t.Integer(o);
const customerFields = {
  email: t.String({ format: 'email', maxLength: 254 }),
  name: t.Object({ first: t.String({ minLength: 1, maxLength: 50 }), last: t.String({ minLength: 1, maxLength: 50 }) }, closed),
  age: int({ minimum: 18, maximum: 120 }),
  plan: t.Union([t.Literal('free'), t.Literal('pro'), t.Literal('team'), t.Literal('enterprise')]),
  active: t.Optional(t.Boolean()),
  balance: t.Optional(t.Number({ minimum: 0, maximum: 1000000 })),
  signedUpAt: t.String({ format: 'date-time' }),
  address: t.Optional(t.Object({
    street: t.Optional(t.String({ maxLength: 100 })),
    city: t.String({ minLength: 1, maxLength: 60 }),
    zip: t.Optional(t.String({ pattern: '^[0-9]{5}$' })),
    country: t.String({ pattern: '^[A-Z]{2}$' }),
  }, closed)),
  tags: t.Optional(t.Array(t.String({ minLength: 1, maxLength: 20 }), { maxItems: 10, uniqueItems: true })),
  loginCount: t.Optional(int({ minimum: 0 })),
};
const partial = (fields) => t.Object(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, t.Optional(v)])), { ...closed, minProperties: 1 });
const SCHEMAS = {
  world: {
    create: t.Object({ _id: int({ minimum: 1, maximum: 10000 }), randomNumber: int({ minimum: 1, maximum: 10000 }) }, closed),
    patch: partial({ randomNumber: int({ minimum: 1, maximum: 10000 }) }),
  },
  customers: { create: t.Object(customerFields, closed), patch: partial(customerFields) },
};

const problem = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/problem+json' } });
const notFound = () => problem(404, { status: 404, title: 'Not Found' });

const client = new MongoClient(env.mongoUri, { maxPoolSize: env.poolSize });
await client.connect();
const db = client.db(env.db);
const models = loadModels();

// normalize: false, so that an unknown property is refused rather than silently dropped.
const app = new Elysia({ normalize: false })
  .onError(({ code, error }) => {
    if (code === 'VALIDATION') {
      const errors = [...error.all].map((e) => ({ instanceLocation: e.path, keywordLocation: e.schema?.format ?? '', error: e.message }));
      return problem(422, problem422(errors));
    }
    if (error instanceof HttpError) return problem(error.status, error.body);
    if (code === 'NOT_FOUND') return notFound();
    if (code === 'PARSE') return problem(400, { status: 400, title: 'Bad Request', detail: 'malformed JSON' });
  })
  .get('/healthz', () => ({ status: 'ok' }));

for (const model of Object.values(models)) {
  const coll = db.collection(model.collection);
  const base = `/api/${model.name}`;
  const schemas = SCHEMAS[model.name];
  app
    .get(`${base}/:id`, async ({ params }) => {
      const doc = await coll.findOne({ _id: parseId(model, params.id) });
      return doc === null ? notFound() : doc;
    })
    .get(base, async ({ query }) => {
      const q = parseListQuery(model, query);
      return coll.find(q.filter).sort(q.sort).limit(q.limit).toArray();
    })
    .post(base, async ({ body, set }) => {
      const doc = toStored(model, body);
      const res = await coll.insertOne(doc);
      set.status = 201;
      set.headers.location = `${base}/${res.insertedId}`;
      return doc;
    }, { body: schemas.create, parse: 'json' })
    .patch(`${base}/:id`, async ({ params, body }) => {
      const doc = await coll.findOneAndUpdate({ _id: parseId(model, params.id) }, { $set: toStored(model, body) }, { returnDocument: 'after' });
      return doc === null ? notFound() : doc;
    }, { body: schemas.patch, parse: 'json' });
}

app.listen({ port: env.port, hostname: '127.0.0.1' });
