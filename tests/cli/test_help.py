"""The `scrutiny` command's help is true: every command and subcommand (found by walking the
parser, not from a list) answers `--help` under its own name; every subcommand a help text names
exists; and every example the README and the `--help` epilogs show parses, and those that need no
running suite are run for real on a fresh data folder (`up`, `seed`, `import` and `export` are run
against real processes by tests/cross and tests/commitments/test_cli_and_demo.py)."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scrutiny_cli.main import main, parser

# What it checks does not depend on the database backend: CI runs it on SQLite only.
pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[2]


def _commands(
    p: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _commands(child, (*path, name))


COMMANDS = dict(_commands(parser()))


def test_the_walk_finds_every_command_the_issue_names() -> None:
    found = {" ".join(path) for path in COMMANDS}
    for expected in (
        "up",
        "migrate",
        "seed",
        "import",
        "export",
        "clients create",
        "clients list",
        "clients disable",
        "clients enable",
        "clients rotate-secret",
        "keys rotate",
    ):
        assert expected in found


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=lambda p: " ".join(p) or "scrutiny")
def test_every_help_answers_under_its_own_name(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith(" ".join(("usage: scrutiny", *path)))
    assert "python -m" not in shown


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=lambda p: " ".join(p) or "scrutiny")
def test_a_help_names_only_subcommands_that_exist(path: tuple[str, ...]) -> None:
    p = COMMANDS[path]
    for action in p._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for name, child in action.choices.items():
            listed = next(a.help for a in action._choices_actions if a.dest == name)
            # "manage API clients (create, list, ...)": each named in brackets must exist.
            named = re.search(r"\(([^)]*)\)\s*$", listed or "")
            if named:
                sub = {n for n in COMMANDS if n[: len(path) + 1] == (*path, name)}
                words = [w.strip() for w in named.group(1).split(",")]
                assert {(*path, name, w) for w in words} <= sub, (name, words)
            assert child.prog == " ".join(("scrutiny", *path, name))


def _shell_blocks(text: str) -> Iterator[str]:
    """The README's shell code blocks (fences opened with sh, bash, console or nothing)."""
    block: list[str] | None = None
    shell = False
    for line in text.splitlines():
        if line.startswith("```"):
            if block is None:
                block, shell = [], line[3:].strip() in {"", "sh", "bash", "console"}
            else:
                if shell:
                    yield "\n".join(block)
                block = None
        elif block is not None:
            block.append(line)


def _readme_examples() -> list[str]:
    examples = []
    for block in _shell_blocks((ROOT / "README.md").read_text()):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            # `./scrutiny test` is the wrapper's pytest, not a command of the CLI.
            if line.startswith("./scrutiny ") and not line.startswith("./scrutiny test"):
                examples.append(line.removeprefix("./"))
    return examples


def _help_examples() -> list[str]:
    found = []
    for p in COMMANDS.values():
        for line in (p.epilog or "").splitlines():
            if line.strip().startswith("scrutiny "):
                found.append(line.strip())
    return found


EXAMPLES = _readme_examples() + _help_examples()


# A client id in an example: `CLIENT_ID` in the help, `3f9c...` in the README.
PLACEHOLDER = re.compile(r"^(CLIENT_ID|[0-9a-f]+\.\.\.)$")


def _argv(example: str) -> list[str]:
    return shlex.split(example, comments=True)[1:]


def test_there_are_examples_from_both_places() -> None:
    assert _readme_examples()
    assert any(e.startswith("scrutiny clients disable") for e in _help_examples())


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_parses(example: str) -> None:
    args = parser().parse_args(_argv(example))
    assert args.command == _argv(example)[0]


def _scrutiny(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "scrutiny_cli.main", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_examples_that_need_no_running_suite_run(tmp_path: Path) -> None:
    data = tmp_path / ".data"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    subprocess.run(
        [sys.executable, "-m", "gateway.identity.manage", "migrate"],
        env={**env, "SCRUTINY_DATA_DIR": str(data)},
        check=True,
        capture_output=True,
        timeout=120,
    )
    client_id = None
    ran = []
    for example in EXAMPLES:
        argv = _argv(example)
        if argv[0] not in {"clients", "keys"}:
            continue
        if any(PLACEHOLDER.match(a) for a in argv):
            assert client_id, "an example creates a client first"
            argv = [client_id if PLACEHOLDER.match(a) else a for a in argv]
        done = _scrutiny(tmp_path, *argv)
        assert done.returncode == 0, (example, done.stderr)
        if argv[:2] == ["clients", "create"]:
            client_id = json.loads(done.stdout)["client_id"]
        ran.append(argv[:2])
    assert ["clients", "disable"] in ran
    assert ["clients", "rotate-secret"] in ran
    listing = json.loads(_scrutiny(tmp_path, "clients", "list", "--json").stdout)
    assert client_id in {c["client_id"] for c in listing}
    assert all(c["active"] for c in listing), "the examples end with their client enabled"
