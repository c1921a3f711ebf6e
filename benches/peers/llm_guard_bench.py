"""Times LLM Guard's rule-based input scanners on the corpus; run by compare.py in LLM Guard's
own virtual environment (LLM Guard pins `bc-detect-secrets`, a fork that installs the same
`detect_secrets` module as the upstream package, so the two cannot share one environment).

    python llm_guard_bench.py corpus.jsonl out.json

Writes mean/p99 µs per prompt for each scanner and for `scan_prompt` with all five, and for
the Secrets scanner, per prompt: (id, flagged, planted snippet still intact in its output).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import types
from importlib import metadata
from pathlib import Path
from typing import Any

from timing import per_prompt


def load_without_package_init() -> None:
    """Makes the five rule-based scanners importable without torch and transformers.

    `llm_guard/__init__.py` and `llm_guard/input_scanners/__init__.py` import every scanner,
    and the model-based ones import torch and transformers at module level. The modules of
    Secrets, BanSubstrings, InvisibleText, TokenLimit and Regex (and `evaluate`, `util`) import
    neither, so with the packages' `__init__` files skipped they load as they are, unchanged.
    """
    spec = importlib.util.find_spec("llm_guard")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm_guard_bench.py: llm-guard is not installed")
    root = Path(list(spec.submodule_search_locations)[0])
    for name, folder in (
        ("llm_guard", root),
        ("llm_guard.input_scanners", root / "input_scanners"),
        ("llm_guard.output_scanners", root / "output_scanners"),
    ):
        module = types.ModuleType(name)
        module.__path__ = [str(folder)]
        module.__file__ = str(folder / "__init__.py")
        sys.modules[name] = module


def main() -> None:
    corpus, out = Path(sys.argv[1]), Path(sys.argv[2])
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r["text"] for r in rows]

    t0 = time.perf_counter()
    mode = "full" if importlib.util.find_spec("torch") else "light"
    if mode == "light":
        load_without_package_init()
    from llm_guard.evaluate import scan_prompt
    from llm_guard.input_scanners.ban_substrings import BanSubstrings
    from llm_guard.input_scanners.invisible_text import InvisibleText
    from llm_guard.input_scanners.regex import Regex
    from llm_guard.input_scanners.secrets import Secrets
    from llm_guard.input_scanners.token_limit import TokenLimit
    from llm_guard.util import configure_logger

    import_s = time.perf_counter() - t0
    # Findings are logged as warnings by default; promptwall logs nothing, so neither does this.
    configure_logger(log_level="ERROR")

    scanners = {
        "Secrets": Secrets(redact_mode="all"),
        "BanSubstrings": BanSubstrings(
            substrings=[
                "ignore all previous instructions",
                "ignore previous instructions",
                "system prompt",
                "developer mode",
                "jailbreak",
            ],
            match_type="str",
            case_sensitive=False,
        ),
        "InvisibleText": InvisibleText(),
        "TokenLimit": TokenLimit(limit=4096, encoding_name="cl100k_base"),
        "Regex": Regex(patterns=[r"Bearer [A-Za-z0-9-._~+/]+"], is_blocked=True, match_type="search", redact=True),
    }
    result: dict[str, Any] = {
        "version": metadata.version("llm-guard"),
        "mode": mode,
        "detect_secrets_fork": metadata.version("bc-detect-secrets"),
        "import_s": import_s,
        "scanners": {},
    }
    secrets_results = None
    for name, scanner in scanners.items():
        summary, _, res, _ = per_prompt(scanner.scan, texts, 1, warmup=20)
        result["scanners"][name] = summary
        if name == "Secrets":
            secrets_results = res
    ordered = [scanners[n] for n in ("InvisibleText", "TokenLimit", "BanSubstrings", "Regex", "Secrets")]
    result["pipeline"], _, _, _ = per_prompt(lambda t: scan_prompt(ordered, t), texts, 1, warmup=20)

    assert secrets_results is not None
    result["secrets"] = {
        "results": [
            [r["id"], not valid, ("start" in r and r["text"][r["start"] : r["end"]] in sanitized)]
            for r, (sanitized, valid, _) in zip(rows, secrets_results)
        ]
    }
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
