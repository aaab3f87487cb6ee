// The benchmark's API on Fastify 5 + the mongodb driver; bodies checked by route JSON schemas (ajv).
import Fastify from 'fastify';
import { MongoClient, ObjectId } from 'mongodb';
import { loadModels, parseId, parseListQuery, toStored, HttpError, problem422, useObjectId } from '../common/models.mjs';
import { runMaybeClustered, env } from '../common/cluster.mjs';

useObjectId(ObjectId);

async function start() {
  const client = new MongoClient(env.mongoUri, { maxPoolSize: env.poolSize });
  await client.connect();
  const db = client.db(env.db);
  const models = loadModels();

  const app = Fastify({
    logger: false,
    // Refuse what the schema refuses (Fastify's defaults coerce types and drop extra properties).
    ajv: { customOptions: { allErrors: true, coerceTypes: false, removeAdditional: false, useDefaults: false } },
  });

  app.setErrorHandler((err, req, reply) => {
    if (err.validation) {
      const errors = err.validation.map((e) => ({ instanceLocation: e.instancePath, keywordLocation: e.schemaPath, error: e.message }));
      return reply.code(422).type('application/problem+json').send(problem422(errors));
    }
    if (err instanceof HttpError) return reply.code(err.status).type('application/problem+json').send(err.body);
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ status: err.statusCode, detail: err.message });
    return reply.code(500).send({ status: 500, detail: err.message });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  for (const model of Object.values(models)) {
    const coll = db.collection(model.collection);
    const base = `/api/${model.name}`;

    app.get(`${base}/:id`, async (req, reply) => {
      const doc = await coll.findOne({ _id: parseId(model, req.params.id) });
      if (doc === null) return reply.code(404).type('application/problem+json').send({ status: 404, title: 'Not Found' });
      return doc;
    });

    app.get(base, async (req) => {
      const q = parseListQuery(model, req.query);
      return coll.find(q.filter).sort(q.sort).limit(q.limit).toArray();
    });

    app.post(base, { schema: { body: model.createSchema } }, async (req, reply) => {
      const doc = toStored(model, req.body);
      const res = await coll.insertOne(doc);
      reply.code(201).header('Location', `${base}/${res.insertedId}`);
      return doc;
    });

    app.patch(`${base}/:id`, { schema: { body: model.patchSchema } }, async (req, reply) => {
      const doc = await coll.findOneAndUpdate(
        { _id: parseId(model, req.params.id) },
        { $set: toStored(model, req.body) },
        { returnDocument: 'after' },
      );
      if (doc === null) return reply.code(404).type('application/problem+json').send({ status: 404, title: 'Not Found' });
      return doc;
    });
  }

  // merge-patch bodies are JSON too.
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  await app.listen({ port: env.port, host: '127.0.0.1' });
}

runMaybeClustered(start);
