"""Every Python snippet of the README and the docs runs, so the docs cannot drift from the code.

A page's Python blocks run in order in one namespace, like a notebook, against the loopback endpoint
seeded with the secrets and parameters the docs use. The page's shell blocks that come before a
Python block give it its environment: `VAR=value` and `export VAR=value` lines are set; a shell block
whose first line is `# .env` is written to `.env` in the working directory instead.
"""

from __future__ import annotations

import json
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
ASSIGNMENT = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


@dataclass
class Block:
    """One Python block and what precedes it on its page."""

    code: str
    line: int
    environ: dict[str, str] = field(default_factory=dict)
    dotenv: str | None = None


def _unquote(value: str) -> str:
    value = value.split("  #", 1)[0].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def blocks(page: Path) -> list[Block]:
    """The Python blocks of a page, each with the environment its preceding shell blocks set."""
    text = page.read_text()
    environ: dict[str, str] = {}
    dotenv: str | None = None
    found: list[Block] = []
    for match in FENCE.finditer(text):
        language, body = match.group(1), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        if language in ("sh", "bash", "shell", "dotenv"):
            if body.startswith("# .env"):
                dotenv = body
                continue
            for raw in body.splitlines():
                assignment = ASSIGNMENT.match(raw.strip())
                if assignment:
                    environ[assignment.group(1)] = _unquote(assignment.group(2))
        elif language == "python":
            found.append(Block(body, line, dict(environ), dotenv))
    return found


def page_id(page: Path) -> str:
    """A test id: the page's path from the repository root."""
    return str(page.relative_to(ROOT))


SHARED_ACCOUNT_ROLE = "arn:aws:iam::111122223333:role/shared-secrets-reader"


@pytest.fixture
def docs_world(sm: Any, ssm: Any, sts: Any, moto_server: Any) -> None:
    """The secrets and parameters the docs' examples name."""
    database = {"host": "db.internal", "port": 5432, "username": "app", "password": "docs-db-password"}
    sm.create_secret(Name="prod/db", SecretString=json.dumps(database))
    sm.create_secret(Name="prod/stripe", SecretString=json.dumps({"api_key": "sk_docs"}))
    ssm.put_parameter(Name="/prod/api/url", Value="https://api.example.com", Type="String")
    ssm.put_parameter(Name="/prod/app/allowed_hosts", Value="example.com,www.example.com", Type="StringList")
    # A worker's configuration, read whole by the bulk import and migration examples.
    worker = {"stripe_key": "sk_docs", "webhook_secret": "whsec_docs"}
    sm.create_secret(Name="prod/worker", SecretString=json.dumps(worker))
    queue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
    ssm.put_parameter(Name="/prod/worker/queue_url", Value=queue_url, Type="String")
    ssm.put_parameter(Name="/prod/worker/concurrency", Value="8", Type="String")
    ssm.put_parameter(Name="/prod/worker/signing_key", Value="docs-signing-key", Type="SecureString")
    limits = json.dumps({"max_items": 50, "beta": True})
    ssm.put_parameter(Name="/prod/worker/limits", Value=limits, Type="String")
    # A secret of another account, read through an assumed role by the cross-account how-to.
    keys = sts.assume_role(RoleArn=SHARED_ACCOUNT_ROLE, RoleSessionName="docs-seed")["Credentials"]
    shared = _seeding_session().client(
        "secretsmanager",
        endpoint_url=moto_server.url,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )
    shared.create_secret(Name="shared/payments", SecretString=json.dumps({"api_key": "sk_shared"}))


_SEEDING_SESSIONS: list[Any] = []


def _seeding_session() -> Any:
    """One boto3 session per worker for the other account's client (a new session loads its models again)."""
    if not _SEEDING_SESSIONS:
        import boto3

        _SEEDING_SESSIONS.append(boto3.session.Session(region_name="us-east-1"))
    return _SEEDING_SESSIONS[0]


class TestDocs:
    """The README's and the docs' Python snippets compile and run."""

    def test_pages_have_snippets(self) -> None:
        """The collector finds Python blocks (a broken fence pattern would make the other tests vacuous)."""
        assert sum(len(blocks(page)) for page in PAGES) >= 4

    @pytest.mark.parametrize("page", PAGES, ids=page_id)
    def test_page_runs(
        self, page: Path, docs_world: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """Each Python block of the page runs after the ones before it, with the page's environment."""
        monkeypatch.chdir(tmp_path)
        # A real module, as user code runs in: pydantic resolves a model's names through sys.modules.
        module = types.ModuleType(f"docs_{re.sub(r'[^a-z0-9]', '_', page_id(page).lower())}")
        monkeypatch.setitem(sys.modules, module.__name__, module)
        namespace = module.__dict__
        for block in blocks(page):
            for name, value in block.environ.items():
                monkeypatch.setenv(name, value)
            if block.dotenv is not None:
                (tmp_path / ".env").write_text(block.dotenv)
            code = compile(block.code, f"{page_id(page)}:{block.line}", "exec")
            exec(code, namespace)  # noqa: S102 - running the docs' own snippets is the point
