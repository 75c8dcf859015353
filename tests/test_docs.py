"""The documentation is tested: its examples run, and its navigation matches its pages.

Every ```python block of ``docs/**/*.md`` and ``README.md`` runs; the blocks of one page
run in order, in one namespace, in a fresh interpreter (so nothing a page does, such as
``configure()`` or ``instrument()``, leaks into other tests), with a temporary folder as
the working directory and no ``OTEL_*`` variables. ```pycon blocks run as doctests in
the same namespace, so the outputs they show are checked too.

A block that cannot run here (it needs a live backend) opts out with an HTML comment
right before it, giving the reason::

    <!-- skip: needs a Collector on localhost:4318 -->
    ```python
    ...
    ```
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
HOOKS = DOCS / "hooks"
PYTHON_LANGUAGES = {"python", "py", "python3"}
DOCTEST_LANGUAGES = {"pycon"}
PAGE_TIMEOUT_S = 120

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_SKIP = re.compile(r"^\s*<!--\s*skip:(?P<reason>.*?)-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown page."""

    path: str
    line: int  # 1-based line of the first line of code
    language: str
    info: str
    code: str
    skip_reason: str | None


def _markdown_files() -> list[Path]:
    pages = [p for p in sorted(DOCS.rglob("*.md")) if HOOKS not in p.parents]
    return [ROOT / "README.md", *pages]


def parse_blocks(text: str, path: str) -> list[Block]:
    """Every fenced block of ``text``, with its language and any skip marker before it."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    skip_reason: str | None = None
    while index < len(lines):
        line = lines[index]
        marker = _SKIP.match(line)
        if marker:
            skip_reason = marker.group("reason").strip()
            index += 1
            continue
        fence = _FENCE.match(line)
        if not fence:
            if line.strip():
                skip_reason = None  # a marker applies only to the block right after it
            index += 1
            continue
        indent, ticks, info = fence.group("indent"), fence.group("fence"), fence.group("info")
        body: list[str] = []
        index += 1
        while index < len(lines):
            closing = lines[index].strip()
            if closing.startswith(ticks[0] * len(ticks)) and not closing.strip(ticks[0]):
                break
            raw = lines[index]
            body.append(raw[len(indent) :] if raw.startswith(indent) else raw.lstrip())
            index += 1
        start = index - len(body) + 1
        info = info.strip()
        language = info.split(maxsplit=1)[0].lower() if info else ""
        code = "\n".join(body) + "\n"
        blocks.append(Block(path, start, language, info, code, skip_reason))
        skip_reason = None
        index += 1
    return blocks


def _pages_with_code() -> list[Path]:
    runnable = PYTHON_LANGUAGES | DOCTEST_LANGUAGES
    return [
        p
        for p in _markdown_files()
        if any(b.language in runnable for b in parse_blocks(p.read_text(), _rel(p)))
    ]


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


_RUNNER = r"""
import doctest, json, os, sys, traceback


def run_page(payload):
    blocks = json.load(open(payload, encoding="utf-8"))
    namespace = {"__name__": "__main__"}
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    for block in blocks:
        if block["language"] == "pycon":
            parser = doctest.DocTestParser()
            test = parser.get_doctest(block["code"], namespace, block["path"], block["path"],
                                      block["line"] - 1)
            runner = doctest.DocTestRunner(optionflags=flags)
            runner.run(test, clear_globs=False)
            namespace.update(test.globs)
            if runner.failures:
                sys.exit(f"{block['path']}:{block['line']}: pycon block failed")
        else:
            padded = "\n" * (block["line"] - 1) + block["code"]
            exec(compile(padded, block["path"], "exec"), namespace)


def serve(preload):
    # A fork server: import the heavy modules once, then run each page in a forked child
    # (its own process: nothing a page does leaks into the next one).
    for name in preload:
        try:
            __import__(name)
        except ImportError:
            pass
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os.chdir(request["cwd"])
            out = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(out, 1)
            os.dup2(out, 2)
            sys.stdin = open(os.devnull)
            return request["payload"]  # the child leaves the loop and runs the page
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)
    sys.exit(0)


if sys.argv[1] == "--serve":
    page = serve(sys.argv[2:])
else:
    page = sys.argv[1]
run_page(page)
"""

# Imported once by the fork server, so each page starts in milliseconds.
_PRELOAD = (
    "langchain_otel",
    "langchain_otel.llms",
    "langchain_otel.testing",
    "langchain_core.prompts",
    "langchain_core.output_parsers",
    "langchain_core.runnables",
    "opentelemetry.sdk.trace",
    "opentelemetry.sdk.metrics",
    "structlog",
    "anyio",
    "httpx",
)


def _page_env() -> dict[str, str]:
    """The environment pages run in: no OTEL_* settings, the repository importable."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "LANGCHAIN_OTEL_", "OPENAI_"))
    }
    # Pages may import the repository's test support (tests.support), as the suite does.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


class _PageRunner:
    """Runs pages in forked children of one server process (a subprocess each without fork)."""

    def __init__(self) -> None:
        self._server: subprocess.Popen[str] | None = None
        if hasattr(os, "fork"):
            self._server = subprocess.Popen(
                [sys.executable, "-c", _RUNNER, "--serve", *_PRELOAD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=_page_env(),
                text=True,
            )

    def run(self, payload: Path, cwd: Path) -> tuple[int, str]:
        """Run the blocks in ``payload`` with ``cwd`` as working directory."""
        if self._server is None or self._server.poll() is not None:
            result = subprocess.run(
                [sys.executable, "-c", _RUNNER, str(payload)],
                cwd=cwd,
                env=_page_env(),
                capture_output=True,
                text=True,
                timeout=PAGE_TIMEOUT_S,
                check=False,
            )
            return result.returncode, result.stdout + result.stderr
        assert self._server.stdin is not None
        assert self._server.stdout is not None
        output = payload.with_suffix(".out")
        request = {"payload": str(payload), "cwd": str(cwd), "output": str(output)}
        self._server.stdin.write(json.dumps(request) + "\n")
        self._server.stdin.flush()
        pid = json.loads(self._server.stdout.readline() or '{"pid": null}')["pid"]
        assert pid is not None, "the page server died; run the page alone to see why"
        timer = threading.Timer(PAGE_TIMEOUT_S, os.kill, (pid, signal.SIGKILL))
        timer.start()
        try:
            returncode = json.loads(self._server.stdout.readline() or '{"returncode": -1}')[
                "returncode"
            ]
        finally:
            timer.cancel()
        return returncode, output.read_text()

    def close(self) -> None:
        """Stop the server."""
        if self._server is not None:
            assert self._server.stdin is not None
            self._server.stdin.close()
            self._server.wait(timeout=PAGE_TIMEOUT_S)


@pytest.fixture(scope="module", name="page_runner")
def _page_runner() -> Iterator[_PageRunner]:
    runner = _PageRunner()
    try:
        yield runner
    finally:
        runner.close()


def _payload(blocks: list[Block], path: Path) -> Path:
    path.write_text(
        json.dumps([{"path": str(ROOT / b.path), "line": b.line, **_code(b)} for b in blocks])
    )
    return path


@pytest.mark.parametrize("page", _pages_with_code(), ids=_rel)
def test_page_examples_run(page: Path, tmp_path: Path, page_runner: _PageRunner) -> None:
    """The python (and pycon) blocks of the page run, in order, without an error."""
    blocks = parse_blocks(page.read_text(), _rel(page))
    runnable = [
        b
        for b in blocks
        if b.language in PYTHON_LANGUAGES | DOCTEST_LANGUAGES and b.skip_reason is None
    ]
    payload = _payload(runnable, tmp_path / "blocks.json")
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    returncode, output = page_runner.run(payload, workdir)
    assert returncode == 0, f"{_rel(page)} failed:\n{output}"


def _code(block: Block) -> dict[str, Any]:
    return {"code": block.code, "language": block.language}


def test_skip_markers_give_a_reason() -> None:
    """Every skipped block says why it cannot run here."""
    for page in _markdown_files():
        for block in parse_blocks(page.read_text(), _rel(page)):
            if block.skip_reason is not None:
                assert block.skip_reason, f"{block.path}:{block.line}: skip without a reason"


def test_python_fences_render() -> None:
    """A python fence has no stray words (```python skip renders as plain text)."""
    for page in _markdown_files():
        for block in parse_blocks(page.read_text(), _rel(page)):
            if block.language in PYTHON_LANGUAGES | DOCTEST_LANGUAGES:
                extra = block.info.split(maxsplit=1)[1:]
                assert not extra or "=" in extra[0], (
                    f"{block.path}:{block.line}: ```{block.info} does not render; "
                    "use <!-- skip: reason --> before the block to skip it"
                )


def test_parse_blocks_reads_skips_and_indentation() -> None:
    """The block parser finds the code, its line, indented fences and skip markers."""
    text = (
        "# Page\n\n```python\na = 1\n```\n\n<!-- skip: needs a server -->\n```python\nb = 2\n"
        "```\n\n!!! note\n    ```py\n    c = 3\n    ```\n\n<!-- skip: too far -->\n\ntext\n"
        "```python\nd = 4\n```\n"
    )
    blocks = parse_blocks(text, "page.md")
    assert [(b.line, b.code, b.skip_reason) for b in blocks] == [
        (4, "a = 1\n", None),
        (9, "b = 2\n", "needs a server"),
        (14, "c = 3\n", None),
        (21, "d = 4\n", None),
    ]


def test_runner_reports_the_failing_markdown_line(tmp_path: Path, page_runner: _PageRunner) -> None:
    """A failing block fails the page, and the traceback names the Markdown line."""
    page = tmp_path / "broken.md"
    page.write_text("# Broken\n\n```python\nx = 1\n```\n\ntext\n\n```python\nassert x == 2\n```\n")
    blocks = [replace(b, path=str(page)) for b in parse_blocks(page.read_text(), "broken.md")]
    payload = tmp_path / "blocks.json"
    payload.write_text(json.dumps([{"path": b.path, "line": b.line, **_code(b)} for b in blocks]))
    returncode, output = page_runner.run(payload, tmp_path)
    assert returncode == 1
    assert f'File "{page}", line 10' in output


def test_pycon_blocks_check_their_output(tmp_path: Path, page_runner: _PageRunner) -> None:
    """A ```pycon block runs as a doctest in the page's namespace: wrong output fails."""
    results = []
    for shown in ("3", "4"):
        text = f"```python\nx = 1\n```\n\n```pycon\n>>> x + 2\n{shown}\n```\n"
        blocks = [{"path": "page.md", "line": b.line, **_code(b)} for b in parse_blocks(text, "")]
        payload = tmp_path / f"pycon-{shown}.json"
        payload.write_text(json.dumps(blocks))
        results.append(page_runner.run(payload, tmp_path))
    assert results[0] == (0, "")
    assert results[1][0] == 1
    assert "Expected:\n    4\nGot:\n    3" in results[1][1]


def test_pages_do_not_leak_into_each_other(tmp_path: Path, page_runner: _PageRunner) -> None:
    """Each page runs in a fresh process: a global set by one page is gone in the next."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    for path, code in (
        (first, "import json\njson.LEAK = 1\n"),
        (second, "import json\nassert not hasattr(json, 'LEAK')\n"),
    ):
        block = {"path": "page.md", "line": 1, "code": code, "language": "python"}
        path.write_text(json.dumps([block]))
    assert page_runner.run(first, tmp_path)[0] == 0
    assert page_runner.run(second, tmp_path) == (0, "")


# -- navigation ----------------------------------------------------------------------------


class _AnyTagLoader(yaml.SafeLoader):
    """A safe loader that reads mkdocs.yml's ``!!python/name:`` and ``!ENV`` tags as null."""


_AnyTagLoader.add_multi_constructor("", lambda _loader, _suffix, _node: None)


@functools.cache
def _load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_docs_hooks", HOOKS / "generated.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def _generated_pages() -> dict[str, str]:
    """The pages the mkdocs hook generates (built once per test session)."""
    pages: dict[str, str] = _load_hooks().generated_pages()
    return pages


def _nav_pages(node: object) -> list[str]:
    if isinstance(node, str):
        return [] if "://" in node else [node]
    if isinstance(node, list):
        return [page for item in node for page in _nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in _nav_pages(value)]
    return []


def test_nav_lists_every_page_and_every_nav_page_exists() -> None:
    """mkdocs.yml's nav and the pages under docs/ (plus generated ones) are the same set."""
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=_AnyTagLoader)
    nav = _nav_pages(config["nav"])
    assert len(nav) == len(set(nav)), "a page is listed twice in the nav"
    excluded = [
        line.strip()
        for line in str(config.get("exclude_docs") or "").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    on_disk = {
        page
        for page in (p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
        if not any(page.startswith(x) if x.endswith("/") else page == x for x in excluded)
    }
    assert "hooks/" in excluded
    generated = set(_generated_pages())
    assert not on_disk & generated, "a generated page also exists on disk"
    assert sorted(on_disk - set(nav)) == [], "pages missing from the nav"
    assert sorted(set(nav) - on_disk - generated) == [], "nav entries without a page"


# -- generated reference pages -------------------------------------------------------------


def test_semconv_page_lists_every_name_we_emit() -> None:
    """The generated reference names every constant of the constants module, from code."""
    from langchain_otel.callbacks import _semconv as sc

    page = _generated_pages()["reference/semconv.md"]
    constants = {
        name: value
        for name, value in vars(sc).items()
        if name.isupper() and isinstance(value, str) and name != "LANGCHAIN_METADATA_PREFIX"
    }
    missing = sorted(name for name, value in constants.items() if f"`{value}`" not in page)
    assert missing == [], f"constants not on the generated page: {missing}"
    assert f"`{sc.LANGCHAIN_METADATA_PREFIX}<key>`" in page
    for metric in sc.METRICS:
        (row,) = [line for line in page.splitlines() if line.startswith(f"| `{metric.name}` |")]
        prometheus = row.rstrip(" |").rsplit("| ", 1)[-1]
        assert prometheus.startswith("`"), f"no Prometheus name for {metric.name}: {row}"
    for operation in (sc.OPERATION_CHAT, sc.OPERATION_TEXT_COMPLETION, sc.OPERATION_EXECUTE_TOOL):
        assert f"| `{operation}` |" in page, f"no observed span for {operation}"


def test_environment_page_lists_every_variable_the_code_reads() -> None:
    """Every OTEL_* / LANGCHAIN_OTEL_* name spelled in src/ is on the generated page."""
    hooks = _load_hooks()
    page = _generated_pages()["reference/environment-variables.md"]
    in_source = hooks._variables_in_source()
    assert "OTEL_SERVICE_NAME" in in_source  # the scan itself works
    assert "OTEL_TRACES_EXPORTER" in in_source  # f"OTEL_{signal}_EXPORTER" expanded
    missing = sorted(name for name in in_source if f"| `{name}` |" not in page)
    assert missing == [], f"variables read by the code but not documented: {missing}"
    assert "| — |" not in page, "a variable without a meaning"


def test_api_reference_covers_the_public_api() -> None:
    """Every name in langchain_otel.__all__ is rendered by reference/api.md."""
    import langchain_otel

    page = (DOCS / "reference" / "api.md").read_text()
    rendered = set(re.findall(r"^\s+- (\w+)$", page, flags=re.MULTILINE))
    missing = sorted(set(langchain_otel.__all__) - rendered - {"__version__"})
    assert missing == [], f"public names missing from reference/api.md: {missing}"
    for module in ("langchain_otel.llms", "langchain_otel.testing"):
        assert f"::: {module}\n" in page


def test_introduction_lists_every_extra() -> None:
    """The extras table of docs/index.md matches pyproject.toml's optional dependencies."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    rows = re.findall(r"^\| `(\w+)` \| `([\w.-]+)` \|", (DOCS / "index.md").read_text(), re.M)
    documented = dict(rows)
    assert set(documented) == set(extras)
    for name, requirements in extras.items():
        assert any(r.startswith(documented[name]) for r in requirements), name
