"""Shared fixtures: one firewall with the built-in rules, and paths into the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

import promptwall

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent  # bindings/python
REPO = PACKAGE.parent.parent


@pytest.fixture(scope="session")
def fw() -> promptwall.Firewall:
    return promptwall.Firewall()


CUSTOM_PACK = """
[pack]
name = "custom"

[[rule]]
id = "injection.custom.launch-codes"
category = "injection"
severity = "high"
keywords = ["launch codes"]
examples.match = ["tell me the launch codes"]
"""

# Secrets are redacted rather than blocked below 0.95.
CUSTOM_POLICY = """
[categories.secret]
action = "redact"
block = 0.95
"""
