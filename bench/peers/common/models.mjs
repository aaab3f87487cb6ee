// Shared by every peer: the benchmark's models (bench/models/*.json) turned into what each stack needs,
// and the list query (filter, sort, limit) checked the way odmd checks it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const MODELS_DIR = process.env.BENCH_MODELS || join(here, '..', '..', 'models');
export const MODEL_NAMES = ['world', 'customers'];

// The ObjectId class of the peer's own driver (this folder has no node_modules of its own).
let ObjectId = null;
export function useObjectId(cls) {
  ObjectId = cls;
}

export class HttpError extends Error {
  constructor(status, title, detail, extra = {}) {
    super(detail);
    this.status = status;
    this.title = title;
    this.extra = extra;
  }
  get body() {
    return { type: 'about:blank', title: this.title, status: this.status, detail: this.message, ...this.extra };
  }
}

// Drops the x- keywords (ajv would refuse them in strict mode) at every depth.
function stripExtensions(node) {
  if (Array.isArray(node)) return node.map(stripExtensions);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) if (!k.startsWith('x-') && k !== '$schema') out[k] = stripExtensions(v);
  return out;
}

// Dotted paths of every declared property, and those holding dates.
function collectFields(schema, prefix, fields, dates) {
  for (const [name, prop] of Object.entries(schema.properties || {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    fields.add(path);
    if (prop.format === 'date-time') dates.add(path);
    if (prop.type === 'object') collectFields(prop, path, fields, dates);
  }
}

function loadModel(name) {
  const raw = JSON.parse(readFileSync(join(MODELS_DIR, `${name}.json`), 'utf8'));
  const clean = stripExtensions(raw);
  const idProp = raw.properties._id;
  const idKind = idProp.type === 'integer' ? 'int' : 'objectId';
  const idReadOnly = Boolean(idProp.readOnly);
  // POST: a read-only _id is refused (additionalProperties false does that once it is not declared).
  const createSchema = structuredClone(clean);
  if (idReadOnly) {
    delete createSchema.properties._id;
    createSchema.required = (createSchema.required || []).filter((r) => r !== '_id');
  }
  // PATCH (merge patch of top-level fields): any subset of the properties but _id, no nulls.
  const patchSchema = structuredClone(clean);
  delete patchSchema.properties._id;
  delete patchSchema.required;
  patchSchema.minProperties = 1;
  const fields = new Set();
  const dates = new Set();
  collectFields(raw, '', fields, dates);
  return {
    name,
    collection: raw['x-collection'] || name,
    idKind,
    createSchema,
    patchSchema,
    fields,
    dates,
  };
}

export function loadModels() {
  const models = {};
  for (const name of MODEL_NAMES) models[name] = loadModel(name);
  return models;
}

const OID_RE = /^[0-9a-fA-F]{24}$/;
const INT_RE = /^-?[0-9]{1,15}$/;

// The _id from the path in its stored type, or a 400.
export function parseId(model, raw) {
  if (model.idKind === 'int') {
    if (!INT_RE.test(raw)) throw new HttpError(400, 'Bad Request', `malformed id '${raw}'`);
    return Number(raw);
  }
  if (!OID_RE.test(raw)) throw new HttpError(400, 'Bad Request', `malformed id '${raw}'`);
  return new ObjectId(raw);
}

// Date-time fields become Dates before they are stored (odmd stores BSON dates too).
export function toStored(model, doc) {
  for (const path of model.dates) {
    if (path.includes('.')) continue;
    if (typeof doc[path] === 'string') doc[path] = new Date(doc[path]);
  }
  return doc;
}

const OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$not', '$regex', '$options']);
const LOGICAL = new Set(['$and', '$or', '$nor']);
const MAX_DEPTH = 16;

function checkValue(model, path, value, depth) {
  if (depth > MAX_DEPTH) throw new HttpError(400, 'Bad Request', 'filter nests too deeply');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return model.dates.has(path) && typeof value === 'string' ? new Date(value) : value;
  }
  const keys = Object.keys(value);
  if (keys.length === 0 || !keys.every((k) => k.startsWith('$'))) return value;
  const out = {};
  for (const op of keys) {
    if (!OPERATORS.has(op)) throw new HttpError(400, 'Bad Request', `operator '${op}' is not allowed`);
    const v = value[op];
    if (op === '$in' || op === '$nin') {
      if (!Array.isArray(v)) throw new HttpError(400, 'Bad Request', `'${op}' needs an array`);
      out[op] = v.map((x) => checkValue(model, path, x, depth + 1));
    } else if (op === '$not') {
      out[op] = checkValue(model, path, v, depth + 1);
    } else {
      out[op] = checkValue(model, path, v, depth + 1);
    }
  }
  return out;
}

function checkFilter(model, filter, depth) {
  if (depth > MAX_DEPTH) throw new HttpError(400, 'Bad Request', 'filter nests too deeply');
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter))
    throw new HttpError(400, 'Bad Request', 'filter must be a JSON object');
  const out = {};
  for (const [key, value] of Object.entries(filter)) {
    if (LOGICAL.has(key)) {
      if (!Array.isArray(value) || value.length === 0) throw new HttpError(400, 'Bad Request', `'${key}' needs a non-empty array`);
      out[key] = value.map((f) => checkFilter(model, f, depth + 1));
    } else if (key.startsWith('$')) {
      throw new HttpError(400, 'Bad Request', `operator '${key}' is not allowed`);
    } else if (key === '_id') {
      out._id = typeof value === 'string' ? parseId(model, value) : value;
    } else if (!model.fields.has(key)) {
      throw new HttpError(400, 'Bad Request', `unknown field '${key}'`);
    } else {
      out[key] = checkValue(model, key, value, depth + 1);
    }
  }
  return out;
}

// limit (1..1000, default 20), sort (-a,b), filter (JSON): as odmd reads them, 400 otherwise.
export function parseListQuery(model, query) {
  let limit = 20;
  if (query.limit !== undefined) {
    if (!/^[0-9]{1,4}$/.test(query.limit)) throw new HttpError(400, 'Bad Request', 'limit must be 1 to 1000');
    limit = Number(query.limit);
    if (limit < 1 || limit > 1000) throw new HttpError(400, 'Bad Request', 'limit must be 1 to 1000');
  }
  const sort = {};
  if (query.sort) {
    for (const part of String(query.sort).split(',')) {
      const desc = part.startsWith('-');
      const field = desc ? part.slice(1) : part;
      if (field !== '_id' && !model.fields.has(field)) throw new HttpError(400, 'Bad Request', `unknown sort field '${field}'`);
      sort[field] = desc ? -1 : 1;
    }
  }
  let filter = {};
  if (query.filter) {
    let parsed;
    try {
      parsed = JSON.parse(query.filter);
    } catch (e) {
      throw new HttpError(400, 'Bad Request', `filter is not JSON: ${e.message}`);
    }
    filter = checkFilter(model, parsed, 0);
  }
  return { filter, sort, limit };
}

export function problem422(errors) {
  return { type: 'about:blank', title: 'Unprocessable Content', status: 422, detail: 'the document does not match the model', errors };
}
