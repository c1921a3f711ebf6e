"""promptwall: a prompt firewall (typed interface of the native module)."""

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple, TypedDict, final

from typing_extensions import Self, TypeAlias

Action: TypeAlias = Literal["allow", "flag", "redact", "block"]
Category: TypeAlias = Literal["injection", "secret", "pii", "abuse", "exfiltration", "leak"]
Severity: TypeAlias = Literal["low", "medium", "high", "critical"]
_StrPath: TypeAlias = str | os.PathLike[str]

__version__: str
ACTIONS: tuple[Action, ...]
"""The actions, from least to most severe."""
CATEGORIES: tuple[Category, ...]
"""The categories, in the order verdicts list them."""

Encoding: TypeAlias = Literal["o200k_base", "cl100k_base"]

def count_tokens(text: str, encoding: Encoding = "o200k_base") -> int:
    """The exact token count of `text` (tiktoken's `encode_ordinary`); ValueError for an unknown encoding."""

__all__ = [
    "ACTIONS",
    "CATEGORIES",
    "Action",
    "Canary",
    "Category",
    "Encoding",
    "Finding",
    "Firewall",
    "Metrics",
    "Quota",
    "QuotaDecision",
    "RuleError",
    "Severity",
    "Verdict",
    "__version__",
    "count_tokens",
]

class RuleError(ValueError):
    """A rule pack or a policy could not be parsed or compiled.

    ``str(err)`` reads like ``rules/x.toml:12: rule `id`: message``.
    """

    kind: str
    """``"rule"`` or ``"policy"``."""
    file: str | None
    """The file, or the name given to a TOML string (``rules[0]``, ``policy``)."""
    line: int | None
    """The 1-based line, when known."""
    rule: str | None
    """The id of the rule at fault, when known."""
    message: str
    """What went wrong, without the location."""
    def __init__(
        self,
        text: str,
        *,
        kind: str = "rule",
        file: str | None = None,
        line: int | None = None,
        rule: str | None = None,
        message: str | None = None,
    ) -> None: ...

@dataclass(frozen=True)
class Quota:
    """Per-key limits for ``Firewall.check_quota``: ``requests`` requests and ``tokens``
    tokens per ``window`` seconds, each refilling continuously. ``None`` is no limit.

    Raises ``ValueError`` for a limit under 1 or a window that is not a positive number.
    """

    requests: int | None = None
    """Requests per window."""
    tokens: int | None = None
    """Tokens per window."""
    window: float = 60.0
    """The window, in seconds."""
    def __post_init__(self) -> None: ...

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

    scans: dict[Literal["prompt", "response"], dict[Action, int]]
    """Scans per side and resulting action."""
    findings_by_category: dict[Category, int]
    """Findings listed in verdicts, per category."""
    findings_by_rule: dict[str, int]
    """Findings listed in verdicts, per rule id (every rule in force)."""
    tokens_counted: int
    """Tokens counted exactly (when a token limit made the engine count)."""
    quota_allowed: int
    """Quota checks that allowed the request."""
    quota_denied: int
    """Quota checks that denied it."""

@final
class Firewall:
    """A prompt firewall: compiled rules and a policy.

    Build it once and share it: it is immutable, every scan releases the GIL, and any number
    of threads may scan with one firewall at once. It pickles (it is compiled again from its
    rule packs and policy when unpickled), so it can be sent to worker processes.

    Every constructor takes the same keyword-only options for responses and quotas:

    - ``protect``: confidential texts (a system prompt, say; one ``str`` or several) that
      ``scan_response`` reports as ``leak.protected-text`` when a response reproduces a
      stretch of ``protect_min_words`` words of one (default 8), verbatim or lightly changed,
      spaced out or encoded;
    - ``canary_secret``: the secret (``str`` or ``bytes``) that ``canary()`` tokens are made
      and recognised with; firewalls with the same secret recognise each other's canaries;
    - ``canary_tokens``: canary tokens made elsewhere, to look for in responses;
    - ``quota``: a ``Quota`` of per-key limits for ``check_quota``.

    The options survive pickling; the quota's spending and the metrics start afresh.
    """

    def __new__(
        cls,
        *,
        protect: str | Iterable[str] | None = None,
        protect_min_words: int = 8,
        canary_secret: str | bytes | None = None,
        canary_tokens: str | Iterable[str] | None = None,
        quota: Quota | None = None,
    ) -> Self:
        """A firewall with the built-in rules and the default policy."""

    @classmethod
    def from_files(
        cls,
        rules: _StrPath | Iterable[_StrPath] | None = None,
        policy: _StrPath | None = None,
        *,
        default_rules: bool = True,
        protect: str | Iterable[str] | None = None,
        protect_min_words: int = 8,
        canary_secret: str | bytes | None = None,
        canary_tokens: str | Iterable[str] | None = None,
        quota: Quota | None = None,
    ) -> Self:
        """A firewall from rule-pack files or folders (every ``*.toml`` in them) and a policy file.

        Raises ``RuleError`` for a bad pack or policy and ``OSError`` (``FileNotFoundError``,
        ...) for a path that cannot be read.
        """

    @classmethod
    def from_toml(
        cls,
        rules: str | Iterable[str] | None = None,
        policy: str | None = None,
        *,
        default_rules: bool = True,
        protect: str | Iterable[str] | None = None,
        protect_min_words: int = 8,
        canary_secret: str | bytes | None = None,
        canary_tokens: str | Iterable[str] | None = None,
        quota: Quota | None = None,
    ) -> Self:
        """A firewall from rule packs and a policy given as TOML text.

        In errors the packs are named ``rules[0]``, ``rules[1]``, ... and the policy ``policy``.
        """

    def scan(self, text: str) -> Verdict:
        """Scans a prompt: text going to the model."""

    def scan_response(self, text: str) -> Verdict:
        """Scans a response: text coming back from the model."""

    def scan_batch(
        self,
        texts: Iterable[str],
        threads: int | None = None,
        *,
        response: bool = False,
    ) -> list[Verdict]:
        """Scans many texts in parallel on ``threads`` threads (default: one per CPU).

        The verdicts come back in the order of ``texts``. ``response=True`` scans them as
        responses. At most one thread per 8 texts, and 256 in all, are started.
        """

    def redact(self, text: str) -> str:
        """``text`` with every secret and personal-data span replaced by ``[REDACTED:<rule-id>]``."""

    def canary(self) -> Canary:
        """A new canary token and an instruction line carrying it, to put in a system prompt.

        From then on, a response holding the token (plain, split, spaced out or encoded) gets
        a ``leak.canary`` finding. Tokens are keyed hashes (see ``canary_secret``): the
        firewall keeps no list.
        """

    def check_quota(self, key: str, requests: int = 1, tokens: int = 0) -> QuotaDecision | None:
        """Spends ``requests`` requests and ``tokens`` tokens of ``key``'s quota if both fit.

        ``None`` when the firewall has no quota. Thread-safe: two threads cannot both spend
        a key's last request.
        """

    def metrics(self) -> Metrics:
        """The usage counters since the firewall was built (a new dict on each call)."""

    def metrics_prometheus(self) -> str:
        """The usage counters in the Prometheus text exposition format."""

    def warm_up(self) -> None:
        """Compile now what the firewall otherwise compiles on first use (the built-in rules'
        regexes, the automaton for non-ASCII text), so that no later scan pays for it: call it
        once after building, before serving. With the built-in packs it takes about 0.1 s."""

    @property
    def rules(self) -> list[str]:
        """The ids of the rules in force."""

    @property
    def packs(self) -> list[str]:
        """The sources of the rule packs it was built from, built-in ones first."""

    @property
    def default_rules(self) -> bool:
        """Whether it was built on the built-in rule packs."""

    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Any, /) -> Self: ...

@final
class Verdict:
    """The result of a scan."""

    @property
    def action(self) -> Action:
        """What the policy says to do."""

    @property
    def score(self) -> float:
        """The highest category score, from 0 to 1."""

    @property
    def categories(self) -> dict[Category, float]:
        """The score of each category (a new dict on each access)."""

    @property
    def tokens(self) -> int:
        """The token count: exact when ``tokens_exact``, otherwise an estimate."""

    @property
    def tokens_exact(self) -> bool:
        """Whether ``tokens`` was counted exactly."""

    @property
    def findings(self) -> list[Finding]:
        """The findings, strongest first (a new list on each access)."""

    @property
    def findings_omitted(self) -> int:
        """How many findings the policy's ``max_findings`` left out."""

    @property
    def allowed(self) -> bool:
        """Whether the action is ``"allow"``."""

    @property
    def blocked(self) -> bool:
        """Whether the action is ``"block"``."""

    def to_json(self) -> str:
        """The verdict as one line of JSON, the contract shared with the CLI and C.

        Its ``start``/``end`` are byte offsets into the UTF-8 text.
        """

    def to_dict(self) -> dict[str, Any]:
        """The verdict as a dict: equal to ``json.loads(self.to_json())`` (byte offsets)."""

    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __eq__(self, other: object, /) -> bool: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Any, /) -> Self: ...

@final
class Finding:
    """One piece of evidence: which rule matched where, and how much it counts."""

    @property
    def rule(self) -> str:
        """The rule id."""

    @property
    def category(self) -> Category:
        """The rule's category."""

    @property
    def severity(self) -> Severity:
        """The rule's severity."""

    @property
    def score(self) -> float:
        """Its score, from 0 to 1."""

    @property
    def start(self) -> int:
        """Start of the span: an index into the scanned ``str`` (``text[f.start:f.end]``)."""

    @property
    def end(self) -> int:
        """End (exclusive) of the span: an index into the scanned ``str``."""

    @property
    def byte_start(self) -> int:
        """Start of the span in bytes of ``text.encode("utf-8")``."""

    @property
    def byte_end(self) -> int:
        """End (exclusive) of the span in bytes of ``text.encode("utf-8")``."""

    @property
    def view(self) -> str:
        """The view it was seen in: ``"raw"``, ``"normalized"``, ..."""

    @property
    def excerpt(self) -> str:
        """The matched text, masked for secrets and personal data, shortened when long."""

    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __eq__(self, other: object, /) -> bool: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Any, /) -> Self: ...
