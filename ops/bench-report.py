#!/usr/bin/env python3
"""Turns ops/bench's results.jsonl into results.json, table.md and two PNG plots (gnuplot)."""
import json, os, platform, statistics, subprocess, sys, datetime

results_path, out = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(results_path) if l.strip()]

def pick(scenario, **match):
    return [r for r in rows if r.get("scenario") == scenario and all(r.get(k) == v for k, v in match.items())]

def stat(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3), "runs": len(values)}

figures = {}
def figure(name, values, unit, baseline=None):
    s = stat(values)
    if s is None:
        return
    s["unit"] = unit
    if baseline and figures.get(baseline):
        s["baseline"] = baseline
        s["ratio"] = round(s["median"] / figures[baseline]["median"], 3) if figures[baseline]["median"] else None
    figures[name] = s

figure("raw publish with confirms (window 1000)", [r["per_s"] for r in pick("raw-publish")], "msg/s")
figure("raw consume + ack (prefetch 100)", [r["per_s"] for r in pick("raw-consume")], "msg/s")
for c in (1, 2):
    for b in (1, 50):
        figure(f"the handler's statements straight, {c} clients, batch {b}",
               [r["applied_per_s"] for r in pick("store", clients=c, batch=b)], "results/s")
for c in (1, 2, 4):
    store = min(c, 2)  # the straight baseline runs 1 and 2 clients (two cores)
    figure(f"drain, {c} consumers, batch off", [r["applied_per_s"] for r in pick("drain", consumers=c, batch=1)], "msg/s",
           baseline=f"the handler's statements straight, {store} clients, batch 1")
    figure(f"drain, {c} consumers, batch 50", [r["applied_per_s"] for r in pick("drain", consumers=c, batch=50)], "msg/s",
           baseline=f"the handler's statements straight, {store} clients, batch 50")
for c in (1, 16, 64):
    got = pick("ingest", connections=c)
    figure(f"ingest, {c} connections: accepted", [r["accepted_per_s"] for r in got], "req/s",
           baseline="raw publish with confirms (window 1000)")
    figure(f"ingest, {c} connections: p50", [r["p50_ms"] for r in got], "ms")
    figure(f"ingest, {c} connections: p99", [r["p99_ms"] for r in got], "ms")
    figure(f"ingest, {c} connections: max", [r["max_ms"] for r in got], "ms")
for c in (16, 64):
    got = pick("commands", connections=c)
    figure(f"commands, {c} connections: accepted", [r["accepted_per_s"] for r in got], "req/s",
           baseline=f"ingest, {c} connections: accepted")
    figure(f"commands, {c} connections: p99", [r["p99_ms"] for r in got], "ms")
waited = pick("wait")
figure("--wait round trip at 100/s: p50", [r["p50_ms"] for r in waited], "ms")
figure("--wait round trip at 100/s: p99", [r["p99_ms"] for r in waited], "ms")
figure("read API under that load: p50", [r["reads"]["p50_ms"] for r in waited if r.get("reads", {}).get("p50_ms") is not None], "ms")
figure("read API under that load: p99", [r["reads"]["p99_ms"] for r in waited if r.get("reads", {}).get("p99_ms") is not None], "ms")
e2e = pick("e2e")
figure("end to end at 1000/s: p50", [r["p50_ms"] for r in e2e], "ms")
figure("end to end at 1000/s: p99", [r["p99_ms"] for r in e2e], "ms")
figure("end to end at 1000/s: max", [r["max_ms"] for r in e2e], "ms")
figure("end to end at 1000/s: applied", [r["applied"] for r in e2e], "msgs")
for setting in sorted({(r["consumers"], r["batch"]) for r in pick("dispatch")}):
    c, b = setting
    got = pick("dispatch", consumers=c, batch=b)
    figure(f"dispatch, {c} consumers, batch {b}", [r["dispatched_per_s"] for r in got], "dispatches/s")
    figure(f"dispatch, {c} consumers, batch {b}: Bullpen's own time (mean)", [r.get("own_time_mean_ms") for r in got], "ms")
    figure(f"dispatch, {c} consumers, batch {b}: gateway wait (mean)", [r.get("gateway_wait_mean_ms") for r in got], "ms")
for c in (16, 64):
    figure(f"task-result webhook, {c} connections (paired with Stripe's)", [r["accepted_per_s"] for r in pick("ingest-paired", connections=c)], "req/s")
    figure(f"Stripe webhooks, {c} connections: accepted", [r["accepted_per_s"] for r in pick("stripe-ingest", connections=c)], "req/s",
           baseline=f"task-result webhook, {c} connections (paired with Stripe's)")
    figure(f"Stripe webhooks, {c} connections: p99", [r["p99_ms"] for r in pick("stripe-ingest", connections=c)], "ms")
figure("billing events applied, 2 consumers", [r["applied_per_s"] for r in pick("billing")], "events/s")
figure("raw emails to the stand-in (2 threads)", [r["sent_per_s"] for r in pick("raw-emails")], "emails/s")
for storm in sorted({r["rate_limited"] for r in pick("notify")}):
    got = pick("notify", rate_limited=storm)
    name = "notify, 2 consumers" + (f", storm ({storm} answered 429)" if storm else "")
    figure(name, [r["sent_per_s"] for r in got], "sent/s", baseline=None if storm else "raw emails to the stand-in (2 threads)")
    figure(f"{name}: emails sent twice or never", [r["emails_twice"] + r["emails_missing"] + r["parked"] for r in got], "emails")
figure("retention: events pruned alone", [r["rows_per_s"] for r in pick("retention", drain=False)], "rows/s")
figure("retention: events pruned while results drain", [r["rows_per_s"] for r in pick("retention", drain=True)], "rows/s")
figure("retention: a million rows' pruning while results drain", [r["seconds"] for r in pick("retention", drain=True)], "s")
figure("result drain alone (2 consumers, batch 50; retention's baseline)",
       [r["applied_per_s"] for r in pick("retention-drain", pruning=False)], "results/s")
figure("result drain while retention prunes", [r["applied_per_s"] for r in pick("retention-drain", pruning=True)], "results/s",
       baseline="result drain alone (2 consumers, batch 50; retention's baseline)")
web_alone = [r for r in pick("web") if r["sessions"] == 0]
web_loaded = [r for r in pick("web") if r["sessions"] > 0]
figure("result drain alone (2 consumers, batch 50; the web's baseline)", [r["applied_per_s"] for r in web_alone], "results/s")
figure("result drain with the web's sessions browsing", [r["applied_per_s"] for r in web_loaded], "results/s",
       baseline="result drain alone (2 consumers, batch 50; the web's baseline)")
for key, label in (("pages", "every page"), ("home", "the command center"), ("review", "the review queue"),
                   ("project", "a project's page")):
    got = [r["pages"] if key == "pages" else r["by_page"][key] for r in web_loaded]
    figure(f"web, {label}: p50", [g["p50_ms"] for g in got], "ms")
    figure(f"web, {label}: p99", [g["p99_ms"] for g in got], "ms")
figure("web pages served while results drain", [r["pages_per_s"] for r in web_loaded], "pages/s")
figure("web page errors", [sum(r["errors"].values()) for r in web_loaded], "answers")
mem = pick("memory")
figure("worker RSS at start (4 consumers)", [r["start_mb"] for r in mem], "MB")
figure("worker RSS after N messages", [r["after_n_mb"] for r in mem], "MB")
figure("worker RSS after 10 N messages", [r["after_10n_mb"] for r in mem], "MB")

# Targets of issue 4.
best_batched = max((figures.get(f"drain, {c} consumers, batch 50", {}).get("median", 0), c) for c in (1, 2, 4))
targets = []
def target(text, ok):
    targets.append({"target": text, "met": bool(ok)})
raw_consume = figures.get("raw consume + ack (prefetch 100)", {}).get("median")
if best_batched[0]:
    target(f"drain with batching >= 10,000 msg/s at its best consumer count ({best_batched[1]}): {best_batched[0]}", best_batched[0] >= 10000)
straight_50 = figures.get("the handler's statements straight, 2 clients, batch 50", {}).get("median")
if straight_50 and best_batched[0]:
    target(f"drain with batching >= 0.8 of the handler's statements straight (2 clients, batch 50): "
           f"{best_batched[0] / straight_50:.3f}", best_batched[0] / straight_50 >= 0.8)
straight_1 = figures.get("the handler's statements straight, 1 clients, batch 1", {}).get("median")
drain_1 = figures.get("drain, 1 consumers, batch off", {}).get("median")
if straight_1 and drain_1:
    target(f"drain, one result per transaction, >= 0.9 of the same statements straight (1 client): "
           f"{drain_1 / straight_1:.3f}", drain_1 / straight_1 >= 0.9)
if raw_consume and best_batched[0]:
    target(f"drain with batching >= 0.35 of raw consume+ack: {best_batched[0] / raw_consume:.3f}", best_batched[0] / raw_consume >= 0.35)
i64 = figures.get("ingest, 64 connections: accepted", {}).get("median", 0)
p99_64 = figures.get("ingest, 64 connections: p99", {}).get("median", 1e9)
if "ingest, 64 connections: accepted" in figures:  # targets only for what this run measured
    target(f"ingest >= 8,000 accepted/s at 64 connections: {i64}", i64 >= 8000)
    target(f"ingest p99 <= 30 ms at 64 connections: {p99_64}", p99_64 <= 30)
e2e_p99 = figures.get("end to end at 1000/s: p99", {}).get("median", 1e9)
if "end to end at 1000/s: p99" in figures:
    target(f"end to end p99 <= 20 ms at 1000/s: {e2e_p99}", e2e_p99 <= 20)
for c in (16, 64):
    ratio = figures.get(f"commands, {c} connections: accepted", {}).get("ratio")
    if ratio is not None:
        target(f"commands accepted >= 0.8 of the task-result webhook's rate at {c} connections: {ratio}", ratio >= 0.8)
for c in (16, 64):
    ratio = figures.get(f"Stripe webhooks, {c} connections: accepted", {}).get("ratio")
    if ratio is not None:
        target(f"Stripe webhooks accepted >= 0.8 of the task-result webhook's rate at {c} connections: {ratio}", ratio >= 0.8)
wait_p99 = figures.get("--wait round trip at 100/s: p99", {}).get("median")
if wait_p99 is not None:
    target(f"--wait p99 < 50 ms at 100 commands/s: {wait_p99}", wait_p99 < 50)
dispatch_2 = {b: figures[f"dispatch, 2 consumers, batch {b}"]["median"] for (c, b) in
              {(r["consumers"], r["batch"]) for r in pick("dispatch")} if c == 2}
if dispatch_2:
    best = 20 if 20 in dispatch_2 else max(dispatch_2, key=dispatch_2.get)  # 20: the worker's default batch
    target(f"dispatch with 2 consumers >= 1,000/s (batch {best}): {dispatch_2[best]}", dispatch_2[best] >= 1000)
    own = figures.get(f"dispatch, 2 consumers, batch {best}: Bullpen's own time (mean)", {}).get("median")
    if own is not None:
        target(f"Bullpen's own time per dispatch <= 1 ms (2 consumers, batch {best}; a mean): {own}", own <= 1)
web_p99 = figures.get("web, every page: p99", {}).get("median")
if web_p99 is not None:
    target(f"web p99 page time < 50 ms with the sessions browsing while results drain: {web_p99}", web_p99 < 50)
    ratio = figures.get("result drain with the web's sessions browsing", {}).get("ratio")
    target(f"result drain with the web's load >= 0.9 of the drain alone: {ratio}", ratio is not None and ratio >= 0.9)
notify_plain = figures.get("notify, 2 consumers", {}).get("median")
if notify_plain is not None:
    target(f"notify >= 1,000 sent/s with 2 consumers, the stand-in answering at once: {notify_plain}", notify_plain >= 1000)
    wrong = sum(f["median"] for name, f in figures.items() if name.startswith("notify") and name.endswith("twice or never"))
    target(f"notify storm and plain: every email sent exactly once (sent twice, never or parked: {wrong})", wrong == 0)
rss = figures.get("worker RSS after N messages", {}).get("median", 1e9)
if "worker RSS after N messages" in figures:
    target(f"worker RSS <= 100 MB with 4 consumers: {rss}", rss <= 100)
if "worker RSS after 10 N messages" in figures:
    growth = figures["worker RSS after 10 N messages"]["median"] / rss - 1
    target(f"RSS growth from N to 10 N <= 10 %: {growth * 100:.1f} %", growth <= 0.10)

machine = {
    "cpus": os.cpu_count(), "kernel": platform.release(),
    "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
}
summary = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "machine": machine,
           "figures": figures, "targets": targets}
json.dump(summary, open(os.path.join(out, "results.json"), "w"), indent=2)

lines = [f"Bullpen benchmark, {summary['date']}, {machine['cpus']} cores, {machine['memory_gb']} GiB; "
         f"median of {max((f['runs'] for f in figures.values()), default=0)} runs [min - max]", "",
         "| figure | median | range | unit | ratio to baseline |", "|---|---:|---|---|---|"]
for name, f in figures.items():
    ratio = f"{f['ratio']} x {f['baseline']}" if f.get("ratio") is not None else ""
    lines.append(f"| {name} | {f['median']} | {f['min']} - {f['max']} | {f['unit']} | {ratio} |")
lines += ["", "| target | met |", "|---|---|"] + [f"| {t['target']} | {'yes' if t['met'] else 'NO'} |" for t in targets]
open(os.path.join(out, "table.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))

# Plots.
def med(name):
    return figures.get(name, {}).get("median", 0)
with open(os.path.join(out, "throughput.dat"), "w") as f:
    for c in (1, 2, 4):
        f.write(f"{c} {med(f'drain, {c} consumers, batch off')} {med(f'drain, {c} consumers, batch 50')} "
                f"{med(f'the handler' + chr(39) + f's statements straight, {min(c, 2)} clients, batch 50')} "
                f"{med('raw consume + ack (prefetch 100)')}\n")
with open(os.path.join(out, "latency.dat"), "w") as f:
    for label, key in (("ingest-1", "ingest, 1 connections"), ("ingest-16", "ingest, 16 connections"),
                       ("ingest-64", "ingest, 64 connections"), ("e2e-1000/s", "end to end at 1000/s")):
        f.write(f"{label} {med(key + ': p50')} {med(key + ': p99')} {med(key + ': max')}\n")
script = f"""
set terminal png size 900,540
set output '{out}/throughput.png'
set title 'Worker drain: applied messages per second'
set xlabel 'consumers (the straight baseline: clients)'
set ylabel 'messages per second'
set xtics (1, 2, 4)
set key top left
set grid
plot '{out}/throughput.dat' using 1:2 with linespoints title 'drain, batch off', \\
     '' using 1:3 with linespoints title 'drain, batch 50', \\
     '' using 1:4 with linespoints dashtype 2 title 'the handler statements straight, batch 50', \\
     '' using 1:5 with lines dashtype 3 title 'raw consume + ack'
set output '{out}/latency.png'
set title 'Latency percentiles (ms)'
set xlabel ''
set ylabel 'milliseconds'
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8
set logscale y
set xtics auto
plot '{out}/latency.dat' using 2:xtic(1) title 'p50', '' using 3 title 'p99', '' using 4 title 'max'
"""
try:
    subprocess.run(["gnuplot"], input=script.encode(), check=True)
except Exception as error:
    print(f"(no plots: {error})", file=sys.stderr)
