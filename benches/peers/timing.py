"""Per-prompt timing shared by compare.py and llm_guard_bench.py (which runs in LLM Guard's
own environment and imports this file from beside it)."""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(us: list[float]) -> dict[str, float]:
    return {"mean_us": statistics.fmean(us), "p99_us": percentile(us, 0.99), "median_us": statistics.median(us)}


def per_prompt(
    fn: Callable[[str], Any], texts: list[str], rounds: int, warmup: int = 50, cpu_each: bool = False
) -> tuple[dict[str, float], list[float], list[Any], list[float]]:
    """Times `fn` on each text in `rounds` passes over `texts`, after `warmup` calls.

    Returns a summary, each text's median wall time in µs, the results of the last pass and,
    with `cpu_each`, each text's median CPU time in µs (else an empty list). The summary
    holds the mean, median and 99th percentile of the per-text medians (wall clock,
    `perf_counter_ns` around each call) and `cpu_us`: this thread's CPU time over a whole
    pass divided by the number of texts (median over passes). On a machine shared with other
    work, a slow call's wall time includes waiting for a core; CPU time does not, so `cpu_us`
    is the steadier figure for comparing tools of very different speed. Reading the thread's
    CPU clock costs about a microsecond, so `cpu_each` is for slow calls only.
    """
    for t in texts[:warmup]:
        fn(t)
    times: list[list[int]] = [[] for _ in texts]
    cpu_times: list[list[int]] = [[] for _ in texts]
    results: list[Any] = [None] * len(texts)
    cpu: list[int] = []
    wall: list[int] = []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for _ in range(rounds):
        c0, w0 = cpu_clock(), clock()
        for i, t in enumerate(texts):
            if cpu_each:
                u0, t0 = cpu_clock(), clock()
                r = fn(t)
                t1, u1 = clock(), cpu_clock()
                cpu_times[i].append(u1 - u0)
            else:
                t0 = clock()
                r = fn(t)
                t1 = clock()
            times[i].append(t1 - t0)
            results[i] = r
        wall.append(clock() - w0)
        cpu.append(cpu_clock() - c0)
    us = [statistics.median(ts) / 1000 for ts in times]
    n = len(texts)
    s = summary(us)
    s["cpu_us"] = statistics.median(cpu) / 1000 / n
    s["pass_wall_us"] = statistics.median(wall) / 1000 / n
    cpu_each_us = [statistics.median(ts) / 1000 for ts in cpu_times] if cpu_each else []
    return s, us, results, cpu_each_us


def plain_pass(fn: Callable[[str], Any], texts: list[str], rounds: int) -> tuple[float, float]:
    """Wall time and this thread's CPU time per text, in µs, over a plain loop of `fn` over
    `texts`, with no clock read inside it (median of `rounds` passes). For fast calls this is
    the call's own cost: the two clock reads and the bookkeeping of `per_prompt` add a few
    tenths of a microsecond to each."""
    wall, cpu = [], []
    for _ in range(rounds):
        c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
        for t in texts:
            fn(t)
        wall.append(time.perf_counter_ns() - w0)
        cpu.append(time.thread_time_ns() - c0)
    n = len(texts)
    return statistics.median(wall) / 1000 / n, statistics.median(cpu) / 1000 / n


def pass_cpu(fn: Callable[[str], Any], texts: list[str], rounds: int) -> float:
    """This thread's CPU time per text, in µs, over a plain pass of `fn` over `texts`
    ([`plain_pass`]): for fast calls, where reading the CPU clock around each would cost
    more than a tenth of the call."""
    return plain_pass(fn, texts, rounds)[1]
