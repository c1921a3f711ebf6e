"""Small value types of promptwall (plain Python, so they pickle and compare as usual)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple, TypedDict


@dataclass(frozen=True)
class Quota:
    """Per-key limits for ``Firewall.check_quota``: ``requests`` requests and ``tokens``
    tokens per ``window`` seconds, each refilling continuously. ``None`` is no limit."""

    requests: int | None = None
    tokens: int | None = None
    window: float = 60.0

    def __post_init__(self) -> None:
        for name in ("requests", "tokens"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                kind = type(value).__name__
                raise TypeError(f"Quota.{name} must be an int or None, not {kind}")
            if value < 1:
                raise ValueError(
                    f"Quota.{name} must be 1 or more (None for no limit), not {value}"
                )
        window = self.window
        if isinstance(window, bool) or not isinstance(window, (int, float)):
            kind = type(window).__name__
            raise TypeError(f"Quota.window must be a number of seconds, not {kind}")
        if not (window > 0 and math.isfinite(window)):
            raise ValueError(f"Quota.window must be a positive number of seconds, not {window}")


class QuotaDecision(NamedTuple):
    """The answer of ``Firewall.check_quota``."""

    allowed: bool
    """Whether the request may go ahead (its cost was then spent; a denied one spends nothing)."""
    retry_after: float
    """When denied: seconds until the same request would be allowed; 0.0 when allowed."""
    remaining_requests: int | None
    """Requests left in the window after this one; ``None`` when requests have no limit."""
    remaining_tokens: int | None
    """Tokens left in the window after this one; ``None`` when tokens have no limit."""


class Canary(NamedTuple):
    """A canary token, and a line carrying it to put in a system prompt."""

    token: str
    """``pwcanary`` and 24 hex digits."""
    instruction: str
    """A ready-to-embed instruction line (an HTML comment) holding the token."""


class Metrics(TypedDict):
    """The usage counters of a firewall since it was built (``Firewall.metrics()``)."""

    scans: dict[
        Literal["prompt", "response"], dict[Literal["allow", "flag", "redact", "block"], int]
    ]
    """Scans per side and resulting action."""
    findings_by_category: dict[
        Literal["injection", "secret", "pii", "abuse", "exfiltration", "leak"], int
    ]
    """Findings listed in verdicts, per category."""
    findings_by_rule: dict[str, int]
    """Findings listed in verdicts, per rule id (every rule in force)."""
    tokens_counted: int
    """Tokens counted exactly (when a token limit made the engine count)."""
    quota_allowed: int
    """Quota checks that allowed the request."""
    quota_denied: int
    """Quota checks that denied it."""
