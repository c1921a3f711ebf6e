"""`fw.scan_batch` against a Python loop of `fw.scan`, on 10,000 prompts.

    python bindings/python/bench/batch.py [--threads N] [--count 10000]

Prompts are 100 B to 2 KB, mostly ordinary, some with attacks, secrets and personal data
(the generator of examples/scan_jsonl.py). Medians of 15 interleaved rounds.

As a control it also times the same amount of SHA-256 hashing (which releases the GIL) on
one thread and on `threads` threads: on a shared or oversubscribed machine that ratio shows
how much parallel CPU the machine gives right now, whatever the code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import promptwall

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from scan_jsonl import make_log  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=None, help="default: one per CPU")
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "log.jsonl")
        make_log(path, args.count)
        with open(path, encoding="utf-8") as f:
            texts = [json.loads(line)["text"] for line in f]
    fw = promptwall.Firewall()
    assert fw.scan_batch(texts, args.threads) == [fw.scan(t) for t in texts]

    def timed(fn: Callable[[], object]) -> float:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    threads = args.threads or os.cpu_count() or 1
    block = b"x" * (4 << 20)

    def hash_on(n: int) -> None:
        def work() -> None:
            for _ in range(24 // n):
                hashlib.sha256(block).digest()

        pool = [threading.Thread(target=work) for _ in range(n)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()

    # Interleaved rounds, so that load from elsewhere hits every variant alike.
    scan = fw.scan
    loop, one, batch, control = [], [], [], []
    for _ in range(args.rounds):
        loop.append(timed(lambda: [scan(t) for t in texts]))
        one.append(timed(lambda: fw.scan_batch(texts, 1)))
        batch.append(timed(lambda: fw.scan_batch(texts, args.threads)))
        control.append(timed(lambda: hash_on(1)) / timed(lambda: hash_on(threads)))
    med = statistics.median
    mb = sum(len(t.encode()) for t in texts) / 1e6
    print(f"{len(texts)} prompts, {mb:.1f} MB, {os.cpu_count()} CPUs, medians of {args.rounds} rounds")
    print(f"loop of scan:           {med(loop) * 1e3:8.1f} ms  ({med(loop) / len(texts) * 1e6:.2f} us/prompt)")
    print(f"scan_batch, 1 thread:   {med(one) * 1e3:8.1f} ms")
    print(
        f"scan_batch, {threads} threads:  {med(batch) * 1e3:8.1f} ms  -> {med(loop) / med(batch):.2f}x the loop "
        f"(best round {min(loop) / min(batch):.2f}x)"
    )
    print(f"control: SHA-256 on {threads} threads ran {med(control):.2f}x one thread (median round)")


if __name__ == "__main__":
    main()
