"""A LiteLLM-style pre-call hook: block prompts the firewall blocks, redact secrets and
personal data out of the others before they leave for the model provider.

With the LiteLLM proxy, point `callbacks` in its config at an instance of `PromptwallGuard`
(it subclasses LiteLLM's `CustomLogger` when LiteLLM is installed). The hook only needs the
request `data` dict in OpenAI form, so it also fits other gateways.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import promptwall

# Optional: the hook works without LiteLLM installed.
if TYPE_CHECKING:
    _Base = object
else:
    try:
        from litellm.integrations.custom_logger import CustomLogger as _Base
    except ImportError:
        _Base = object


class PromptBlocked(Exception):
    """Raised to reject a request; LiteLLM turns it into an error response."""

    def __init__(self, verdict: promptwall.Verdict) -> None:
        rules = ", ".join(f.rule for f in verdict.findings)
        super().__init__(f"prompt blocked by promptwall ({verdict.action}: {rules})")
        self.verdict = verdict


class PromptwallGuard(_Base):
    def __init__(self, fw: promptwall.Firewall | None = None) -> None:
        self.fw = fw or promptwall.Firewall()

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: str
    ) -> dict[str, Any]:
        for message in data.get("messages", []):
            content = message.get("content")
            # Content is a string, or a list of parts like {"type": "text", "text": ...}.
            parts = [message] if isinstance(content, str) else [
                p for p in content or [] if isinstance(p, dict) and p.get("type") == "text"
            ]
            key = "content" if isinstance(content, str) else "text"
            for part in parts:
                verdict = self.fw.scan(part[key])
                if verdict.blocked:
                    raise PromptBlocked(verdict)
                if verdict.action == "redact":
                    part[key] = self.fw.redact(part[key])
        return data
