"""Errors: RuleError for packs and policies, OSError for files, TypeError/ValueError for
arguments; never a crash."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import promptwall
from conftest import CUSTOM_PACK

BAD_REGEX = """
[[rule]]
id = "injection.ok"
category = "injection"
severity = "low"
keywords = ["fine"]
examples.match = ["fine"]

[[rule]]
id = "secret.broken"
category = "secret"
severity = "high"
keywords = ["key"]
regex = '''key(unclosed'''
"""


def test_bad_regex_names_file_line_and_rule() -> None:
    with pytest.raises(promptwall.RuleError) as ei:
        promptwall.Firewall.from_toml(["", BAD_REGEX])
    e = ei.value
    assert e.kind == "rule"
    assert e.file == "rules[1]"
    assert e.line == 9
    assert e.rule == "secret.broken"
    assert "regex" in e.message
    assert str(e).startswith("rules[1]:9: rule `secret.broken`: ")
    assert isinstance(e, ValueError)


def test_bad_pack_file(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(BAD_REGEX)
    with pytest.raises(promptwall.RuleError) as ei:
        promptwall.Firewall.from_files([p])
    assert ei.value.file == str(p)
    assert ei.value.line == 9
    assert ei.value.rule == "secret.broken"


def test_toml_syntax_error_has_a_line() -> None:
    with pytest.raises(promptwall.RuleError) as ei:
        promptwall.Firewall.from_toml("[[rule]]\nid = \"x.y\"\ncategory = \n")
    assert ei.value.line == 3
    assert ei.value.file == "rules[0]"


def test_bad_policy() -> None:
    with pytest.raises(promptwall.RuleError) as ei:
        promptwall.Firewall.from_toml(policy="flag = 0.5\n\n[categories.nonsense]\nflag = 0.1\n")
    e = ei.value
    assert e.kind == "policy"
    assert e.file == "policy"
    assert e.line == 3
    assert e.rule is None
    with pytest.raises(promptwall.RuleError, match="between 0 and 1"):
        promptwall.Firewall.from_toml(policy="block = 7\n")


def test_policy_naming_an_unknown_rule() -> None:
    with pytest.raises(promptwall.RuleError, match="no pack defines") as ei:
        promptwall.Firewall.from_toml(policy='[rules."injection.nope"]\nscore = 0.1\n')
    assert ei.value.kind == "policy"


def test_disabling_an_unknown_rule() -> None:
    with pytest.raises(promptwall.RuleError, match="disables a rule") as ei:
        promptwall.Firewall.from_toml('[[rule]]\nid = "injection.nope"\nenabled = false\n')
    assert ei.value.rule == "injection.nope"


def test_missing_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(FileNotFoundError) as ei:
        promptwall.Firewall.from_files([missing])
    assert ei.value.filename == str(missing)
    with pytest.raises(FileNotFoundError):
        promptwall.Firewall.from_files(policy=missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(OSError, match="no \\*.toml") as oi:
        promptwall.Firewall.from_files(empty)
    assert str(empty) in str(oi.value)


def test_rule_error_pickles() -> None:
    with pytest.raises(promptwall.RuleError) as ei:
        promptwall.Firewall.from_toml(BAD_REGEX)
    e = pickle.loads(pickle.dumps(ei.value))
    assert type(e) is promptwall.RuleError
    assert (e.file, e.line, e.rule, e.kind, e.message) == (
        ei.value.file,
        ei.value.line,
        ei.value.rule,
        ei.value.kind,
        ei.value.message,
    )
    assert str(e) == str(ei.value)


def test_bad_arguments(fw: promptwall.Firewall) -> None:
    with pytest.raises(TypeError):
        fw.scan(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fw.scan(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fw.redact(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="single str"):
        fw.scan_batch("not a list")
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str, not int"):
        fw.scan_batch(["ok", 1])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        fw.scan_batch(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threads"):
        fw.scan_batch(["a"], threads=0)
    with pytest.raises(ValueError, match="threads"):
        fw.scan_batch(["a"], threads=-3)
    with pytest.raises(TypeError):
        fw.scan_batch(["a"], threads="2")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        promptwall.Firewall.from_files([3])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        promptwall.Firewall.from_toml([CUSTOM_PACK, None])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        promptwall.Firewall("rules.toml")  # type: ignore[call-arg]


def test_lone_surrogates_are_a_value_error(fw: promptwall.Firewall) -> None:
    # A str that is not valid Unicode cannot be scanned; it is refused, not mangled.
    with pytest.raises(UnicodeEncodeError):
        fw.scan("abc \ud800 def")
    with pytest.raises(ValueError):
        fw.scan_batch(["fine", "\udfff"])
    with pytest.raises(ValueError):
        fw.redact("\ud83d")


def test_hostile_inputs_do_not_crash(fw: promptwall.Firewall) -> None:
    for text in ["\x00" * 1000, "\U0010ffff" * 5000, "a" * 100_000, "[" * 50_000, "é" * 600_000]:
        v = fw.scan(text)
        for f in v.findings:
            assert 0 <= f.start <= f.end <= len(text)
        fw.redact(text)
