"""The conformance table under tests/data/conformance (shared with the Rust, CLI and C
tests), through the Python API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import promptwall
from conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFORMANCE = REPO / "tests" / "data" / "conformance"
KEYS = {"name", "text", "side", "action", "rules", "absent", "flagged", "spans", "redacted"}


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(CONFORMANCE.glob("*.toml")):
        for case in tomllib.loads(path.read_text(encoding="utf-8"))["case"]:
            unknown = set(case) - KEYS
            assert not unknown, f"{path.name}: case {case.get('name')}: unknown keys {unknown}"
            case["file"] = path.name
            cases.append(case)
    return cases


CASES = load_cases()


def test_the_table_is_there() -> None:
    assert len(CASES) >= 20, f"only {len(CASES)} cases under {CONFORMANCE}"
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    # Non-ASCII spans are part of the table, so the offset mapping is exercised.
    assert any(c.get("spans") and not c["text"].isascii() for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(fw: promptwall.Firewall, case: dict[str, Any]) -> None:
    text: str = case["text"]
    side = case.get("side", "prompt")
    assert side in ("prompt", "response")
    v = fw.scan_response(text) if side == "response" else fw.scan(text)
    found: dict[str, promptwall.Finding] = {}
    for f in v.findings:
        found.setdefault(f.rule, f)  # the first finding of each rule
    errors = []
    if "action" in case and v.action != case["action"]:
        errors.append(f"action is {v.action}, expected {case['action']}")
    for r in case.get("rules", []):
        if r not in found:
            errors.append(f"rule {r} not found")
    for r in case.get("absent", []):
        if r in found:
            errors.append(f"rule {r} found but must be absent")
    if "flagged" in case:
        got = sorted(c for c, s in v.categories.items() if s >= 0.5)
        if got != sorted(case["flagged"]):
            errors.append(f"flagged categories are {got}, expected {sorted(case['flagged'])}")
    raw = text.encode("utf-8")
    for rule, want in case.get("spans", {}).items():
        if rule not in found:
            errors.append(f"no finding of {rule} for its span")
            continue
        f = found[rule]
        if text[f.start : f.end] != want:
            errors.append(f"{rule} covers {text[f.start:f.end]!r}, expected {want!r}")
        if raw[f.byte_start : f.byte_end] != want.encode("utf-8"):
            errors.append(f"{rule} bytes cover {raw[f.byte_start:f.byte_end]!r}")
    for f in v.findings:
        if not (0 <= f.start <= f.end <= len(text)):
            errors.append(f"{f.rule} has a bad span {f.start}..{f.end}")
        elif raw[f.byte_start : f.byte_end].decode("utf-8", "strict") != text[f.start : f.end]:
            errors.append(f"{f.rule}: str and byte spans disagree")
    if "redacted" in case and fw.redact(text) != case["redacted"]:
        errors.append(f"redacted to {fw.redact(text)!r}, expected {case['redacted']!r}")
    assert not errors, f"case {case['name']} ({case['file']}): " + "; ".join(errors)


def test_batch_agrees_with_the_table(fw: promptwall.Firewall) -> None:
    prompts = [c["text"] for c in CASES if c.get("side", "prompt") == "prompt"]
    assert fw.scan_batch(prompts, threads=2) == [fw.scan(t) for t in prompts]
