#!/usr/bin/env python3
"""Turns bench/run's results.json into results.md (tables, ratios to odmd, the targets) and chart.svg (gnuplot).

The targets are issue 12's, ratios within the run to the architecture floor, to the peers and to odmd
as it was before issue 12's work (the system "odmd-before", bench/run --baseline), and, under their own
heading, the benchmark's first targets (odmd against the floor and the peers).

    python3 bench/report.py [RESULTS_DIR]      (default bench/results)

When RESULTS_DIR is bench/results itself, the summary in bench/README.md (between its results markers) is
rewritten too.
"""
import json
import os
import subprocess
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
ORDER = ["get", "list", "post", "post_invalid", "patch", "healthz"]
SHORT = {"get": "GET by id", "list": "list", "post": "POST valid", "post_invalid": "POST invalid",
         "patch": "PATCH", "healthz": "healthz"}
HEADLINE_CONNS = 64
BASELINE = "odmd-before"


def fmt(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, float) and v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def row_at(system, workload, conns):
    for r in system.get("runs", {}).get(workload, []):
        if r.get("connections") == conns and "error" not in r:
            return r
    return None


def systems_by_key(res):
    return {s["key"]: s for s in res["systems"]}


def peers(res):
    return [s for s in res["systems"] if s["kind"] == "peer"]


def issue12_targets(res):
    """Issue 12's targets, each a ratio of two systems' figures taken from one source: the interleaved
    medians when both systems have one there (64 connections; GET by id of odmd and odmd-before at
    16 too), else the sequential runs."""
    by = systems_by_key(res)
    inter_all = res.get("interleaved") or {}
    sources = [inter_all, inter_all.get("low") or {}]
    if "odmd" not in by and "odmd" not in (inter_all.get("rows") or {}):
        return []
    out = []

    def pair(a, b, w, wb, conns):
        """(row of a, row of b, source) for workload w of a and wb of b at conns, from one source."""
        for src in sources:
            rows = src.get("rows") or {}
            if conns == src.get("connections") and rows.get(a, {}).get(w) and rows.get(b, {}).get(wb):
                return rows[a][w], rows[b][wb], "interleaved"
        ra = row_at(by[a], w, conns) if a in by else None
        rb = row_at(by[b], wb, conns) if b in by else None
        return ra, rb, "sequential"

    def add(name, conns, b, w, field, op, limit, wb=None, unit="req/s"):
        ra, rb, source = pair("odmd", b, w, wb or w, conns)
        va, vb = (ra or {}).get(field), (rb or {}).get(field)
        got = ratio(va, vb)
        ok = None if got is None else (got >= limit if op == ">=" else got <= limit)
        detail = f"odmd {fmt(va, 1)} ÷ {b} {fmt(vb, 1)} {unit}" if got is not None else f"no {b} row"
        out.append({"target": name, "connections": conns, "measured": got, "op": op, "limit": limit, "met": ok,
                    "detail": detail, "source": source if got is not None else "–"})

    c = HEADLINE_CONNS
    add("GET by id req/s vs architecture floor", c, "floor", "get", "rps", ">=", 1.5)
    add("GET by id CPU/request vs floor", c, "floor", "get", "service_cpu_us_per_req", "<=", 0.7, unit="µs")
    add("GET by id p99 vs floor", c, "floor", "get", "p99_ms", "<=", 1.0, unit="ms")
    add("GET by id req/s vs odmd before", 16, BASELINE, "get", "rps", ">=", 1.0)
    add("GET by id p99 vs odmd before", 16, BASELINE, "get", "p99_ms", "<=", 1.0, unit="ms")
    add("valid POST req/s vs odmd before", c, BASELINE, "post", "rps", ">=", 2)
    add("valid POST req/s vs Fastify", c, "fastify", "post", "rps", ">=", 5)
    add("422 (POST invalid) req/s vs Elysia", c, "elysia", "post_invalid", "rps", ">=", 2)
    add("422 (POST invalid) req/s vs nginx static", c, "nginx", "post_invalid", "rps", ">=", 0.5, wb="healthz")
    add("PATCH req/s vs Fastify", c, "fastify", "patch", "rps", ">=", 2)
    add("PATCH req/s vs Elysia", c, "elysia", "patch", "rps", ">=", 1)
    return out


def targets(res):
    """The benchmark's first targets for odmd at 64 connections, each with its measured value: from the
    interleaved medians when the run has them, else from the sequential runs."""
    by = systems_by_key(res)
    inter = (res.get("interleaved") or {}).get("rows") or {}
    c = HEADLINE_CONNS
    if "odmd" not in by and "odmd" not in inter:
        return []

    def row(key, w):
        if inter:
            return inter.get(key, {}).get(w)
        s = by.get(key)
        return row_at(s, w, c) if s else None

    def val(key, w, field):
        r = row(key, w)
        return r.get(field) if r else None

    peer_keys = [s["key"] for s in peers(res)] if not inter else [k for k in inter if k in
                                                                   ("express", "fastify", "hono", "elysia")]
    with_get = [k for k in peer_keys if row(k, "get")]
    strongest = max(with_get, key=lambda k: row(k, "get")["rps"], default=None)
    node_single = [k for k in with_get if k in ("express", "fastify", "hono")]
    smallest = min(node_single, key=lambda k: row(k, "get")["peak_rss_mb"], default=None)
    o = lambda w, f: val("odmd", w, f)  # noqa: E731
    out = []

    def add(name, got, op, limit, detail):
        ok = None if got is None else (got >= limit if op == ">=" else got <= limit)
        out.append({"target": name, "measured": got, "op": op, "limit": limit, "met": ok, "detail": detail,
                    "source": "interleaved medians" if inter else "sequential runs"})

    add("GET rps vs architecture floor", ratio(o("get", "rps"), val("floor", "get", "rps")), ">=", 0.9, "odmd ÷ floor")
    add("GET rps vs Fastify", ratio(o("get", "rps"), val("fastify", "get", "rps")), ">=", 5, "odmd ÷ fastify")
    if strongest:
        add(f"GET rps vs strongest peer ({strongest})", ratio(o("get", "rps"), val(strongest, "get", "rps")),
            ">=", 2.5, "odmd ÷ peer")
    add("CPU/request vs Fastify", ratio(o("get", "service_cpu_us_per_req"),
                                        val("fastify", "get", "service_cpu_us_per_req")), "<=", 0.2, "odmd ÷ fastify")
    add("CPU/request vs Express+Mongoose", ratio(o("get", "service_cpu_us_per_req"),
                                                 val("express", "get", "service_cpu_us_per_req")), "<=", 0.1,
        "odmd ÷ express")
    if strongest:
        add(f"CPU/request vs strongest peer ({strongest})",
            ratio(o("get", "service_cpu_us_per_req"), val(strongest, "get", "service_cpu_us_per_req")),
            "<=", 0.4, "odmd ÷ peer")
    add("p99 vs Fastify", ratio(o("get", "p99_ms"), val("fastify", "get", "p99_ms")), "<=", 0.25, "odmd ÷ fastify")
    if smallest:
        add(f"peak RSS vs smallest Node peer ({smallest})",
            ratio(o("get", "peak_rss_mb"), val(smallest, "get", "peak_rss_mb")), "<=", 0.15, "odmd ÷ peer")
    add("422 path vs nginx static", ratio(o("post_invalid", "rps"), val("nginx", "healthz", "rps")), ">=", 0.7,
        "odmd POST invalid ÷ nginx")
    add("valid POST vs Fastify", ratio(o("post", "rps"), val("fastify", "post", "rps")), ">=", 3, "odmd ÷ fastify")
    return out


def interleaved_table(res):
    inter = res.get("interleaved") or {}
    rows = inter.get("rows") or {}
    if not rows:
        return []
    low = inter.get("low") or {}
    lines = [f"{inter['rounds']} rounds × {inter['duration_s']} s at {inter['connections']} connections, every system "
             "running at once and measured back to back in a rotating order; medians (the runs' req/s in brackets)"
             + (f"; GET by id of odmd and odmd-before at {low['connections']} connections too" if low else "") + ".", "",
             "| system | workload | req/s | × odmd | CPU µs/req | × odmd | p99 ms | DB CPU µs/req | DB cmds/req | peak RSS MB "
             "| valid | runs |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | --- |"]
    lines += interleaved_rows(rows, "")
    if low:
        lines += interleaved_rows(low.get("rows") or {}, f" ({low['connections']} conns)")
    return lines


def interleaved_rows(rows, suffix):
    lines = []
    for w in ORDER:
        base = rows.get("odmd", {}).get(w)
        for k, per in rows.items():
            r = per.get(w)
            if r is None:
                continue
            rr = ratio(r["rps"], base["rps"]) if base else None
            cr = ratio(r["service_cpu_us_per_req"], base["service_cpu_us_per_req"]) if base else None
            lines.append(f"| {k} | {SHORT[w]}{suffix} | {fmt(float(r['rps']), 0)} | {fmt(rr, 2)} | "
                         f"{fmt(float(r['service_cpu_us_per_req']))} | {fmt(cr, 2)} | {fmt(float(r['p99_ms']), 2)} | "
                         f"{fmt(float(r['db_cpu_us_per_req']))} | {fmt(r.get('db_commands_per_req'), 2)} | "
                         f"{fmt(float(r['peak_rss_mb']))} | "
                         f"{'yes' if r['valid'] else '**NO**'} | {', '.join(f'{v:.0f}' for v in r['rps_runs'])} |")
    return lines


def workload_table(res, w, conns):
    by = systems_by_key(res)
    base = row_at(by["odmd"], w, conns) if "odmd" in by else None
    lines = ["| system | req/s | × odmd | p50 ms | p99 ms | CPU µs/req | × odmd | DB CPU µs/req | DB cmds/req | "
             "peak RSS MB | other CPU s | errors | valid |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |"]
    for s in res["systems"]:
        r = row_at(s, w, conns)
        if r is None:
            continue
        rr = ratio(r["rps"], base["rps"]) if base else None
        cr = ratio(r["service_cpu_us_per_req"], base["service_cpu_us_per_req"]) if base else None
        name = s["key"] if s["kind"] != "ceiling" else f"*{s['key']}* (ceiling)"
        errors = r["unexpected_status"] + r["socket_errors"]
        if r.get("stalled_connections"):
            errors = f"{errors} + {r['stalled_connections']} stalled"
        lines.append(f"| {name} | {fmt(r['rps'], 0)} | {fmt(rr, 2)} | {fmt(r['p50_ms'], 2)} | {fmt(r['p99_ms'], 2)} | "
                     f"{fmt(r['service_cpu_us_per_req'])} | {fmt(cr, 2)} | {fmt(r['db_cpu_us_per_req'])} | "
                     f"{fmt(r.get('db_commands_per_req'), 2)} | "
                     f"{fmt(r['peak_rss_mb'])} | {fmt(r.get('other_cpu_s'), 1)} | {errors} | {'yes' if r['valid'] else '**NO**'} |")
    return lines


def summary_table(res, conns=HEADLINE_CONNS):
    """One line per system: req/s for each workload and CPU µs/req, at the headline connection count."""
    ws = [w for w in ORDER if any(row_at(s, w, conns) for s in res["systems"])]
    head = "| system | " + " | ".join(f"{SHORT[w]} req/s" for w in ws) + " | GET CPU µs/req | GET p99 ms | GET RSS MB |"
    lines = [head, "| --- |" + " ---: |" * (len(ws) + 3)]
    for s in res["systems"]:
        cells = []
        for w in ws:
            r = row_at(s, w, conns)
            cells.append("–" if r is None else (fmt(r["rps"], 0) + ("" if r["valid"] else " ⚠")))
        g = row_at(s, "get", conns) or row_at(s, "healthz", conns)
        extra = [fmt(g["service_cpu_us_per_req"]) if g else "–", fmt(g["p99_ms"], 2) if g else "–",
                 fmt(g["peak_rss_mb"]) if g else "–"]
        name = s["key"] if s["kind"] != "ceiling" else f"*{s['key']}*"
        lines.append(f"| {name} | " + " | ".join(cells + extra) + " |")
    return lines


def issue12_table(res):
    ts = issue12_targets(res)
    if not ts:
        return ["(odmd was not measured in this run)"]
    lines = ["Each a ratio of odmd's figure to another system's in this run; \"odmd before\" is odmd at "
             f"{res['versions'].get('odmd_baseline_commit') or '(not measured: bench/run --baseline)'}, "
             "before issue 12's work. From the interleaved medians where both systems have one (at 64 "
             "connections, and GET by id of odmd and odmd before at 16), else from the sequential runs.", "",
             "| target | connections | measured | goal | met | from |", "| --- | ---: | ---: | ---: | :---: | --- |"]
    for t in ts:
        met = "–" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['target']} ({t['detail']}) | {t['connections']} | {fmt(t['measured'], 2)} | "
                     f"{t['op']} {t['limit']} | {met} | {t['source']} |")
    return lines


def targets_table(res):
    ts = targets(res)
    if not ts:
        return ["(odmd was not measured in this run)"]
    lines = [f"From the {ts[0]['source']}.", "",
             "| target (64 connections) | measured | goal | met |", "| --- | ---: | ---: | :---: |"]
    for t in ts:
        met = "–" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['target']} ({t['detail']}) | {fmt(t['measured'], 2)} | {t['op']} {t['limit']} | {met} |")
    return lines


def markdown(res):
    m, v = res["machine"], res["versions"]
    out = [f"# odmd benchmark results ({res['mode']} run, {res['date']})", ""]
    out += [f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_mb']} MB, Linux {m['kernel']}, {m['os']}; "
            f"load average {' '.join(m['loadavg_at_start'])} at start, {' '.join(m.get('loadavg_at_end', []))} at end. "
            "Load generator, service and database share the 2 cores.", ""]
    st = res["settings"]
    out += [f"Settings: wrk -t{st['wrk_threads']}, {st['duration_s']} s per run after {st['warmup_s']} s of warm-up "
            f"per workload, connections {', '.join(map(str, st['connections']))}; odmd and the floor with "
            f"{st['odmd_workers']} workers; {st['world_documents']} world and {st['customer_documents']} customer "
            f"documents; elapsed {res.get('elapsed_s')} s.", ""]
    out += ["Versions: " + "; ".join(f"{k} {val}" for k, val in v.items() if val), ""]
    for s in res["systems"]:
        probs = []
        if s.get("error"):
            probs.append("error: " + s["error"].strip().replace("\n", " ")[:300])
        if s.get("conformance_failures"):
            probs.append("conformance: " + "; ".join(s["conformance_failures"])[:600])
        if s.get("keepalive_reused") is False:
            probs.append("keep-alive connections are not reused")
        if probs:
            out += [f"- **{s['key']}**: " + " / ".join(probs)]
    out += ["", f"## Summary at {HEADLINE_CONNS} connections", "",
            "Requests/s; ⚠ marks an invalid row: unexpected statuses, socket errors, responses later than wrk's 2 s "
            "timeout, or connections the server left unread (stalled); the per-workload tables below say which.", ""]
    out += summary_table(res)
    out += ["", "## Issue 12's targets", ""] + issue12_table(res)
    out += ["", "## The benchmark's first targets", ""] + targets_table(res)
    il = interleaved_table(res)
    if il:
        out += ["", "## Headline workloads, interleaved", ""] + il
    if res["mongoc_direct"]:
        out += ["", "## Ceiling: mongoc find-by-_id from N threads, no HTTP", "",
                "| threads | finds/s | client CPU µs/find | DB CPU µs/find | errors |", "| ---: | ---: | ---: | ---: | ---: |"]
        for r in res["mongoc_direct"]:
            out.append(f"| {r['threads']} | {fmt(r['finds_per_s'], 0)} | {fmt(r['client_cpu_us_per_find'])} | "
                       f"{fmt(r['db_cpu_us_per_find'])} | {r['errors']} |")
    for w in ORDER:
        for c in res["settings"]["connections"]:
            lines = workload_table(res, w, c)
            if len(lines) > 2:
                out += ["", f"## {res['workloads'][w]} — {c} connections", ""] + lines
    f = res.get("ferretdb")
    if f:
        out += ["", "## GET by ObjectId on FerretDB (SQLite), 16 connections", ""]
        if "skipped" in f:
            out.append(f"Skipped: {f['skipped']}")
        else:
            out += [f"{f['documents']} customer documents with ObjectId ids; wrk timeout {f['timeout']}; errors are "
                    "counted and shown, not treated as invalid: this row shows what a slow database does to each stack.",
                    "", "| system | req/s | p50 ms | p99 ms | CPU µs/req | DB CPU µs/req | errors (status / socket / timeouts / stalled) |",
                    "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
            for r in f["rows"]:
                if "error" in r or "rps" not in r:
                    out.append(f"| {r['key']} | – | – | – | – | – | {r.get('error', '')[:80]} |")
                    continue
                out.append(f"| {r['key']} | {fmt(r['rps'], 1)} | {fmt(r['p50_ms'], 1)} | {fmt(r['p99_ms'], 1)} | "
                           f"{fmt(r['service_cpu_us_per_req'])} | {fmt(r['db_cpu_us_per_req'])} | "
                           f"{r['unexpected_status']} / {r['socket_errors']} / {r['timeouts']} / {r.get('stalled_connections', 0)} |")
    return "\n".join(out) + "\n"


def chart(res, out_dir):
    """Two panels at the headline connection count: requests/s and service CPU µs/request per system and
    workload (log scale), ceilings drawn as lines over the workloads they bound."""
    c = HEADLINE_CONNS
    contenders = [s for s in res["systems"] if s["kind"] not in ("ceiling", "baseline")]
    ws = [w for w in ORDER if any(row_at(s, w, c) for s in contenders)]
    if not ws or not contenders:
        return None
    dat = os.path.join(out_dir, "chart-data.txt")
    with open(dat, "w") as f:
        for w in ws:
            rps = [row_at(s, w, c) for s in contenders]
            f.write(f'"{SHORT[w]}" ' + " ".join(f"{r['rps']:.1f}" if r else "NaN" for r in rps) + "\n")
        for w in ws:
            rps = [row_at(s, w, c) for s in contenders]
            f.write(f'"{SHORT[w]}" ' + " ".join(f"{r['service_cpu_us_per_req']:.2f}" if r else "NaN" for r in rps) + "\n")
    by = systems_by_key(res)
    lines_rps, lines_cpu = [], []

    def ceiling(key, w, label, color):
        s = by.get(key)
        r = row_at(s, w, c) if s else None
        if r and w in ws:
            i = ws.index(w)
            lines_rps.append((i, r["rps"], label, color))
            lines_cpu.append((i, r["service_cpu_us_per_req"], label, color))

    ceiling("nginx", "healthz", "nginx static", "#d62728")
    if "post_invalid" in ws and by.get("nginx") and row_at(by["nginx"], "healthz", c):
        r = row_at(by["nginx"], "healthz", c)
        i = ws.index("post_invalid")
        lines_rps.append((i, r["rps"], "nginx static", "#d62728"))
        lines_cpu.append((i, r["service_cpu_us_per_req"], "nginx static", "#d62728"))
    ceiling("floor", "get", "floor (C)", "#2ca02c")
    md = [r for r in res["mongoc_direct"]]
    if md and "get" in ws:
        best = max(md, key=lambda r: r["finds_per_s"])
        lines_rps.append((ws.index("get"), best["finds_per_s"], f"mongoc direct ({best['threads']} thr)", "#9467bd"))
    n = len(contenders)
    palette = ["#1f77b4", "#ff7f0e", "#ffbb78", "#8c564b", "#c49c94", "#17becf", "#9edae5", "#e377c2", "#7f7f7f"]

    def arrows(items, values):
        cmds = []
        seen = {}
        for i, y, label, color in items:
            k = seen[i] = seen.get(i, -1) + 1  # alternate labels above and below when lines share a group
            ly = y * (1.15 if k % 2 == 0 else 0.8)
            cmds.append(f'set arrow from {i - 0.45},{y} to {i + 0.45},{y} nohead lw 2.5 lc rgb "{color}" dt 2 front')
            cmds.append(f'set label "{label} {y:,.{0 if y >= 100 else 1}f}" at {i - 0.44},{ly} font ",8" tc rgb "{color}" front')
        vals = [v for v in values + [y for _, y, _, _ in items] if v and v > 0]
        if vals:
            cmds.append(f"set yrange [{min(vals) / 2}:{max(vals) * 2}]")
        return "\n".join(cmds)

    def values(field):
        return [r[field] for s in contenders for w in ws for r in [row_at(s, w, c)] if r]

    plots = ", ".join(
        f"'{dat}' index IDX using {k + 2}:xtic(1) title '{s['key']}' lc rgb '{palette[k % len(palette)]}'"
        for k, s in enumerate(contenders))
    svg = os.path.join(out_dir, "chart.svg")
    mode = res["mode"]
    script = f"""
set terminal svg size 1200,900 dynamic font "sans,11" background rgb "white"
set output '{svg}'
set datafile missing "NaN"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set key outside right top vertical font ",9"
set logscale y
set grid ytics
set multiplot layout 2,1 title "odmd and its peers at {c} connections on mongo-java-server ({mode} run, {res['date']}, 2 shared cores; one sequential run each, the interleaved medians are in the tables)"
set ylabel "requests/s (log)"
{arrows(lines_rps, values('rps'))}
plot {plots.replace('index IDX', f'every ::0::{len(ws) - 1}')}
unset arrow
unset label
set ylabel "service CPU µs per request (log)"
{arrows(lines_cpu, values('service_cpu_us_per_req'))}
plot {plots.replace('index IDX', f'every ::{len(ws)}::{2 * len(ws) - 1}')}
unset multiplot
"""
    png = os.path.join(out_dir, "chart.png")
    png_script = script.replace('set terminal svg size 1200,900 dynamic font "sans,11" background rgb "white"',
                                'set terminal pngcairo size 1400,1000 font "sans,10" background rgb "white"')
    png_script = png_script.replace(f"set output '{svg}'", f"set output '{png}'")
    for name, text in (("chart.gp", script), ("chart-png.gp", png_script)):
        gp = os.path.join(out_dir, name)
        with open(gp, "w") as f:
            f.write(text)
        r = subprocess.run(["gnuplot", gp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            print("report: gnuplot failed:\n" + r.stdout, file=sys.stderr)
            return None
        os.remove(gp)
    return svg


def update_readme(res, out_dir):
    path = os.path.join(BENCH, "README.md")
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return
    if begin not in text or end not in text:
        return
    m = res["machine"]
    body = [begin, "",
            f"Latest full run: {res['date']}, commit {res['versions'].get('odmd_commit')}, {m['cores']} cores "
            f"({m['cpu']}), Linux {m['kernel']}, load average {' '.join(m['loadavg_at_start'])} at start. "
            "All figures from one run on one machine; every row in [results/results.md](results/results.md).", "",
            "![requests/s and CPU per request at 64 connections](results/chart.svg)", "",
            f"Requests/s at {HEADLINE_CONNS} connections (⚠: an invalid row, see results.md):", ""]
    body += summary_table(res)
    body += ["", "Issue 12's targets:", ""] + issue12_table(res)
    body += ["", "The benchmark's first targets:", ""] + targets_table(res)
    il = interleaved_table(res)
    if il:
        body += ["", "The headline workloads measured interleaved (what the targets use):", ""] + il
    body += ["", end]
    text = text[:text.index(begin)] + "\n".join(body) + text[text.index(end) + len(end):]
    with open(path, "w") as f:
        f.write(text)


def main():
    out_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(BENCH, "results"))
    with open(os.path.join(out_dir, "results.json")) as f:
        res = json.load(f)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(markdown(res))
    chart(res, out_dir)
    if out_dir == os.path.join(BENCH, "results") and res["mode"] == "full":
        update_readme(res, out_dir)
    for title, ts in (("issue 12's targets", issue12_targets(res)), ("the first targets", targets(res))):
        print(f"{title}:")
        for t in ts:
            met = "?" if t["met"] is None else ("met" if t["met"] else "missed")
            where = f" at {t['connections']}, {t['source']}" if "connections" in t else ""
            print(f"  {t['target']}{where}: {fmt(t['measured'], 2)} ({t['op']} {t['limit']}) {met}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
