"""Exceptions of promptwall (plain Python, so they pickle across processes)."""

from __future__ import annotations


class RuleError(ValueError):
    """A rule pack or a policy could not be parsed or compiled.

    ``str(err)`` reads like ``rules/x.toml:12: rule `id`: message``; the parts are also
    attributes: ``file`` (the path, or the name given to a TOML string), ``line`` (1-based),
    ``rule`` (the rule id), ``kind`` (``"rule"`` or ``"policy"``) and ``message``. Each is
    ``None`` when unknown.
    """

    kind: str = "rule"
    file: str | None = None
    line: int | None = None
    rule: str | None = None
    message: str = ""

    def __init__(
        self,
        text: str,
        *,
        kind: str = "rule",
        file: str | None = None,
        line: int | None = None,
        rule: str | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(text)
        self.kind = kind
        self.file = file
        self.line = line
        self.rule = rule
        self.message = text if message is None else message
