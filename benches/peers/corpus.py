"""The corpus of the peer comparison: benign prompts and prompts with planted secrets.

Every row is ``{"id", "set", "kind", "text"}``; rows with a planted secret also carry
``"secret_type"``, ``"start"`` and ``"end"`` (the planted snippet's span, as indices into
``text``). Sets:

- ``benign``: prompts written here (English, code, Chinese, Russian, configuration without
  credentials, logs and lock files full of hashes and ids) at lengths from 60 B to 16 KB;
- ``benign-dev``: the benign rows (label 0) of ``../shared/data/injection/dev.jsonl`` when
  that file exists, read at run time and never copied into the repository;
- ``planted-rules``: each ``examples.match`` string of every secret rule in ``rules/*.toml``
  planted into a benign prompt (promptwall's own test strings: it finds these by
  construction, so they measure the peers, not promptwall);
- ``planted-generated``: realistic secrets made here from public format facts with a seeded
  random generator (checksums where the format has one), in common settings (.env files,
  code, JSON, shell commands, chat), for the credential types that detect-secrets' and
  LLM Guard's plugins target as well as promptwall's.

Deterministic: the same repository and dev set give the same corpus.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import string
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEV_SET = ROOT.parent / "shared" / "data" / "injection" / "dev.jsonl"

ENGLISH = [
    "Our team is organising a two-day offsite in late spring and we need an agenda that mixes short talks, workshops and long enough breaks. ",
    "The first session should explain where the product stands, what we promised customers this year and who owns each part of the plan. ",
    "Could you suggest a venue near the train station that seats about fifty people, with vegetarian options and a quiet room for calls? ",
    "In the afternoon we would like small groups to go through the support tickets of the last quarter and pick the three most painful problems. ",
    "Please also write a friendly invitation e-mail with the dates, the address, what to bring and a link to the registration form. ",
    "Summarise the attached meeting notes in five bullet points and list the decisions that still need an owner. ",
    "My daughter is learning about photosynthesis at school. Can you explain it in simple words, with an example from our garden? ",
    "Translate the following paragraph into formal German, keeping the product names in English and the tone polite but direct. ",
]

CODE = [
    "def merge_intervals(intervals):\n    intervals.sort(key=lambda x: x[0])\n    out = []\n    for start, end in intervals:\n        if out and start <= out[-1][1]:\n            out[-1][1] = max(out[-1][1], end)\n        else:\n            out.append([start, end])\n    return out\n\n",
    "fn word_counts(text: &str) -> HashMap<&str, usize> {\n    let mut counts = HashMap::new();\n    for w in text.split_whitespace() {\n        *counts.entry(w).or_insert(0) += 1;\n    }\n    counts\n}\n\n",
    "async function fetchUser(id) {\n  const res = await fetch(`/api/users/${id}`, { headers: { Accept: 'application/json' } });\n  if (!res.ok) throw new Error(`HTTP ${res.status}`);\n  return res.json();\n}\n\n",
    "SELECT d.name, AVG(e.salary) AS avg_salary\nFROM employees e JOIN departments d ON d.id = e.department_id\nWHERE e.hired_at >= DATE '2023-01-01'\nGROUP BY d.name\nHAVING COUNT(*) > 5;\n\n",
    "Why does this test fail only on CI? It passes locally with the same Python version.\n\n",
]

CHINESE = [
    "我们计划在五月底组织一次为期两天的团队活动，需要一份包含主题演讲、分组讨论和休息时间的日程安排。",
    "请帮我把下面这段产品介绍改写得更简洁一些，保留关键功能，并在结尾加上一句邀请用户试用的话。",
    "第一天下午希望各小组回顾上个季度的用户反馈，找出最常见的三个问题，并提出改进建议。",
    "能否推荐几家距离地铁站步行十分钟以内、可以容纳五十人并提供素食的餐厅？",
]

RUSSIAN = [
    "Мы планируем двухдневную выездную встречу команды в конце мая, и нам нужна программа с докладами, мастер-классами и перерывами. ",
    "Помогите, пожалуйста, сократить описание продукта, сохранив главные функции, и добавить в конце приглашение попробовать сервис. ",
    "Во второй половине первого дня группы разберут отзывы клиентов за прошлый квартал и выберут три самые острые проблемы. ",
    "Посоветуйте ресторан недалеко от вокзала, где поместятся пятьдесят человек и есть вегетарианское меню. ",
]

CONFIG = [
    '# staging cluster\nregion = "eu-central-1"\nreplicas = 3\nlog_level = "info"\nmax_connections = 200\n',
    "server:\n  port: 8080\n  read_timeout: 30s\n  write_timeout: 30s\ndatabase:\n  host: db.internal\n  name: orders\n  user: app\n  password: ${DB_PASSWORD}\n",
    "FEATURE_SEARCH=true\nCACHE_TTL_SECONDS=600\nAPI_BASE_URL=https://api.example.com/v2\nSECRET_KEY=<set in vault>\nRETRIES=5\n",
    '[tool.poetry.dependencies]\npython = "^3.11"\nrequests = "^2.32"\npydantic = "^2.7"\n',
]

# Benign text that looks random: what developers paste into prompts all the time.
IDS = [
    "commit {hex40}\nAuthor: Jane Doe <jane@example.com>\nDate:   Tue Oct 7 14:02:11 2025 +0200\n\n    Fix off-by-one in pagination\n\n",
    '  "node_modules/left-pad": {{\n    "version": "1.3.0",\n    "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",\n    "integrity": "sha512-{b64_86}=="\n  }},\n',
    "2025-10-07T14:02:11.512Z INFO request_id={uuid} trace_id={hex32} status=200 latency_ms=41\n",
    "image: registry.internal/app@sha256:{hex64}\n",
    "The build {hex12} failed with exit code 137; see job {uuid} for the full log.\n",
]

KINDS = {"english": ENGLISH, "code": CODE, "chinese": CHINESE, "russian": RUSSIAN, "config": CONFIG}
LENGTHS = [60, 200, 500, 1000, 2000, 4000, 8000, 16000]

WRAPPERS = [
    "I'm getting a 401 from the API and can't see why. Here's the relevant part of my setup:\n\n{s}\n\nWhat am I doing wrong?",
    "Can you help me debug this? It worked yesterday.\n```\n{s}\n```\nThe error says the request was rejected.",
    "Please summarise these deployment notes for the team. {s} The service restarts every night at 02:00 and the logs go to the usual bucket.",
    "Rewrite this snippet so that it reads the value from an environment variable instead:\n\n{s}\n",
    "{s}",
]


def _fill(rng: random.Random, template: str) -> str:
    hexd = "0123456789abcdef"
    b64 = string.ascii_letters + string.digits + "+/"
    return template.format(
        hex12="".join(rng.choice(hexd) for _ in range(12)),
        hex32="".join(rng.choice(hexd) for _ in range(32)),
        hex40="".join(rng.choice(hexd) for _ in range(40)),
        hex64="".join(rng.choice(hexd) for _ in range(64)),
        b64_86="".join(rng.choice(b64) for _ in range(86)),
        uuid="-".join("".join(rng.choice(hexd) for _ in range(n)) for n in (8, 4, 4, 4, 12)),
    )


def _text(rng: random.Random, passages: list[str], size: int, ids: bool) -> str:
    out = []
    n = 0
    i = rng.randrange(len(passages))
    while n < size:
        p = _fill(rng, rng.choice(IDS)) if ids and rng.random() < 0.5 else passages[i % len(passages)]
        out.append(p)
        n += len(p.encode())
        i += 1
    text = "".join(out)
    b = text.encode()[:size]
    return b.decode("utf-8", errors="ignore").strip() or text


def benign_generated(rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for kind, passages in KINDS.items():
        for size in LENGTHS:
            for k in range(6):
                ids = kind in ("code", "config") and k % 2 == 1
                text = _text(rng, passages, size, ids)
                rows.append({"set": "benign", "kind": f"{kind}{'+ids' if ids else ''}", "text": text})
    return rows


def benign_dev() -> list[dict[str, Any]]:
    if not DEV_SET.exists():
        return []
    rows = []
    with DEV_SET.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r.get("label") == 0:
                rows.append({"set": "benign-dev", "kind": r.get("category", "?"), "text": r["text"]})
    return rows


def _plant(rng: random.Random, snippet: str, secret_type: str, set_name: str) -> dict[str, Any]:
    wrapper = rng.choice(WRAPPERS)
    before, after = wrapper.split("{s}")
    text = before + snippet + after
    return {
        "set": set_name,
        "kind": secret_type,
        "secret_type": secret_type,
        "text": text,
        "start": len(before),
        "end": len(before) + len(snippet),
    }


def planted_rules(rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for path in sorted((ROOT / "rules").glob("*.toml")):
        pack = tomllib.loads(path.read_text(encoding="utf-8"))
        for rule in pack.get("rule", []):
            if rule.get("category") != "secret":
                continue
            for example in rule.get("examples", {}).get("match", []):
                rows.append(_plant(rng, example, rule["id"], "planted-rules"))
    return rows


# --- realistic secrets from format facts -------------------------------------------------

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
HEX = "0123456789abcdef"
B32 = string.ascii_uppercase + "234567"


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _crc_b62(body: str) -> str:
    n = binascii.crc32(body.encode())
    out = ""
    for _ in range(6):
        out = B62[n % 62] + out
        n //= 62
    return out


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(rng: random.Random) -> str:
    header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    payload = _b64url(
        json.dumps(
            {"sub": str(rng.randrange(10**9)), "name": "Jane Doe", "iat": 1730000000 + rng.randrange(10**6)}
        ).encode()
    )
    return f"{header}.{payload}.{_r(rng, B64URL, 43)}"


def _pem(rng: random.Random, kind: str) -> str:
    body = "\n".join(_r(rng, B64, 64) for _ in range(6))
    return f"-----BEGIN {kind}-----\n{body}\n{_r(rng, B64, 40)}==\n-----END {kind}-----"


def _gh(rng: random.Random, prefix: str) -> str:
    body = _r(rng, ALNUM, 30)
    return prefix + body + _crc_b62(body)


def generated_secrets(rng: random.Random) -> list[tuple[str, str]]:
    """(secret type, snippet) pairs: each type in several settings."""
    r = lambda a, n: _r(rng, a, n)  # noqa: E731
    out: list[tuple[str, str]] = []

    def add(kind: str, *snippets: str) -> None:
        out.extend((kind, s) for s in snippets)

    akid = lambda: "AKIA" + r(B32, 16)  # noqa: E731
    add(
        "aws-access-key-id",
        f"aws_access_key_id = {akid()}",
        f"export AWS_ACCESS_KEY_ID={akid()}",
        f'{{"AccessKeyId": "{akid()}"}}',
        f"my key is {akid()} if that helps",
    )
    add(
        "aws-secret-access-key",
        f"aws_secret_access_key = {r(B64, 40)}",
        f"AWS_SECRET_ACCESS_KEY={r(B64, 40)}",
        f"[default]\naws_access_key_id = {akid()}\naws_secret_access_key = {r(B64, 40)}",
    )
    add(
        "github-classic-token",
        f"GITHUB_TOKEN={_gh(rng, 'ghp_')}",
        f"git clone https://{_gh(rng, 'ghp_')}@github.com/acme/app.git",
        f"token: {_gh(rng, 'gho_')}",
        f"use {_gh(rng, 'ghs_')} for the app",
    )
    add(
        "github-fine-grained-pat",
        f"GH_PAT=github_pat_{r(ALNUM, 22)}_{r(ALNUM, 59)}",
        f"Authorization: token github_pat_{r(ALNUM, 22)}_{r(ALNUM, 59)}",
    )
    add("gitlab-pat", f"GITLAB_TOKEN=glpat-{r(ALNUM, 20)}", f"private_token: glpat-{r(ALNUM + '-_', 20)}")
    add("npm-token", f"//registry.npmjs.org/:_authToken={_gh(rng, 'npm_')}", f"NPM_TOKEN={_gh(rng, 'npm_')}")
    add(
        "pypi-token",
        f"password = pypi-AgEIcHlwaS5vcmc{r(B64URL, 120)}",
        f"TWINE_PASSWORD=pypi-AgEIcHlwaS5vcmc{r(B64URL, 100)}",
    )
    add(
        "slack-token",
        f"SLACK_BOT_TOKEN=xoxb-{r(string.digits, 12)}-{r(string.digits, 13)}-{r(ALNUM, 24)}",
        f"client = WebClient(token='xoxp-{r(string.digits, 12)}-{r(string.digits, 12)}-{r(string.digits, 13)}-{r(HEX, 32)}')",
    )
    add(
        "slack-webhook",
        f"https://hooks.slack.com/services/T{r(B32[:26] + '0123456789', 10)}/B{r(B32[:26] + '0123456789', 10)}/{r(ALNUM, 24)}",
        f"SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T{r(B32[:26], 8)}/B{r(B32[:26], 10)}/{r(ALNUM, 24)}",
    )
    add(
        "stripe-secret-key",
        f'stripe.api_key = "sk_live_{r(ALNUM, 24)}"',
        f"STRIPE_SECRET_KEY=sk_live_{r(ALNUM, 99)}",
        f"rk_live_{r(ALNUM, 24)}",
    )
    add(
        "openai-api-key",
        f"OPENAI_API_KEY=sk-proj-{r(B64URL, 58)}T3BlbkFJ{r(B64URL, 58)}",
        f'client = OpenAI(api_key="sk-{r(ALNUM, 20)}T3BlbkFJ{r(ALNUM, 20)}")',
    )
    add(
        "anthropic-api-key",
        f"ANTHROPIC_API_KEY=sk-ant-api03-{r(B64URL, 93)}AA",
        f"anthropic.Anthropic(api_key='sk-ant-api03-{r(B64URL, 93)}AA')",
    )
    add(
        "google-api-key",
        f"GOOGLE_API_KEY=AIza{r(B64URL, 35)}",
        f"https://maps.googleapis.com/maps/api/geocode/json?key=AIza{r(B64URL, 35)}",
    )
    add(
        "huggingface-token",
        f"HF_TOKEN=hf_{r(string.ascii_letters, 34)}",
        f'login(token="hf_{r(string.ascii_letters, 34)}")',
    )
    add("sendgrid-api-key", f"SENDGRID_API_KEY=SG.{r(B64URL, 22)}.{r(B64URL, 43)}")
    add(
        "twilio", f"TWILIO_ACCOUNT_SID=AC{r(HEX, 32)}\nTWILIO_API_KEY=SK{r(HEX, 32)}", f'api_key_sid = "SK{r(HEX, 32)}"'
    )
    add("mailchimp-api-key", f"MAILCHIMP_API_KEY={r(HEX, 32)}-us{rng.randrange(1, 21)}")
    add("discord-bot-token", f"DISCORD_TOKEN=M{r(ALNUM, 23)}.{r(B64URL, 6)}.{r(B64URL, 38)}")
    add("telegram-bot-token", f"TELEGRAM_BOT_TOKEN={rng.randrange(10**8, 10**10)}:AA{r(B64URL, 33)}")
    add("square-oauth-secret", f"SQUARE_APP_SECRET=sq0csp-{r(B64URL, 43)}")
    add(
        "azure-storage-key",
        f"DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey={r(B64, 86)}==;EndpointSuffix=core.windows.net",
    )
    add("jwt", f"Authorization: Bearer {_jwt(rng)}", f"the token is {_jwt(rng)}", f'{{"access_token": "{_jwt(rng)}"}}')
    add(
        "private-key",
        _pem(rng, "RSA PRIVATE KEY"),
        _pem(rng, "OPENSSH PRIVATE KEY"),
        _pem(rng, "PRIVATE KEY"),
        _pem(rng, "EC PRIVATE KEY"),
    )
    add(
        "url-with-password",
        f"DATABASE_URL=postgres://app:{r(ALNUM, 16)}@db.internal:5432/orders",
        f"mongodb+srv://admin:{r(ALNUM, 14)}@cluster0.abcde.mongodb.net/test",
        f"redis://:{r(ALNUM, 20)}@cache.internal:6379/0",
        f"https://deploy:{r(ALNUM, 12)}@git.example.com/team/app.git",
    )
    add(
        "password-assignment",
        f'password = "{r(ALNUM, 6)}!{r(ALNUM, 7)}"',
        f"DB_PASSWORD={r(ALNUM, 18)}",
        f'"password": "{r(ALNUM, 10)}#{r(ALNUM, 5)}"',
        f"db_pass: '{r(ALNUM, 16)}'",
    )
    add(
        "generic-api-key",
        f'api_key = "{r(ALNUM, 32)}"',
        f"X-API-Key: {r(ALNUM, 40)}",
        f"const API_SECRET = '{r(HEX, 40)}';",
        f"client_secret: {r(B64URL, 32)}",
    )
    add(
        "basic-auth-header",
        f"Authorization: Basic {base64.b64encode(f'admin:{r(ALNUM, 14)}'.encode()).decode()}",
        f"curl -u ci:{r(ALNUM, 16)} https://ci.example.com/api/json",
    )
    add("artifactory-token", f"ARTIFACTORY_API_KEY=AKCp8{r(ALNUM, 68)}")
    add("ibm-cloud-iam-key", f'ibm_cloud_iam_api_key = "{r(B64URL, 44)}"')
    add("softlayer-api-key", f"softlayer_api_key = {r(HEX, 64)}")
    add("cloudant-password", f"https://acme:{r(HEX, 64)}@acme.cloudant.com")
    add("doppler-token", f"DOPPLER_TOKEN=dp.pt.{r(ALNUM, 43)}")
    add("vault-token", f"VAULT_TOKEN=hvs.{r(B64URL, 90)}")
    add("shopify-token", f"SHOPIFY_ACCESS_TOKEN=shpat_{r(HEX, 32)}")
    add("databricks-token", f"DATABRICKS_TOKEN=dapi{r(HEX, 32)}")
    return out


def planted_generated(rng: random.Random) -> list[dict[str, Any]]:
    # Two draws of every type and setting, with different random bodies and wrappers.
    pairs = generated_secrets(rng) + generated_secrets(rng)
    return [_plant(rng, snippet, kind, "planted-generated") for kind, snippet in pairs]


def build() -> list[dict[str, Any]]:
    # One generator per part: a rule example added or removed changes the planted-rules part
    # only, not the secrets drawn for planted-generated.
    rows = (
        benign_generated(random.Random(20251128))
        + benign_dev()
        + planted_rules(random.Random(20251129))
        + planted_generated(random.Random(20251130))
    )
    for i, row in enumerate(rows):
        row["id"] = i
    return rows


def main() -> None:
    out = sys.stdout if len(sys.argv) < 2 else open(sys.argv[1], "w", encoding="utf-8")
    for row in build():
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
