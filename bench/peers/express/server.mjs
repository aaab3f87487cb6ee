// The benchmark's API on Express 5 + Mongoose 9: the models as Mongoose schemas (validation there), lean reads.
import express from 'express';
import mongoose from 'mongoose';
import { loadModels, parseId, parseListQuery, HttpError, problem422, useObjectId } from '../common/models.mjs';
import { runMaybeClustered, env } from '../common/cluster.mjs';

useObjectId(mongoose.Types.ObjectId);

// Refuse values of the wrong JSON type instead of casting them ("36" is not an integer), as the schema does.
mongoose.Schema.Types.String.cast(false);
mongoose.Schema.Types.Number.cast(false);
mongoose.Schema.Types.Boolean.cast(false);

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const options = { versionKey: false, strict: 'throw', strictQuery: 'throw' };
const integer = (min, max) => ({ type: Number, min, max, validate: { validator: Number.isInteger, message: '{PATH} must be an integer' } });

const World = mongoose.model('World', new mongoose.Schema({
  _id: { ...integer(1, 10000), required: true },
  randomNumber: { ...integer(1, 10000), required: true },
}, options), 'world');

const Customer = mongoose.model('Customer', new mongoose.Schema({
  email: { type: String, required: true, maxLength: 254, match: EMAIL },
  name: {
    type: new mongoose.Schema({
      first: { type: String, required: true, minLength: 1, maxLength: 50 },
      last: { type: String, required: true, minLength: 1, maxLength: 50 },
    }, { _id: false, ...options }),
    required: true,
  },
  age: { ...integer(18, 120), required: true },
  plan: { type: String, required: true, enum: ['free', 'pro', 'team', 'enterprise'] },
  active: Boolean,
  balance: { type: Number, min: 0, max: 1000000 },
  signedUpAt: { type: Date, required: true },
  address: new mongoose.Schema({
    street: { type: String, maxLength: 100 },
    city: { type: String, required: true, minLength: 1, maxLength: 60 },
    zip: { type: String, match: /^[0-9]{5}$/ },
    country: { type: String, required: true, match: /^[A-Z]{2}$/ },
  }, { _id: false, ...options }),
  tags: {
    type: [{ type: String, minLength: 1, maxLength: 20 }],
    default: undefined,
    validate: { validator: (v) => v.length <= 10 && new Set(v).size === v.length, message: 'tags must be at most 10 distinct strings' },
  },
  loginCount: integer(0, undefined),
}, options), 'customers');

const MODELS = { world: World, customers: Customer };

function validationProblem(err) {
  const errors = Object.values(err.errors || {}).map((e) => ({ instanceLocation: `/${e.path.replaceAll('.', '/')}`, keywordLocation: e.kind, error: e.message }));
  return problem422(errors.length ? errors : [{ instanceLocation: '', keywordLocation: '', error: err.message }]);
}

async function start() {
  await mongoose.connect(env.mongoUri, { dbName: env.db, maxPoolSize: env.poolSize, autoIndex: false });
  const models = loadModels();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(express.json({ type: ['application/json', 'application/merge-patch+json'] }));

  app.get('/healthz', (req, res) => res.json({ status: 'ok' }));

  for (const model of Object.values(models)) {
    const Model = MODELS[model.name];
    const base = `/api/${model.name}`;

    app.get(`${base}/:id`, async (req, res) => {
      const doc = await Model.findById(parseId(model, req.params.id)).lean();
      if (doc === null) return res.status(404).type('application/problem+json').json({ status: 404, title: 'Not Found' });
      res.json(doc);
    });

    app.get(base, async (req, res) => {
      const q = parseListQuery(model, req.query);
      res.json(await Model.find(q.filter).sort(q.sort).limit(q.limit).lean());
    });

    app.post(base, async (req, res) => {
      if (model.idKind === 'objectId' && req.body && '_id' in req.body)
        return res.status(422).type('application/problem+json').json(problem422([{ instanceLocation: '/_id', keywordLocation: 'readOnly', error: '_id is read-only' }]));
      if (req.body && model.dates.has('signedUpAt') && typeof req.body.signedUpAt === 'string' && !ISO_DATE_TIME.test(req.body.signedUpAt))
        return res.status(422).type('application/problem+json').json(problem422([{ instanceLocation: '/signedUpAt', keywordLocation: 'format', error: 'not a date-time' }]));
      const doc = await Model.create(req.body);
      res.status(201).location(`${base}/${doc._id}`).json(doc);
    });

    app.patch(`${base}/:id`, async (req, res) => {
      if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body) || '_id' in req.body || Object.keys(req.body).length === 0)
        return res.status(422).type('application/problem+json').json(problem422([{ instanceLocation: '', keywordLocation: '', error: 'a merge patch of the fields but _id' }]));
      const doc = await Model.findByIdAndUpdate(parseId(model, req.params.id), { $set: req.body }, { returnDocument: 'after', runValidators: true, lean: true });
      if (doc === null) return res.status(404).type('application/problem+json').json({ status: 404, title: 'Not Found' });
      res.json(doc);
    });
  }

  // Express 5 passes rejected promises here.
  app.use((err, req, res, next) => {
    if (err instanceof HttpError) return res.status(err.status).type('application/problem+json').json(err.body);
    if (err instanceof mongoose.Error.ValidationError || err instanceof mongoose.Error.CastError || err.name === 'StrictModeError')
      return res.status(422).type('application/problem+json').json(validationProblem(err));
    if (err.status && err.status < 500) return res.status(err.status).json({ status: err.status, detail: err.message });
    res.status(500).json({ status: 500, detail: err.message });
  });

  app.listen(env.port, '127.0.0.1');
}

runMaybeClustered(start);
