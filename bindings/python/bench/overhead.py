"""Per-call cost of `fw.scan` from Python over the engine's own scan, on 1 KB prompts.

    python bindings/python/bench/overhead.py            # paired rounds in this process
    python bindings/python/bench/overhead.py --cargo    # also the standalone Rust example

Each round times `fw.scan(text)` from Python with timeit, then the same number of engine
scans of the same text inside the extension with no Python in between
(`Firewall._engine_scan_seconds`); the overhead is the median of the per-round differences,
so drifting load on a shared machine hits both sides alike. What it covers: the call,
argument conversion, releasing and taking back the GIL, building the Verdict object.
`--cargo` also runs `cargo run --release --example rust_scan` (the engine without Python at
all, in its own process) as a cross-check of the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import timeit
from pathlib import Path

import promptwall

HERE = Path(__file__).resolve().parent
FILES = ["prompt_1kb.txt", "prompt_1kb_findings.txt"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=31)
    ap.add_argument("--cargo", action="store_true")
    args = ap.parse_args()
    fw = promptwall.Firewall()
    for name in FILES:
        text = (HERE / name).read_text(encoding="utf-8")
        n_findings = len(fw.scan(text).findings)
        py_timer = timeit.Timer("scan(text)", globals={"scan": fw.scan, "text": text})
        read_timer = timeit.Timer(
            "v = scan(text); v.action; v.findings", globals={"scan": fw.scan, "text": text}
        )
        number, _ = py_timer.autorange()
        py, read, engine = [], [], []
        for _ in range(args.rounds):
            py.append(py_timer.timeit(number) / number * 1e6)
            read.append(read_timer.timeit(number) / number * 1e6)
            engine.append(fw._engine_scan_seconds(text, number) / number * 1e6)  # type: ignore[attr-defined]
        med = statistics.median
        print(
            f"{len(text.encode())} B, {n_findings} findings: python scan {med(py):.3f} us, "
            f"engine scan {med(engine):.3f} us, overhead {med(p - e for p, e in zip(py, engine)):+.3f} us/call "
            f"({med(r - e for r, e in zip(read, engine)):+.3f} us when also reading .action and .findings)"
        )
    if args.cargo:
        subprocess.run(
            ["cargo", "run", "--quiet", "--release", "--locked", "-p", "promptwall-python",
             "--example", "rust_scan"],
            cwd=HERE, check=True,
        )


if __name__ == "__main__":
    main()
