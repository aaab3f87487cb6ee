// ajv 8 (draft 2020-12 + ajv-formats) side of the validator benchmark: prints one JSON line per
// workload {name, validations, seconds, perSecond, valid}. Usage: node ajv-bench.mjs WORKLOADS.json
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const MIN_SECONDS = Number(process.env.BENCH_SECONDS || 1.0);

function newAjv(formats, allErrors) {
  // multipleOfPrecision: without it 19.99 is not a multiple of 0.01 to ajv (binary floating point).
  const ajv = new Ajv2020({
    strict: false,
    allErrors,
    validateFormats: formats === "assert",
    multipleOfPrecision: 9,
  });
  addFormats(ajv);
  return ajv;
}

// Runs fn over the instances until MIN_SECONDS have passed; returns validations per second.
function measure(validators) {
  let n = 0;
  for (let i = 0; i < 1000; i++) for (const [v, d] of validators) v(d); // warm up the JIT
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    for (let r = 0; r < 50; r++) for (const [v, d] of validators) v(d);
    n += 50 * validators.length;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  } while (elapsed < MIN_SECONDS);
  return { validations: n, seconds: elapsed, perSecond: n / elapsed };
}

function loadJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

// The suite's cases, restricted to the ids the C side ran (file#case), formats annotated.
function suiteValidators(dir, remotes, ids, allErrors) {
  const ajv = newAjv("annotate", allErrors);
  const addRemotes = (base, prefix) => {
    for (const name of readdirSync(base)) {
      const p = join(base, name);
      if (statSync(p).isDirectory()) addRemotes(p, prefix + name + "/");
      else if (name.endsWith(".json")) {
        try { ajv.addSchema(loadJson(p), "http://localhost:1234/" + prefix + name); } catch { /* skip */ }
      }
    }
  };
  addRemotes(remotes, "");
  const wanted = new Set(ids);
  const out = [];
  let dropped = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
    loadJson(join(dir, file)).forEach((c, k) => {
      if (!wanted.has(`${file}#${k}`)) return;
      let v;
      try {
        v = ajv.compile(c.schema);
        for (const t of c.tests) v(t.data); // some cases make ajv recurse without end
      } catch {
        dropped++;
        return;
      }
      for (const t of c.tests) out.push([v, t.data]);
    });
  }
  if (dropped > 0) console.error(`ajv: suite: ${dropped} cases that odmd ran fail to compile or run in ajv`);
  return out;
}

let written = 0; // keeps the JSON text of errors observable
const workloads = loadJson(process.argv[2]);
for (const w of workloads) {
  let validators;
  if (w.suite) {
    validators = suiteValidators(w.suite, w.remotes, loadJson(w.ids), !!w.allErrors);
  } else {
    const ajv = newAjv(w.formats || "assert", !!w.allErrors);
    const v = ajv.compile(loadJson(w.schema));
    // "writeErrors": the errors of an invalid instance are written as JSON, as a 422 body holds them
    const f = w.writeErrors ? (d) => { const ok = v(d); if (!ok) written += JSON.stringify(v.errors).length; return ok; } : v;
    validators = w.instances.map((p) => [f, loadJson(p)]);
  }
  const valid = validators.filter(([v, d]) => v(d)).length;
  const r = measure(validators);
  console.log(JSON.stringify({ name: w.name, engine: "ajv", valid, instances: validators.length, ...r }));
}
