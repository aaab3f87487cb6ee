// Writes the validator benchmark's Markdown report from the two engines' JSON lines.
// Usage: node report.mjs ODMD.jsonl AJV.jsonl > bench/results/validator.md
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { execSync } from "node:child_process";

const read = (p) => readFileSync(p, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
const odmd = read(process.argv[2]);
const ajv = new Map(read(process.argv[3]).map((r) => [r.name, r]));
const ajvVersion = JSON.parse(readFileSync(new URL("./node_modules/ajv/package.json", import.meta.url))).version;
const fmtVersion = JSON.parse(readFileSync(new URL("./node_modules/ajv-formats/package.json", import.meta.url))).version;
let commit = "unknown";
try { commit = execSync("git rev-parse --short HEAD", { encoding: "utf8" }).trim(); } catch { /* not a checkout */ }
const n = (x) => Math.round(x).toLocaleString("en-US");

const rows = odmd.map((o) => {
  const a = ajv.get(o.name);
  const ratio = a ? (o.perSecond / a.perSecond).toFixed(2) : "n/a";
  const agree = a ? (a.valid === o.valid ? "yes" : `no (odmd ${o.valid}, ajv ${a.valid} of ${o.instances})`) : "n/a";
  const count = a && a.instances !== o.instances ? `${o.instances} (ajv ${a.instances})` : `${o.instances}`;
  return `| ${o.name} | ${count} | ${n(o.perSecond)} | ${a ? n(a.perSecond) : "n/a"} | ${ratio} | ${agree} |`;
});

console.log(`# Validator benchmark: odmd vs ajv

Validations per second on one thread, each engine looping over the workload's instances for at
least ${process.env.BENCH_SECONDS || 1} s after a warm-up (bench/validator/run.sh). Ratio = odmd / ajv (above 1: odmd is faster).
"valid agrees" compares how many instances each engine found valid.

- odmd ${commit}: compiled schema, \`odm_schema_validate\` (errors NULL: stop at the first failure;
  "all errors": collect up to ${100} basic output units into a reused \`odm_schema_errors_t\`;
  "all errors written": also write them as JSON with \`odm_schema_errors_write\` into a reused
  buffer, as a 422 body holds them), formats asserted for the models.
- ajv ${ajvVersion} (Ajv2020, strict off, multipleOfPrecision 9) with ajv-formats ${fmtVersion}, node ${process.version};
  allErrors false except for the "all errors" rows ("written": \`JSON.stringify(validate.errors)\`).
- Suite: every case of tests/draft2020-12/*.json that odmd compiles (and ajv too), all its tests,
  formats annotated, remotes mapped.
- Machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${new Date().toISOString().slice(0, 10)}.

| workload | instances | odmd /s | ajv /s | ratio | valid agrees |
| --- | ---: | ---: | ---: | ---: | --- |
${rows.join("\n")}
`);
