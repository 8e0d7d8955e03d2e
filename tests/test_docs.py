"""The documentation against the code: the command line reference is the commands' own --help,
and every `crmo-extract ...` command line README.md shows names a command and options that exist."""
from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import cli_reference  # noqa: E402  (tools/cli_reference.py)

README = ROOT / "README.md"
CLI_MD = ROOT / "docs" / "cli.md"
FIX = f"regenerate it with `{cli_reference.REGENERATE}` and commit the result"


def test_cli_md_is_the_commands_help():
    assert CLI_MD.read_text(encoding="utf-8") == cli_reference.cli_markdown(), \
        f"docs/cli.md is not the commands' --help as it is now: {FIX}"


def test_readme_reference_is_the_commands_help():
    readme = README.read_text(encoding="utf-8")
    assert cli_reference.BEGIN in readme and cli_reference.END in readme, \
        f"README.md lost its {cli_reference.BEGIN} ... {cli_reference.END} markers: put them back, then {FIX}"
    assert readme == cli_reference.readme_with_reference(readme), \
        f"README.md's command line reference is not `crmo-extract --help` as it is now: {FIX}"


def test_every_command_is_documented():
    names = cli_reference.command_names()
    assert {"run", "validate", "merge", "meta", "evaluate", "compare", "review"} <= set(names)
    cli_md = CLI_MD.read_text(encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    block = readme[readme.index(cli_reference.BEGIN):readme.index(cli_reference.END)]
    for name in names:
        assert f"### `crmo-extract {name}`" in cli_md, f"docs/cli.md has no section for {name}: {FIX}"
        assert f"$ crmo-extract {name} --help" in cli_md, f"docs/cli.md lacks `{name} --help`: {FIX}"
        assert re.search(rf"^  {re.escape(name)}\s", block, re.M), f"README.md's reference lacks {name}: {FIX}"


def test_machine_defaults_are_spelled_out():
    # --jobs defaults to os.cpu_count(): the reference must read the same on every machine
    assert "[default: (the number of cores); x>=1]" in cli_reference.command_help("run")


# --- command lines shown in README.md ----------------------------------------------------------

PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]*$")   # INPUT_DIR, COMMAND, ...


def _snippets(markdown: str) -> list[tuple[int, str]]:
    """(line number, text) of every piece of code that may hold a command: lines of shell code
    blocks, `$ ` lines of text blocks, and inline code spans outside blocks."""
    found, fence = [], None
    for number, line in enumerate(markdown.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else (stripped[3:].strip() or "sh")
            continue
        if fence is not None:
            if fence in ("bash", "sh", "shell", "console"):
                found.append((number, line))
            elif stripped.startswith("$ "):
                found.append((number, stripped[2:]))
            continue
        line = line.replace("\\`", "")   # escaped backticks inside a span
        found.extend((number, span) for span in re.findall(r"`([^`]+)`", line))
    return found


def _command_lines(markdown: str) -> list[tuple[int, list[str]]]:
    lines = []
    for number, text in _snippets(markdown):
        for part in re.split(r"&&|\|\||;|\|", text):
            at = re.search(r"(?:^|\s|\()crmo-extract(?=\s|$)", part)
            if at is None:
                continue
            piece = part[at.start():].strip().lstrip("(")
            try:
                words = shlex.split(piece, comments=True)
            except ValueError:
                words = piece.split()
            lines.append((number, words))
    return lines


def test_readme_shows_command_lines():
    lines = _command_lines(README.read_text(encoding="utf-8"))
    shown = {words[1] for _, words in lines if len(words) > 1}
    # the two commands of "Install and run" and the worked example at least
    assert {"run", "validate", "review", "merge", "meta", "compare", "evaluate"} <= shown, shown


def _problems(markdown: str) -> list[str]:
    names = set(cli_reference.command_names())
    root_options = {"--help", "-h", "--version"}
    problems = []
    for number, words in _command_lines(markdown):
        if len(words) < 2:
            continue                      # `crmo-extract` alone, as a name
        command = words[1].rstrip(".,:)")
        if command.startswith("-"):
            options, rest = root_options, words[1:]
        elif PLACEHOLDER.match(command):
            options, rest = {"--help", "-h"}, words[2:]   # crmo-extract COMMAND --help
        elif command in names:
            options, rest = cli_reference.command_options(command), words[2:]
        else:
            problems.append(f"README.md:{number}: `crmo-extract {command}`: no such command")
            continue
        for word in rest:
            option = word.strip("[]().,").split("=")[0]
            if option.startswith("-") and option != "-" and not re.match(r"^-\d", option):
                if option not in options:
                    problems.append(f"README.md:{number}: `crmo-extract {command} {option}`: no such option")
    return problems


def test_readme_command_lines_name_existing_commands_and_options():
    problems = _problems(README.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("bad, why", [
    ("```bash\ncrmo-extract extract corpus\n```\n", "no such command"),
    ("Run `crmo-extract run corpus --output x`.\n", "no such option"),
    ("```text\n$ crmo-extract merge --jobs 2\n```\n", "no such option"),
])
def test_the_readme_check_catches_mistakes(bad, why):
    assert any(why in p for p in _problems(bad))
