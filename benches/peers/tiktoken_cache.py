"""Fills tiktoken's cache with the rank files promptwall bundles, so that tiktoken works offline.

    TIKTOKEN_CACHE_DIR=DIR python tiktoken_cache.py

tiktoken downloads `cl100k_base.tiktoken` and `o200k_base.tiktoken` on first use and keeps
them in `$TIKTOKEN_CACHE_DIR` under the SHA-1 of their address. promptwall compiles in the
same official files (`crates/promptwall/data/`), so they are copied there under that name;
tiktoken still checks each file's SHA-256 against the hash it expects before using it.
The addresses are read from tiktoken's own encoding definitions, not written here.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
import shutil
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "crates" / "promptwall" / "data"


def main() -> None:
    cache = os.environ.get("TIKTOKEN_CACHE_DIR")
    if not cache:
        sys.exit("tiktoken_cache.py: set TIKTOKEN_CACHE_DIR")
    import tiktoken
    import tiktoken_ext.openai_public as public

    source = inspect.getsource(public)
    Path(cache).mkdir(parents=True, exist_ok=True)
    for name in ("cl100k_base", "o200k_base"):
        urls = set(re.findall(r'"(https?://[^"]+/' + name + r'\.tiktoken)"', source))
        if len(urls) != 1:
            sys.exit(f"tiktoken_cache.py: cannot find where tiktoken {tiktoken.__version__} loads {name} from")
        key = hashlib.sha1(urls.pop().encode()).hexdigest()
        src = DATA / f"{name}.tiktoken"
        if not src.exists():
            sys.exit(f"tiktoken_cache.py: {src} is missing")
        shutil.copyfile(src, Path(cache) / key)
        enc = tiktoken.get_encoding(name)  # verifies the SHA-256, fails loudly otherwise
        print(f"tiktoken {name}: {enc.n_vocab} tokens, from {src.relative_to(DATA.parents[2])}")


if __name__ == "__main__":
    main()
