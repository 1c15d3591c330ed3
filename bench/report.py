"""Markdown tables from a bench.run results file (pasted into docs/benchmarks.md).

python -m bench.report bench/results/latest.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.run import best_at_p99


def _ms(summary: dict, key: str) -> str:
    value = summary.get(key)
    if value is None:
        return "–"
    if value == float("inf"):
        return "∞"
    return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def equal_p99(f: dict, target_ms: float) -> list[object]:
    ours, theirs = best_at_p99(f["bot"], target_ms), best_at_p99(f["peer"], target_ms)
    return [f"≤ {target_ms:,.0f} ms", ours, theirs, round(ours / theirs, 2) if theirs else "–"]


def saturation(f: dict) -> list[object]:
    ours = max(s["throughput_per_s"] for s in f["bot"])
    theirs = max(s["throughput_per_s"] for s in f["peer"])
    return ["best replies/s at any p99", ours, theirs, round(ours / theirs, 2) if theirs else "–"]


def _title(title: str, f: dict) -> str:
    load = (f.get("machine") or {}).get("loadavg_at_start")
    where = f" (baseline: {f['root']})" if "root" in f else ""
    after = f", load average {' / '.join(map(str, load))} right after" if load else ""
    return f"### {title}{where}{after}\n\n"


def _nonlu(f: dict, title: str) -> str:
    rows = []
    for r in f["runs"]:
        if "accepted_per_s" in r:
            rows.append(
                [
                    r["mode"],
                    r["accepted"],
                    r["accepted_per_s"],
                    r["replied_per_s"],
                    _ms(r["webhook_latency"], "p50_ms"),
                    _ms(r["webhook_latency"], "p99_ms"),
                    r["rss_max_mb"],
                    r.get("cpu_ms_per_message"),
                ]
            )
        else:
            rows.append(
                [
                    r["mode"],
                    r["answered"],
                    "–",
                    r["throughput_per_s"],
                    _ms(r["latency"], "p50_ms"),
                    _ms(r["latency"], "p99_ms"),
                    r["rss_max_mb"],
                    r.get("bot_cpu_ms_per_message"),
                ]
            )
    return (
        title
        + table(
            [
                "mode",
                "messages",
                "accepted/s",
                "replied/s",
                "p50 ms",
                "p99 ms",
                "RSS max MB",
                "CPU ms/msg",
            ],
            rows,
        )
        + f"\n\n/model/parse calls seen: {f['nlu_calls_seen_by_proxy']}."
    )


def _memory(f: dict, title: str) -> str:
    rows = [
        ["cold start to /healthz 200 (s, 3 runs)", f.get("cold_start_to_healthz_s")],
        ["CPU seconds used until ready", f.get("cpu_s_to_healthz")],
        ["bot RSS idle (MB)", f.get("rss_idle_mb")],
    ]
    for load in f.get("under_load", []):
        rows.append(
            [
                f"bot RSS max (MB), {load['load']}",
                f"{load['rss_max_mb']} ({load['answered']} of {load['sent']} answered,"
                f" {load.get('bot_cpu_ms_per_message')} ms CPU/msg)",
            ]
        )
    rows += [
        ["Rasa NLU server RSS (MB)", f.get("rasa_nlu_rss_mb")],
        ["Rasa NLU server RSS at the end (MB)", f.get("rasa_nlu_rss_mb_end")],
    ]
    return title + table(["what", "value"], rows)


def render(results: dict) -> str:
    out = []
    m = results["machine"]
    out.append(
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, kernel {m['kernel']},"
        f" Python {m['python']}; load average at start {m['loadavg_at_start']}; {m['when']}."
    )
    figs = results["figures"]
    if "overhead" in figs:
        rows = []
        for name in ("overhead", "overhead_baseline"):
            f = figs.get(name)
            if not f:
                continue
            for label, key in (
                ("bot overhead (accepted → handed over − parse)", "overhead"),
                ("inside /model/parse", "inside_parse"),
                ("accepted → handed over", "accepted_to_sent"),
                ("client send → handed over", "client_send_to_sent"),
            ):
                s = f[key]
                rows.append(
                    [name, label, s.get("n"), _ms(s, "p50_ms"), _ms(s, "p90_ms"), _ms(s, "p99_ms")]
                )
        out.append(
            "### 1. Overhead\n\n" + table(["run", "what", "n", "p50 ms", "p90 ms", "p99 ms"], rows)
        )
    if "peer" in figs:
        f = figs["peer"]
        rows = []
        for who in ("bot", "peer"):
            for s in f[who]:
                cpu = s.get("bot_cpu_ms_per_message") or s.get("rasa_cpu_ms_per_message")
                rows.append(
                    [
                        who,
                        s["offered_per_s"],
                        s["sent"],
                        s["answered"],
                        s["throughput_per_s"],
                        _ms(s["latency"], "p50_ms"),
                        _ms(s["latency"], "p99_ms"),
                        s["rss_max_mb"],
                        cpu,
                    ]
                )
        out.append(
            "### 2. Against the peer\n\n"
            + table(
                [
                    "stack",
                    "offered/s",
                    "sent",
                    "answered",
                    "replies/s",
                    "p50 ms",
                    "p99 ms",
                    "RSS max MB",
                    "CPU ms/msg (bot or Rasa process)",
                ],
                rows,
            )
            + "\n\n"
            + table(
                ["p99 target", "bot replies/s", "Rasa REST replies/s", "ratio bot / Rasa"],
                [*(equal_p99(f, t) for t in (500, 1000, 2500)), saturation(f)],
            )
        )
    for key in ("nonlu", "nonlu_baseline"):
        if key in figs:
            out.append(_nonlu(figs[key], _title("3. No-NLU paths", figs[key])))
    for key in ("memory", "memory_baseline"):
        if key in figs:
            out.append(_memory(figs[key], _title("4. Memory and start-up", figs[key])))
    if "nlucpu" in figs:
        f = figs["nlucpu"]
        out.append(
            f"### Rasa NLU CPU\n\n{f['parses']} `/model/parse` calls (2 at a time):"
            f" {f['rasa_cpu_ms_per_parse']} ms CPU each in the Rasa process; latency p50"
            f" {_ms(f['latency'], 'p50_ms')} ms, p99 {_ms(f['latency'], 'p99_ms')} ms."
        )
    growth = [
        (label, figs[key])
        for key, label in (("growth_before_queue_fix", "before"), ("growth", "after"))
        if key in figs
    ]
    if growth:
        rows = []
        for label, fig in growth:
            for s in fig["steps"]:
                rows.append(
                    [
                        f"{s['contacts_and_cases']:,} ({label} the queue-depth fix)",
                        s["db_mb"],
                        s["rss_idle_mb"],
                        s["rss_max_mb"],
                        _ms(s["postback_accepted_to_sent"], "p50_ms"),
                        _ms(s["postback_accepted_to_sent"], "p99_ms"),
                        _ms(s["text_accepted_to_sent"], "p50_ms"),
                        _ms(s["text_accepted_to_sent"], "p99_ms"),
                        _ms(s["healthz"], "p50_ms"),
                        _ms(s["metrics_scrape"], "p50_ms"),
                    ]
                )
        out.append(
            "### 5. Growth\n\n"
            + table(
                [
                    "contacts + cases",
                    "DB MB",
                    "RSS idle MB",
                    "RSS max MB",
                    "button p50 ms",
                    "button p99 ms",
                    "text p50 ms",
                    "text p99 ms",
                    "/healthz p50 ms",
                    "/metrics p50 ms",
                ],
                rows,
            )
        )
    for name, title in (("workers", "zero-cost fake Rasa"), ("workers_rasa", "real Rasa")):
        if name not in figs:
            continue
        rows = [
            [
                s["path"],
                s["workers"],
                s["events"],
                s["replied"],
                s["replies_per_s"],
                s["worker_cpu_ms_per_event"],
                s["worker_rss_max_mb"],
                s["outbox_rows_per_event_max"],
            ]
            for s in figs[name]["steps"]
        ]
        out.append(
            f"### Workers (PostgreSQL, {title})\n\n"
            + table(
                [
                    "path",
                    "workers",
                    "events",
                    "replied",
                    "replies/s",
                    "worker CPU ms/event",
                    "worker RSS MB",
                    "outbox rows per event (max)",
                ],
                rows,
            )
        )
    return "\n\n".join(out) + "\n"


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results/latest.json")
    print(render(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
