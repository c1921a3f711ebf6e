"""Times promptwall against detect-secrets, tiktoken and LLM Guard on one corpus, and compares
what each finds among planted secrets and benign prompts. Run through ``run.sh``, which
installs everything; this file only measures.

    python compare.py --corpus corpus.jsonl --cli target/release/promptwall --out target/peers \
        [--llm-guard-python PYTHON | --llm-guard-skipped REASON] [--rounds 5] [--peer-rounds 3]

Per-prompt timings: every prompt is timed on its own (``time.perf_counter_ns`` around one
call) in each of ``--rounds`` passes over the corpus (detect-secrets: ``--peer-rounds``; LLM
Guard: one pass, it is slow), after a warm-up; a prompt's time is the median of its passes,
and the tables give the mean and the 99th percentile of those over the corpus, and the CPU
time of a pass divided by the number of prompts (see ``timing.per_prompt``). Batch timings
(``scan_batch``, the CLI) are the median over passes of total wall time divided by the
number of prompts.

Detection: a planted secret counts as found when a tool reports a secret that overlaps the
planted snippet (promptwall: a finding of category ``secret``; detect-secrets: a reported
secret value found again in the text; LLM Guard: the scanner flags the prompt and the snippet
is no longer intact in its redacted output). A benign prompt counts as a false positive when
a tool reports any secret in it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from importlib import metadata
from pathlib import Path
from typing import Any

from timing import pass_cpu, per_prompt, plain_pass, summary

PLANTED = ("planted-generated", "planted-rules")
# promptwall with a policy that turns categories off (docs/policy.md): as a secret scanner,
# the job detect-secrets does, and as a scanner of secrets and personal data. Their rules all
# read the raw text, so no derived view is built. Key: (label, policy file).
POLICIES = Path(__file__).resolve().parent.parent / "policies"
RESTRICTED = {
    "secrets": ("promptwall, secrets only", POLICIES / "secrets-only.toml"),
    "sensitive": ("promptwall, secrets and PII only", POLICIES / "secrets-and-pii.toml"),
}
BENIGN = ("benign", "benign-dev")
Spans = list[tuple[int, int, str]]


def fail(msg: str) -> None:
    print(f"compare.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def occurrences(text: str, value: str) -> list[tuple[int, int]]:
    out = []
    i = text.find(value) if value else -1
    while i >= 0:
        out.append((i, i + len(value)))
        i = text.find(value, i + 1)
    return out


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def machine() -> dict[str, Any]:
    def first(path: str, prefix: str) -> str | None:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(prefix):
                    return line.split(prefix[-1], 1)[1].strip().strip('"')
        except OSError:
            pass
        return None

    mem = first("/proc/meminfo", "MemTotal:")
    return {
        "cpu": first("/proc/cpuinfo", "model name\t:") or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem.split()[0]) / 1024 / 1024, 1) if mem else None,
        "os": first("/etc/os-release", "PRETTY_NAME=") or platform.platform(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_before": os.getloadavg(),
    }


# --- promptwall ---------------------------------------------------------------------------


def run_promptwall(rows: list[dict[str, Any]], cli: Path, rounds: int, work: Path) -> dict[str, Any]:
    import promptwall

    texts = [r["text"] for r in rows]
    n = len(texts)
    t0 = time.perf_counter()
    fw = promptwall.Firewall()
    build_s = time.perf_counter() - t0
    scan, scan_us, verdicts, _ = per_prompt(fw.scan, texts, rounds)
    loop_wall, loop_cpu = plain_pass(fw.scan, texts, rounds)
    parts: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        parts[r["set"]].append(r["text"])
    cpu_by_part = {part: pass_cpu(fw.scan, ts, rounds) for part, ts in parts.items()}
    spans = [[(f.start, f.end, f.rule) for f in v.findings if f.category == "secret"] for v in verdicts]
    actions = [v.action for v in verdicts]

    restricted: dict[str, dict[str, Any]] = {}
    for key, (_, policy) in RESTRICTED.items():
        rfw = promptwall.Firewall.from_files(policy=policy)
        rscan, _, rverdicts, _ = per_prompt(rfw.scan, texts, rounds)
        rloop_wall, rloop_cpu = plain_pass(rfw.scan, texts, rounds)
        restricted[key] = {
            "rules": len(rfw.rules),
            "scan": rscan,
            "loop": {"wall_us": rloop_wall, "cpu_us": rloop_cpu},
            "cpu_by_part": {part: pass_cpu(rfw.scan, ts, rounds) for part, ts in parts.items()},
            "spans": [[(f.start, f.end, f.rule) for f in v.findings if f.category == "secret"] for v in rverdicts],
        }

    batch: dict[str, dict[str, float]] = {}
    for threads in (None, 1):
        fw.scan_batch(texts[:200], threads)
        walls, cpus = [], []
        for _ in range(rounds):
            c0, w0 = time.process_time_ns(), time.perf_counter_ns()
            out = fw.scan_batch(texts, threads)
            walls.append(time.perf_counter_ns() - w0)
            cpus.append(time.process_time_ns() - c0)
        if [v.action for v in out] != actions:
            fail("scan_batch and scan disagree on some verdict")
        batch["default" if threads is None else str(threads)] = {
            "wall_us": statistics.median(walls) / 1000 / n,
            "cpu_us": statistics.median(cpus) / 1000 / n,
        }

    # The CLI: one process over a JSONL file, as a user would run it on a log of prompts.
    jsonl = work / "prompts.jsonl"
    with jsonl.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n")
    empty = work / "empty.jsonl"
    empty.write_text("")
    # The same prompts three times over: the difference with one pass is what a prompt costs
    # once the regexes it needs are compiled (they are compiled on first use, during the
    # first pass).
    thrice = work / "prompts-x3.jsonl"
    thrice.write_text(jsonl.read_text(encoding="utf-8") * 3, encoding="utf-8")

    def cli_run(path: Path) -> tuple[float, float, bytes]:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter_ns()
        p = subprocess.run([str(cli), "scan", "--jsonl", str(path)], capture_output=True)
        wall = (time.perf_counter_ns() - t0) / 1000
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        # Exit status 1 means "something was found"; anything else is a failure.
        if p.returncode not in (0, 1):
            fail(f"`{cli} scan --jsonl` exited {p.returncode}: {p.stderr.decode(errors='replace')[:500]}")
        cpu = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) * 1e6
        return wall, cpu, p.stdout

    cli_run(empty)
    runs, starts, runs3 = [], [], []
    for _ in range(rounds):
        wall, cpu, stdout = cli_run(jsonl)
        runs.append((wall, cpu))
        starts.append(cli_run(empty)[:2])
        runs3.append(cli_run(thrice)[:2])
    lines = stdout.decode().splitlines()
    if len(lines) != n:
        fail(f"the CLI printed {len(lines)} verdicts for {n} prompts")
    cli_agree = sum(json.loads(line)["action"] == a for line, a in zip(lines, actions))
    total = statistics.median(w for w, _ in runs)
    startup = statistics.median(w for w, _ in starts)
    cpu_total = statistics.median(c for _, c in runs)
    cpu_startup = statistics.median(c for _, c in starts)
    total3 = statistics.median(w for w, _ in runs3)
    cpu_total3 = statistics.median(c for _, c in runs3)

    return {
        "version": promptwall.__version__,
        "rules": len(fw.rules),
        "build_s": build_s,
        "scan": scan,
        "scan_us": scan_us,
        "loop": {"wall_us": loop_wall, "cpu_us": loop_cpu},
        "cpu_by_part": cpu_by_part,
        "batch": batch,
        "cli": {
            "total_ms": total / 1000,
            "wall_us": total / n,
            "cpu_us": cpu_total / n,
            "startup_ms": startup / 1000,
            "startup_cpu_ms": cpu_startup / 1000,
            "wall_us_after_startup": (total - startup) / n,
            "cpu_us_after_startup": (cpu_total - cpu_startup) / n,
            "wall_us_compiled": (total3 - total) / (2 * n),
            "cpu_us_compiled": (cpu_total3 - cpu_total) / (2 * n),
            "actions_agree": cli_agree,
        },
        "spans": spans,
        "restricted": restricted,
    }


# --- detect-secrets -----------------------------------------------------------------------


def run_detect_secrets(rows: list[dict[str, Any]], work: Path, rounds: int) -> dict[str, Any]:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    texts = [r["text"] for r in rows]
    path = work / "prompt"

    def via_file(text: str) -> list[tuple[str, str]]:
        # The in-process API of detect-secrets' README: a SecretsCollection scans a file, so
        # a prompt is written to one first (LLM Guard's Secrets scanner does the same). The
        # other string entry point, `scan_line` (behind `detect-secrets scan --string`), is a
        # diagnostic: it searches eagerly and yields every word with its entropy, unfiltered.
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        sc = SecretsCollection()
        sc.scan_file(str(path))
        return [(s.type, s.secret_value or "") for _, s in sc]

    with default_settings() as settings:
        plugins = len(settings.plugins)
        timing, us, found, cpu_us = per_prompt(via_file, texts, rounds, warmup=20, cpu_each=True)
    # A secret whose value cannot be found in the text again is placed over the whole text.
    spans = [
        [(s, e, typ) for typ, value in f for s, e in occurrences(text, value)] or [(0, len(text), typ) for typ, _ in f]
        for text, f in zip(texts, found)
    ]
    return {
        "version": version("detect-secrets"),
        "plugins": plugins,
        "scan": timing,
        "scan_us": us,
        "cpu_us": cpu_us,
        "spans": spans,
    }


# --- tiktoken -----------------------------------------------------------------------------


def run_tokens(rows: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    import promptwall
    import tiktoken

    texts = [r["text"] for r in rows]
    out: dict[str, Any] = {"tiktoken_version": version("tiktoken")}
    for name in ("cl100k_base", "o200k_base"):
        try:
            enc = tiktoken.get_encoding(name)
        except Exception as e:  # noqa: BLE001 - any failure to load offline ends the run
            fail(f"tiktoken cannot load {name} (run.sh fills TIKTOKEN_CACHE_DIR): {e}")
        promptwall.count_tokens("warm up", name)  # builds the encoding's tables once
        tk, _, tk_n, _ = per_prompt(lambda t: len(enc.encode_ordinary(t)), texts, rounds)
        pw, _, pw_n, _ = per_prompt(lambda t: promptwall.count_tokens(t, name), texts, rounds)
        mismatches = [(rows[i]["id"], a, b) for i, (a, b) in enumerate(zip(tk_n, pw_n)) if a != b]
        out[name] = {
            "tiktoken": tk,
            "promptwall": pw,
            "tokens_total": sum(tk_n),
            "mismatches": len(mismatches),
            "mismatch_examples": mismatches[:10],
        }
    return out


# --- LLM Guard (its own virtual environment: it needs bc-detect-secrets, a fork) ------------


def run_llm_guard(python: str, corpus: Path, work: Path) -> dict[str, Any]:
    out = work / "llm_guard.json"
    script = Path(__file__).with_name("llm_guard_bench.py")
    p = subprocess.run([python, str(script), str(corpus), str(out)], capture_output=True, text=True)
    if p.returncode != 0:
        return {"skipped": f"llm_guard_bench.py failed (exit {p.returncode}): {p.stderr.strip()[-800:]}"}
    return json.loads(out.read_text())


# --- agreement ----------------------------------------------------------------------------


def overlaps(spans: Spans, start: int, end: int) -> bool:
    return any(s < end and e > start for s, e, _ in spans)


def agreement(rows: list[dict[str, Any]], found: dict[str, list[bool]]) -> dict[str, Any]:
    """Recall per set and per secret type, for planted rows."""
    result: dict[str, Any] = {}
    for set_name in PLANTED:
        idx = [i for i, r in enumerate(rows) if r["set"] == set_name]
        if not idx:
            continue
        by_type: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i in idx:
            for tool, hits in found.items():
                by_type[rows[i]["secret_type"]][tool].append(int(hits[i]))
        result[set_name] = {
            "prompts": len(idx),
            "found": {tool: sum(hits[i] for i in idx) for tool, hits in found.items()},
            "by_type": {k: {t: [sum(v), len(v)] for t, v in d.items()} for k, d in sorted(by_type.items())},
        }
    return result


def differences(rows: list[dict[str, Any]], found: dict[str, list[bool]]) -> dict[str, Any]:
    """What promptwall finds and each peer misses, and the other way round, by set and type."""
    out: dict[str, Any] = {}
    restricted_labels = {label for label, _ in RESTRICTED.values()}
    for peer in [t for t in found if t != "promptwall" and t not in restricted_labels]:
        only: dict[str, Counter[str]] = {"promptwall": Counter(), "peer": Counter()}
        examples: dict[str, list[str]] = defaultdict(list)
        for i, r in enumerate(rows):
            if r["set"] not in PLANTED:
                continue
            a, b = found["promptwall"][i], found[peer][i]
            key = f"{r['set']}:{r['secret_type']}"
            if a and not b:
                only["promptwall"][key] += 1
            elif b and not a:
                only["peer"][key] += 1
                examples[key].append(r["text"][r["start"] : r["end"]][:200])
        out[peer] = {
            "only_promptwall": dict(only["promptwall"]),
            "only_peer": dict(only["peer"]),
            "only_peer_snippets": examples,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--cli", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=5, help="passes for promptwall and tiktoken")
    ap.add_argument("--peer-rounds", type=int, default=3, help="passes for detect-secrets (LLM Guard: one)")
    ap.add_argument("--llm-guard-python")
    ap.add_argument("--llm-guard-skipped", default="")
    args = ap.parse_args()

    try:
        rows = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as e:
        fail(f"cannot read the corpus {args.corpus}: {e}")
    if not rows:
        fail(f"{args.corpus} holds no prompts")
    args.out.mkdir(parents=True, exist_ok=True)
    info = machine()
    sets = Counter(r["set"] for r in rows)
    nbytes = sum(len(r["text"].encode()) for r in rows)
    print(f"corpus: {len(rows)} prompts {dict(sets)}, {nbytes / 1024:.0f} KB", flush=True)

    started = time.time()

    def step(name: str) -> None:
        print(f"  {time.time() - started:4.0f} s  {name}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        step("promptwall")
        pw = run_promptwall(rows, args.cli, args.rounds, work)
        step("detect-secrets")
        ds = run_detect_secrets(rows, work, args.peer_rounds)
        step("tiktoken")
        tok = run_tokens(rows, max(1, args.rounds // 2))
        if args.llm_guard_python:
            step("LLM Guard")
            lg = run_llm_guard(args.llm_guard_python, args.corpus, work)
        else:
            lg = {"skipped": args.llm_guard_skipped or "not requested"}
        step("done")
    info["load_after"] = os.getloadavg()
    info["seconds"] = round(time.time() - started)

    def hits(spans: list[Spans]) -> list[bool]:
        return [r["set"] in PLANTED and overlaps(sp, r["start"], r["end"]) for r, sp in zip(rows, spans)]

    benign_idx = [i for i, r in enumerate(rows) if r["set"] in BENIGN]
    found = {
        "promptwall": hits(pw["spans"]),
        "detect-secrets": hits(ds["spans"]),
    } | {label: hits(pw["restricted"][key]["spans"]) for key, (label, _) in RESTRICTED.items()}
    # Per benign prompt flagged: what was reported (rule or plugin types), or None for LLM
    # Guard, which says only that it found something.
    flags: dict[str, dict[int, list[str] | None]] = {
        "promptwall": {i: sorted({rule for _, _, rule in pw["spans"][i]}) for i in benign_idx if pw["spans"][i]},
        "detect-secrets": {i: sorted({t for _, _, t in ds["spans"][i]}) for i in benign_idx if ds["spans"][i]},
    } | {
        label: {
            i: sorted({rule for _, _, rule in pw["restricted"][key]["spans"][i]})
            for i in benign_idx
            if pw["restricted"][key]["spans"][i]
        }
        for key, (label, _) in RESTRICTED.items()
    }
    if "secrets" in lg:
        by_id = {r["id"]: i for i, r in enumerate(rows)}
        lg_found = [False] * len(rows)
        flags["LLM Guard Secrets"] = {}
        for rid, is_flagged, intact in lg["secrets"].pop("results"):
            i = by_id[rid]
            lg_found[i] = rows[i]["set"] in PLANTED and is_flagged and not intact
            if is_flagged and rows[i]["set"] in BENIGN:
                flags["LLM Guard Secrets"][i] = None
        found["LLM Guard Secrets"] = lg_found
    false_positives = {
        tool: {
            "prompts": len(f),
            "of": len(benign_idx),
            "kinds": dict(Counter(f"{rows[i]['set']}:{rows[i]['kind']}" for i in f)),
            "reported": dict(Counter(t for types in f.values() for t in types or [])),
        }
        for tool, f in flags.items()
    }

    report = {
        "machine": info,
        "versions": {
            "promptwall": pw["version"],
            "detect-secrets": ds["version"],
            "tiktoken": tok["tiktoken_version"],
            "llm-guard": lg.get("version", "-"),
        },
        "corpus": {"prompts": len(rows), "sets": dict(sets), "bytes": nbytes},
        "promptwall": {k: v for k, v in pw.items() if k not in ("spans", "scan_us", "restricted")}
        | {"restricted": {k: {a: b for a, b in r.items() if a != "spans"} for k, r in pw["restricted"].items()}},
        "detect_secrets": {k: v for k, v in ds.items() if k not in ("spans", "scan_us", "cpu_us")},
        "ratio_vs_detect_secrets": {
            "wall": ds["scan"]["mean_us"] / pw["scan"]["mean_us"],
            "cpu": ds["scan"]["cpu_us"] / pw["scan"]["cpu_us"],
            "cpu_plain_loop": ds["scan"]["cpu_us"] / pw["loop"]["cpu_us"],
        }
        | {f"{k}_only_cpu": ds["scan"]["cpu_us"] / r["scan"]["cpu_us"] for k, r in pw["restricted"].items()}
        | {f"{k}_only_cpu_plain_loop": ds["scan"]["cpu_us"] / r["loop"]["cpu_us"] for k, r in pw["restricted"].items()},
        "tokens": tok,
        "llm_guard": lg,
        "agreement": agreement(rows, found),
        "false_positives": false_positives,
        "differences": differences(rows, found),
        "by_set": {
            s: {
                "promptwall": summary([pw["scan_us"][i] for i, r in enumerate(rows) if r["set"] == s])
                | {"cpu_us": pw["cpu_by_part"][s]},
                "detect-secrets": summary([ds["scan_us"][i] for i, r in enumerate(rows) if r["set"] == s])
                | {"cpu_us": statistics.fmean(ds["cpu_us"][i] for i, r in enumerate(rows) if r["set"] == s)},
                "kib_mean": statistics.fmean(len(r["text"].encode()) for r in rows if r["set"] == s) / 1024,
                "restricted_cpu_us": {k: r["cpu_by_part"][s] for k, r in pw["restricted"].items()},
            }
            for s in sets
        },
    }
    (args.out / "results.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    md = markdown(report)
    (args.out / "results.md").write_text(md)
    print(md)


# --- report -------------------------------------------------------------------------------


def fmt(us: float) -> str:
    if us >= 1000:
        return f"{us:,.0f}"
    if us >= 10:
        return f"{us:.1f}"
    return f"{us:.2f}"


def ratio(a: float, b: float) -> str:
    r = a / b
    return f"{r:,.0f}×" if r >= 10 else f"{r:.2g}×"


def fmt_counts(d: dict[str, int]) -> str:
    if not d:
        return "none"
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0])))


def markdown(rep: dict[str, Any]) -> str:
    pw, ds, lg = rep["promptwall"], rep["detect_secrets"], rep["llm_guard"]
    agree, fps, m, c, v = rep["agreement"], rep["false_positives"], rep["machine"], rep["corpus"], rep["versions"]
    base_wall, base_cpu = ds["scan"]["mean_us"], ds["scan"]["cpu_us"]
    out = [
        f"Corpus: {c['prompts']} prompts ({', '.join(f'{k} {n}' for k, n in c['sets'].items())}), "
        f"{c['bytes'] / 1024:,.0f} KB, {c['bytes'] / c['prompts']:,.0f} bytes per prompt on average.",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']} (kernel {m['kernel']}), "
        f"Python {m['python']}; load average {m['load_before'][0]:.2f} before, {m['load_after'][0]:.2f} after "
        f"({m['seconds']} s).",
        f"Versions: promptwall {v['promptwall']} ({pw['rules']} rules), detect-secrets {v['detect-secrets']} "
        f"({ds['plugins']} plugins, default settings), tiktoken {v['tiktoken']}, llm-guard {v['llm-guard']}"
        + (f" ({lg['mode']} install, bc-detect-secrets {lg['detect_secrets_fork']})" if "mode" in lg else "")
        + ".",
        "",
    ]

    def recall(tool: str, s: str) -> str:
        a = agree.get(s)
        if not a or tool not in a["found"]:
            return "—"
        return f"{a['found'][tool] / a['prompts']:.1%} ({a['found'][tool]}/{a['prompts']})"

    out.append(
        "| tool | mean µs/prompt | p99 µs/prompt | CPU µs/prompt | detect-secrets ÷ tool (mean / CPU) "
        "| recall, generated secrets | recall, promptwall's rule examples | benign prompts flagged |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")

    def row(name: str, mean: float, p99: float | None, cpu: float, tool: str | None = None) -> None:
        f = fps.get(tool or "")
        flagged = f"{f['prompts']} / {f['of']}" if f else "—"
        out.append(
            f"| {name} | {fmt(mean)} | {fmt(p99) if p99 is not None else '—'} | {fmt(cpu)} | "
            f"{ratio(base_wall, mean)} / {ratio(base_cpu, cpu)} | "
            f"{recall(tool, 'planted-generated') if tool else '—'} | {recall(tool, 'planted-rules') if tool else '—'} | "
            f"{flagged} |"
        )

    s = pw["scan"]
    row("promptwall `Firewall.scan` (Python), each prompt", s["mean_us"], s["p99_us"], s["cpu_us"], "promptwall")
    lp = pw["loop"]
    row("promptwall `Firewall.scan` in a plain loop (no clock read per call), per prompt", lp["wall_us"], None, lp["cpu_us"])
    for key, (label, _) in RESTRICTED.items():
        r = pw["restricted"][key]
        row(
            f"promptwall `Firewall.scan`, {label.split(', ', 1)[1]} ({r['rules']} rules), each prompt",
            r["scan"]["mean_us"],
            r["scan"]["p99_us"],
            r["scan"]["cpu_us"],
            label,
        )
        row(
            f"promptwall `Firewall.scan`, {label.split(', ', 1)[1]}, in a plain loop, per prompt",
            r["loop"]["wall_us"],
            None,
            r["loop"]["cpu_us"],
        )
    b = pw["batch"]
    row(
        f"promptwall `scan_batch` (default: {m['cores']} threads), wall time / prompts",
        b["default"]["wall_us"],
        None,
        b["default"]["cpu_us"],
    )
    row("promptwall `scan_batch` (1 thread), wall time / prompts", b["1"]["wall_us"], None, b["1"]["cpu_us"])
    cl = pw["cli"]
    row("promptwall CLI `scan --jsonl`, wall time / prompts", cl["wall_us"], None, cl["cpu_us"])
    row(
        "promptwall CLI `scan --jsonl`, per prompt once its regexes are compiled",
        cl["wall_us_compiled"],
        None,
        cl["cpu_us_compiled"],
    )
    s = ds["scan"]
    row(
        "detect-secrets `SecretsCollection.scan_file` (temp file), each prompt",
        s["mean_us"],
        s["p99_us"],
        s["cpu_us"],
        "detect-secrets",
    )
    if "scanners" in lg:
        for name, t in lg["scanners"].items():
            row(
                f"LLM Guard `{name}`, each prompt",
                t["mean_us"],
                t["p99_us"],
                t["cpu_us"],
                "LLM Guard Secrets" if name == "Secrets" else None,
            )
        t = lg["pipeline"]
        row("LLM Guard `scan_prompt` with the five scanners, each prompt", t["mean_us"], t["p99_us"], t["cpu_us"])
    out.append("")
    out.append(
        f"The CLI's {cl['total_ms']:,.0f} ms for the corpus include {cl['startup_ms']:,.0f} ms "
        f"({cl['startup_cpu_ms']:,.0f} ms of CPU) of process start and rule compilation (an empty file), so "
        f"{fmt(cl['wall_us_after_startup'])} µs ({fmt(cl['cpu_us_after_startup'])} µs of CPU) per prompt after it. "
        f"Most of that is compiling, on first use, the regexes the corpus opens: over the corpus written three "
        f"times, each prompt after the first pass cost {fmt(cl['wall_us_compiled'])} µs "
        f"({fmt(cl['cpu_us_compiled'])} µs of CPU), reading its JSON line and writing its verdict included. "
        f"Its verdicts' actions equal the Python binding's on {cl['actions_agree']}/{c['prompts']} prompts. "
        f"`Firewall()` took {pw['build_s'] * 1000:,.0f} ms."
    )
    if "skipped" in lg:
        out.append(f"LLM Guard: not measured: {lg['skipped']}")
    out.append("")
    out.append("Per-prompt means by part of the corpus:")
    out.append("")
    out.append(
        "| part | prompts | mean KB | promptwall mean µs / CPU µs | detect-secrets mean µs / CPU µs "
        "| detect-secrets ÷ promptwall (mean / CPU) | promptwall CPU µs per KB | "
        + " | ".join(f"{label.split(', ', 1)[1]}: CPU µs / detect-secrets ÷ it" for label, _ in RESTRICTED.values())
        + " |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(RESTRICTED))
    for part, d in rep["by_set"].items():
        a, b2 = d["promptwall"], d["detect-secrets"]
        out.append(
            f"| {part} | {c['sets'][part]} | {d['kib_mean']:.2f} | {fmt(a['mean_us'])} / {fmt(a['cpu_us'])} | "
            f"{fmt(b2['mean_us'])} / {fmt(b2['cpu_us'])} | {ratio(b2['mean_us'], a['mean_us'])} / "
            f"{ratio(b2['cpu_us'], a['cpu_us'])} | {fmt(a['cpu_us'] / d['kib_mean'])} | "
            + " | ".join(
                f"{fmt(d['restricted_cpu_us'][k])} / {ratio(b2['cpu_us'], d['restricted_cpu_us'][k])}" for k in RESTRICTED
            )
            + " |"
        )
    out.append("")
    out.append(
        "| token count | mean µs/prompt | p99 µs/prompt | CPU µs/prompt | tiktoken ÷ promptwall (mean / CPU) | counts equal to tiktoken's |"
    )
    out.append("|---|---:|---:|---:|---:|---:|")
    tok = rep["tokens"]
    for enc in ("cl100k_base", "o200k_base"):
        t, p = tok[enc]["tiktoken"], tok[enc]["promptwall"]
        out.append(
            f"| tiktoken `encode_ordinary`, {enc} | {fmt(t['mean_us'])} | {fmt(t['p99_us'])} | {fmt(t['cpu_us'])} | 1× | |"
        )
        out.append(
            f"| promptwall `count_tokens`, {enc} | {fmt(p['mean_us'])} | {fmt(p['p99_us'])} | {fmt(p['cpu_us'])} | "
            f"{ratio(t['mean_us'], p['mean_us'])} / {ratio(t['cpu_us'], p['cpu_us'])} | "
            f"{c['prompts'] - tok[enc]['mismatches']}/{c['prompts']} |"
        )
    out.append("")
    if "planted-generated" in agree:
        a = agree["planted-generated"]
        tools = list(a["found"])
        out.append("Generated secrets found, by type (found / planted):")
        out.append("")
        out.append("| secret type | " + " | ".join(tools) + " |")
        out.append("|---|" + "---:|" * len(tools))
        for typ, d in a["by_type"].items():
            out.append(f"| {typ} | " + " | ".join(f"{d[t][0]}/{d[t][1]}" for t in tools) + " |")
        out.append("")
    for peer, d in rep["differences"].items():
        out.append(f"- {peer} finds, promptwall misses: {fmt_counts(d['only_peer'])}")
        gen = {k: n for k, n in d["only_promptwall"].items() if k.startswith("planted-generated:")}
        rules = sum(n for k, n in d["only_promptwall"].items() if k.startswith("planted-rules:"))
        out.append(f"- promptwall finds, {peer} misses: {fmt_counts(gen)}; and {rules} of promptwall's rule examples")
    out.append("")
    for tool, f in fps.items():
        what = f"; reported: {fmt_counts(f['reported'])}" if f["reported"] else ""
        out.append(f"- benign prompts flagged by {tool}: {f['prompts']} / {f['of']} ({fmt_counts(f['kinds'])}{what})")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
