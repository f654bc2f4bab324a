"""Every page of the README and the docs runs the way a reader runs it: files, commands, sessions, pytest.

Each page runs in a fresh temporary folder, in order, against the loopback endpoint seeded with what
`pydantic-aws-settings demo --serve` seeds (the tests' own endpoint plays the second terminal). The
conventions, all visible on the rendered page:

- A fence with a file name, ```` ```python title="app.py" ```` (mkdocs-material shows it as the file's
  name), is written to that file, whatever its language; a later block with the same name replaces it.
  A `sh` block whose first line is `# .env` is written to `.env` too.
- A Python block titled ```` title="python -i app.py" ```` runs at the prompt that command leaves you at:
  a new Python process runs `app.py` as `__main__`, then the block, in the same namespace. Untitled
  Python blocks after it continue that session (a page with no such title starts a plain one), as if
  pasted at the same prompt, with the environment the page has set by then.
- `sh` blocks give the environment: their `VAR=value` and `export VAR=value` lines are set; nothing else
  in them is run (they hold deployment settings and `make` targets).
- `console` blocks are terminal transcripts: each `$ ` line is a command, the lines up to the next one
  its output. `$ export ...` sets the environment; `$ python ...`, `$ pytest ...` and
  `$ pydantic-aws-settings ...` run in the folder, in a new process with the page's environment, and
  must exit 0 and print exactly the output shown (when some is shown). `demo --serve` is the reader's
  second terminal, which the tests' endpoint stands for; it and other commands (`pip`, `mkdir`, `aws`,
  `kubectl`) set up the reader's machine and are not run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from pydantic_aws_settings.cli.demo import seed_docs

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
TITLE = re.compile(r'title="([^"]+)"')
ASSIGNMENT = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
RUN = ("python", "pytest", "pydantic-aws-settings")
BIN = str(Path(sys.executable).parent)

__all__ = ["PageRun", "Step", "steps"]

# The prompt of one Python session: reads one JSON step a line, answers on the original stdout, and
# sends everything the code prints to stderr (a file the test reads when a step fails).
SESSION = r"""
import json, os, sys, traceback
replies = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
namespace = sys.modules["__main__"].__dict__
for line in sys.stdin:
    step = json.loads(line)
    os.environ.clear()
    os.environ.update(step["env"])
    try:
        for source, filename in step["code"]:
            exec(compile(source, filename, "exec"), namespace)
    except BaseException:
        replies.write(json.dumps(traceback.format_exc()) + "\n")
    else:
        replies.write("null\n")
    replies.flush()
"""


@dataclass
class Step:
    """One thing a reader does on a page: write a file, set variables, run Python or a command."""

    kind: str  # "file", "env", "python", "command"
    line: int
    text: str = ""
    name: str = ""  # the file's name, or for "python" the file `python -i` runs first ("" continues)
    output: str | None = None


def _unquote(value: str) -> str:
    value = value.split("  #", 1)[0].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _runs(command: str) -> bool:
    """Whether a transcript's command is run by the test (see the module's docstring)."""
    words = command.split()
    return words[0] in RUN and "--serve" not in words and words[:3] != ["python", "-m", "venv"]


def _console(body: str, line: int) -> list[Step]:
    """A transcript's commands, each with the output shown under it."""
    found: list[Step] = []
    for chunk in re.split(r"^\$ ", body, flags=re.MULTILINE)[1:]:
        lines = chunk.split("\n")
        command = lines.pop(0)
        while command.endswith("\\") and lines:
            command = command[:-1] + lines.pop(0).strip()
        output = "\n".join(lines).rstrip()
        assignment = ASSIGNMENT.match(command)
        if command.startswith("export "):
            found.extend(
                Step("env", line, name=m.group(1), text=_unquote(m.group(2)))
                for m in (ASSIGNMENT.match(word) for word in shlex.split(command)[1:])
                if m
            )
        elif assignment is None and _runs(command):
            found.append(Step("command", line, text=command, output=output or None))
    return found


def steps(text: str) -> list[Step]:
    """What a reader does on a page, in order."""
    found: list[Step] = []
    for match in FENCE.finditer(text):
        language, attributes, body = match.groups()
        line = text.count("\n", 0, match.start()) + 1
        title = TITLE.search(attributes)
        name = title.group(1) if title else ""
        if name.startswith("python -i "):
            found.append(Step("python", line, body, name.removeprefix("python -i ").strip()))
        elif name:
            found.append(Step("file", line, body, name))
        elif language in ("sh", "bash", "shell") and body.startswith("# .env"):
            found.append(Step("file", line, body, ".env"))
        elif language in ("sh", "bash", "shell"):
            for raw in body.splitlines():
                assignment = ASSIGNMENT.match(raw.strip())
                if assignment:
                    found.append(
                        Step("env", line, name=assignment.group(1), text=_unquote(assignment.group(2)))
                    )
        elif language == "console":
            found.extend(_console(body, line))
        elif language == "python":
            found.append(Step("python", line, body))
    return found


class PageRun:
    """A page run in a folder: the files it writes, its environment, its Python sessions, its commands."""

    def __init__(self, page: str, folder: Path, environ: dict[str, str]) -> None:
        self.page = page
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.environ = {k: v for k, v in environ.items() if not k.startswith(("PYTEST_", "COV_"))}
        self.environ["PATH"] = BIN + os.pathsep + self.environ.get("PATH", "")
        self.environ["PYTHONUNBUFFERED"] = "1"
        self.environ.pop("PYTHONPATH", None)
        self.session: subprocess.Popen[str] | None = None
        self.session_log: IO[str] | None = None

    def run(self, page_steps: list[Step]) -> None:
        """Do each step in order; fail with the page, line and what went wrong."""
        try:
            for step in page_steps:
                getattr(self, f"_{step.kind}")(step)
        finally:
            self.close()

    def where(self, step: Step) -> str:
        """The step's place, as `page:line`."""
        return f"{self.page}:{step.line}"

    def _file(self, step: Step) -> None:
        path = self.folder / step.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(step.text)

    def _env(self, step: Step) -> None:
        self.environ[step.name] = step.text

    def _python(self, step: Step) -> None:
        code = [(step.text, self.where(step))]
        if step.name:  # `python -i FILE`: a new process, the file first
            self.close()
            self._start_session()
            code.insert(0, ((self.folder / step.name).read_text(), str(self.folder / step.name)))
        elif self.session is None:
            self._start_session()
        assert self.session is not None
        assert self.session.stdin is not None
        assert self.session.stdout is not None
        self.session.stdin.write(json.dumps({"env": self.environ, "code": code}) + "\n")
        self.session.stdin.flush()
        reply = self.session.stdout.readline()
        error = json.loads(reply) if reply else f"the session died:\n{self._session_output()}"
        if error is not None:
            pytest.fail(f"{self.where(step)}: the Python block failed:\n{error}", pytrace=False)

    def _start_session(self) -> None:
        self.session_log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in close()
        self.session = subprocess.Popen(
            [sys.executable, "-c", SESSION],
            cwd=self.folder,
            env=self.environ,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.session_log,
            text=True,
        )

    def _session_output(self) -> str:
        if self.session_log is None:
            return ""
        self.session_log.seek(0)
        return self.session_log.read()[-4000:]

    def _command(self, step: Step) -> None:
        result = subprocess.run(  # noqa: S602 - the docs' own command, as a reader types it
            step.text,
            shell=True,
            cwd=self.folder,
            env=self.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
            check=False,
        )
        shown = f"$ {step.text}\n{result.stdout}"
        if result.returncode != 0:
            pytest.fail(f"{self.where(step)}: exit status {result.returncode}:\n{shown}", pytrace=False)
        if step.output is not None:
            printed = "\n".join(line.rstrip() for line in result.stdout.rstrip().splitlines())
            expected = "\n".join(line.rstrip() for line in step.output.splitlines())
            if printed != expected:
                pytest.fail(
                    f"{self.where(step)}: the page shows\n{expected}\n\nthe command printed\n{printed}",
                    pytrace=False,
                )

    def close(self) -> None:
        """End the Python session, if one runs."""
        session, self.session = self.session, None
        if session is not None:
            assert session.stdin is not None
            session.stdin.close()
            try:
                session.wait(timeout=30)
            except subprocess.TimeoutExpired:
                session.kill()
                session.wait()
            assert session.stdout is not None
            session.stdout.close()
        if self.session_log is not None:
            self.session_log.close()
            self.session_log = None


def page_id(page: Path) -> str:
    """A test id: the page's path from the repository root."""
    return str(page.relative_to(ROOT))


@pytest.fixture
def docs_world(moto_server: Any) -> None:
    """The secrets and parameters the docs' examples name: what `demo --serve` seeds."""
    seed_docs(moto_server.url)


class TestDocs:
    """The README's and the docs' pages run as written."""

    def test_pages_have_steps(self) -> None:
        """The collector finds files, sessions and commands (a broken pattern would make the rest vacuous)."""
        found = [step.kind for page in PAGES for step in steps(page.read_text())]
        assert found.count("python") >= 4
        assert found.count("file") >= 4
        assert found.count("command") >= 3

    @pytest.mark.parametrize("page", PAGES, ids=page_id)
    def test_page_runs(self, page: Path, docs_world: None, tmp_path: Path) -> None:
        """Each file, session and command of the page, in order, in a fresh folder, with its environment."""
        PageRun(page_id(page), tmp_path, dict(os.environ)).run(steps(page.read_text()))


BROKEN_PAGE = """
The class, in `app.py`:

```python title="app.py"
from pydantic_aws_settings import AWSBaseSettings


class Settings(AWSBaseSettings):
    api_url: str = "http://localhost"
```

A test that forgets to import it:

```python title="test_app.py"
def test_default():
    assert Settings().api_url == "http://localhost"
```

```console
$ pytest -q test_app.py
```
"""


class TestTheDocsTest:
    """The runner catches what a shared namespace hid: test files that do not import what they use."""

    def test_a_test_file_without_its_import_fails_as_it_does_for_a_reader(self, tmp_path: Path) -> None:
        """pytest on the page's files fails with a reader's NameError; with the import, it passes."""  # noqa: D403
        with pytest.raises(pytest.fail.Exception, match="NameError: name 'Settings' is not defined"):
            PageRun("broken.md", tmp_path / "broken", dict(os.environ)).run(steps(BROKEN_PAGE))
        fixed = BROKEN_PAGE.replace("def test_default", "from app import Settings\n\n\ndef test_default")
        PageRun("fixed.md", tmp_path / "fixed", dict(os.environ)).run(steps(fixed))

    def test_output_shown_is_compared(self, tmp_path: Path) -> None:
        """A transcript whose output differs from what the command prints fails, naming both."""
        page = (
            '```python title="hello.py"\nprint("hello")\n```\n\n```console\n$ python hello.py\nhallo\n```\n'
        )
        with pytest.raises(pytest.fail.Exception, match="the page shows\nhallo"):
            PageRun("hello.md", tmp_path, dict(os.environ)).run(steps(page))
        PageRun("hello.md", tmp_path, dict(os.environ)).run(steps(page.replace("hallo", "hello")))
