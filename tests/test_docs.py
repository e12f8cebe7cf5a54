"""The documentation's commands and links must exist.

An operator follows a runbook during an incident or a change window; a `make` target, an offline flag, a Pulumi
subcommand or a file that is not there fails them at the worst moment. These tests read every shell block of
README.md, CONTRIBUTING.md and docs/*.md and hold each command to what the repository really offers, so a rename in
the Makefile or the offline CLI breaks the build instead of the runbook.

What is checked, per command line of a ```sh / ```bash / ```shell block:
- `make X ... VAR=v`: X is a rule of the Makefile and VAR a variable it reads;
- `python -m offline SUB --flag ...`: SUB is a subcommand and every flag is accepted (read from the CLI's argparse
  parser; if the module offers no parser factory, from `python -m offline SUB --help`);
- `python scripts/X.py`: the script exists;
- `pulumi SUB ...`: SUB is a real Pulumi CLI command, and `--policy-pack` / `--policy-pack-config` paths exist.
Paths holding a shell variable (`"$STACK"`) or a placeholder (`<name>`), and files under `build/` that a runbook
creates first, are not checked. Markdown links to repository files (and their #anchors) must resolve, and every doc
must be linked from README.md or docs/README.md.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INDEXES = (ROOT / "README.md", ROOT / "docs" / "README.md")
SHELL_FENCES = frozenset({"sh", "bash", "shell"})
# Top-level commands of the Pulumi CLI that runbooks may use (`pulumi --help`).
PULUMI_COMMANDS = frozenset({
    "login", "stack", "config", "preview", "up", "refresh", "destroy", "state", "import", "cancel", "whoami",
    "plugin", "new", "policy", "logout", "about", "console", "org", "env", "version",
})
# Global Pulumi flags that take a value, so the word after them is not the subcommand.
PULUMI_VALUE_FLAGS = frozenset({"-C", "--cwd", "--color", "--tracing", "--verbose", "-v"})
PARSER_FACTORIES = ("build_parser", "make_parser", "create_parser", "get_parser", "parser")
FENCE_RE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)")
LINK_RE = re.compile(r"!?\[[^\]]*\]\((?P<target><[^>]+>|[^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING_RE = re.compile(r"^(#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
ASSIGNMENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
SEPARATOR_RE = re.compile(r"^[|&;]+$")


def documents() -> list[Path]:
    """README.md, CONTRIBUTING.md and every docs/*.md: the files operators and contributors follow."""
    files = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [f for f in files if f.exists()]


def rel(path: Path) -> str:
    """A document's name in messages: repository-relative when it is in the repository."""
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


DOCS = documents()


# --- reading Markdown ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """One logical line of a document: text outside code blocks, or a command line inside a shell block."""

    doc: str
    number: int
    text: str


def split_document(path: Path) -> tuple[list[Line], list[Line]]:
    """The prose lines (outside fences) and the shell command lines (inside sh/bash/shell fences), continuation
    lines joined, each with the number of the line it starts on."""
    prose: list[Line] = []
    commands: list[Line] = []
    fence: str | None = None
    shell = False
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        match = FENCE_RE.match(raw)
        if fence is None:
            if match:
                fence, shell = match.group("fence"), match.group("info").lower() in SHELL_FENCES
            else:
                prose.append(Line(rel(path), number, raw))
            continue
        if match and match.group("fence").startswith(fence[0]) and len(match.group("fence")) >= len(fence) \
                and not match.group("info"):
            fence, shell, pending = None, False, None
            continue
        if not shell:
            continue
        text = raw.strip()
        if text.startswith("$ "):
            text = text[2:]
        start, joined = pending if pending else (number, "")
        joined = f"{joined} {text}".strip()
        if joined.endswith("\\"):
            pending = (start, joined[:-1].rstrip())
            continue
        pending = None
        if joined and not joined.startswith("#"):
            commands.append(Line(rel(path), start, joined))
    return prose, commands


def without_code_spans(text: str) -> str:
    """Inline code is an example, not a link: `[a](b)` inside backticks must not be checked."""
    return re.sub(r"`+[^`]*`+", "", text)


# --- reading shell ------------------------------------------------------------------------------------------------

def substitutions(text: str) -> tuple[str, list[str]]:
    """Replace every `$( ... )` outside single quotes with a placeholder word and return the inner commands, so a
    `pulumi` or `make` inside a substitution is checked too."""
    out: list[str] = []
    inner: list[str] = []
    i, quote = 0, ""
    while i < len(text):
        char = text[i]
        if char == "'" and quote != '"':
            quote = "" if quote == "'" else "'"
        elif char == '"' and quote != "'":
            quote = "" if quote == '"' else '"'
        elif text.startswith("$(", i) and quote != "'":
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
            inner.append(text[i + 2:j - 1])
            out.append("SUBSTITUTION")
            i = j
            continue
        out.append(char)
        i += 1
    return "".join(out), inner


def simple_commands(text: str) -> list[list[str]]:
    """The words of each simple command on a line (split at |, &&, ||, ;), without leading VAR=value assignments.
    Raises ValueError for a line no shell could parse (an unbalanced quote)."""
    outer, inner = substitutions(text)
    lexer = shlex.shlex(outer, posix=True, punctuation_chars="|&;")
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for word in lexer:
        if SEPARATOR_RE.match(word):
            commands.append([])
        else:
            commands[-1].append(word)
    result = []
    for words in commands:
        while words and (ASSIGNMENT_RE.match(words[0]) or words[0] in ("export", "sudo", "env")):
            words = words[1:]
        if words:
            result.append(words)
    for nested in inner:
        result.extend(simple_commands(nested))
    return result


def commands_of(doc: Path) -> Iterator[tuple[Line, list[str]]]:
    """Every simple command of a document's shell blocks, with the line it came from."""
    for line in split_document(doc)[1]:
        try:
            words_list = simple_commands(line.text)
        except ValueError:
            continue  # reported by test_shell_lines_parse
        for words in words_list:
            yield line, words


def where(line: Line) -> str:
    return f"{line.doc}:{line.number}: `{line.text}`"


def option_values(words: list[str], flag: str) -> Iterator[str]:
    """The values given to `flag`, as `--flag value` or `--flag=value`."""
    for i, word in enumerate(words):
        if word == flag and i + 1 < len(words):
            yield words[i + 1]
        elif word.startswith(f"{flag}="):
            yield word.split("=", 1)[1]


def checkable_path(value: str) -> bool:
    """Shell variables, placeholders and the runbooks' own outputs under build/ are not repository files."""
    return not ("$" in value or "<" in value or value.startswith("build/") or value == "SUBSTITUTION")


def is_python(word: str) -> bool:
    return re.fullmatch(r"python3?(\.\d+)?", Path(word).name) is not None


# --- what the repository offers -----------------------------------------------------------------------------------

@cache
def makefile() -> tuple[frozenset[str], frozenset[str]]:
    """The Makefile's rule names and the variables it reads ($(VAR) or ${VAR})."""
    text = (ROOT / "Makefile").read_text()
    targets: set[str] = set()
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.%/-]+(?:[ \t]+[A-Za-z0-9_.%/-]+)*)[ \t]*:(?![:=])", line)
        if match:
            targets.update(t for t in match.group(1).split() if not t.startswith(".") and "%" not in t)
    variables = set(re.findall(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]", text))
    return frozenset(targets), frozenset(variables)


@dataclass(frozen=True)
class OfflineCli:
    """The offline CLI's subcommands and the flags each accepts; `missing` explains why it cannot be read."""

    flags: dict[str, frozenset[str]]
    missing: str = ""


@cache
def offline_cli() -> OfflineCli:
    """Read the contract of `python -m offline` from its argparse parser, the way argparse itself will judge it."""
    try:
        spec = importlib.util.find_spec("offline.cli")
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        return OfflineCli({}, "offline/cli.py does not exist, but the docs promise `python -m offline`")
    module = importlib.import_module("offline.cli")
    for name in PARSER_FACTORIES:
        factory = getattr(module, name, None)
        parser = factory() if callable(factory) else factory
        if isinstance(parser, argparse.ArgumentParser):
            return OfflineCli(_parser_flags(parser))
    return OfflineCli({})  # no factory: fall back to each subcommand's --help


def _parser_flags(parser: argparse.ArgumentParser, prefix: str = "",
                  inherited: frozenset[str] = frozenset()) -> dict[str, frozenset[str]]:
    """Subcommand (nested ones as "catalog refresh") -> the flags it accepts."""
    top = inherited | set(parser._option_string_actions)
    flags: dict[str, frozenset[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                flags[prefix + name] = frozenset(top | set(sub._option_string_actions))
                flags.update(_parser_flags(sub, f"{prefix}{name} ", frozenset(top)))
    return flags


@cache
def offline_help(subcommand: str) -> str | None:
    """`python -m offline SUB --help`, or None when the CLI refuses the subcommand."""
    done = subprocess.run([sys.executable, "-m", "offline", subcommand, "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    return done.stdout if done.returncode == 0 else None


def offline_problems(line: Line, args: list[str]) -> list[str]:
    """What is wrong with `python -m offline <args>` against the real CLI."""
    cli = offline_cli()
    if cli.missing:
        return [f"{where(line)}: {cli.missing}"]
    if not args or args[0].startswith("-"):
        return [f"{where(line)}: no subcommand (one of preview, check, report)"]
    sub, given = args[0], [a.split("=", 1)[0] for a in args[1:] if a.startswith("-")]
    if len(args) > 1 and f"{sub} {args[1]}" in cli.flags:
        sub = f"{sub} {args[1]}"
    if cli.flags:
        if sub not in cli.flags:
            return [f"{where(line)}: '{sub}' is not a subcommand of python -m offline (has: {sorted(cli.flags)})"]
        accepted = cli.flags[sub]
        return [f"{where(line)}: python -m offline {sub} does not accept {flag} (accepts: {sorted(accepted)})"
                for flag in given if flag not in accepted]
    text = offline_help(sub)
    if text is None:
        return [f"{where(line)}: `python -m offline {sub} --help` fails: '{sub}' is not a subcommand"]
    return [f"{where(line)}: `python -m offline {sub} --help` does not mention {flag}" for flag in given
            if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text)]


def pulumi_subcommand(words: list[str]) -> str | None:
    i = 1
    while i < len(words):
        if words[i] in PULUMI_VALUE_FLAGS:
            i += 2
        elif words[i].startswith("-"):
            i += 1
        else:
            return words[i]
    return None


def path_problems(line: Line, words: list[str]) -> list[str]:
    """Policy pack and config paths passed to pulumi or the offline CLI must be in the repository."""
    problems = []
    for value in option_values(words, "--policy-pack"):
        if checkable_path(value) and not (ROOT / value / "PulumiPolicy.yaml").is_file():
            problems.append(f"{where(line)}: --policy-pack {value} is not a policy pack (no {value}/PulumiPolicy.yaml)")
    for flag in ("--policy-pack-config", "--policy-config", "--stack-file"):
        for value in option_values(words, flag):
            if checkable_path(value) and not (ROOT / value).is_file():
                problems.append(f"{where(line)}: {flag} {value} does not exist in the repository")
    return problems


def command_problems(line: Line, words: list[str]) -> list[str]:
    """Every problem of one simple command against the Makefile, the offline CLI, scripts/ and the Pulumi CLI."""
    program = words[0]
    if program == "make":
        targets, variables = makefile()
        problems = []
        for word in words[1:]:
            if word.startswith("-"):
                continue
            if "=" in word:
                name = word.split("=", 1)[0]
                if name not in variables:
                    problems.append(f"{where(line)}: sets {name}, which the Makefile does not read")
            elif word not in targets:
                problems.append(f"{where(line)}: '{word}' is not a target of the Makefile (has: {sorted(targets)})")
        return problems
    if is_python(program):
        if words[1:3] == ["-m", "offline"]:
            return offline_problems(line, words[3:]) + path_problems(line, words)
        if len(words) > 1 and words[1].startswith("scripts/") and not (ROOT / words[1]).is_file():
            return [f"{where(line)}: {words[1]} does not exist"]
        return []
    if program == "pulumi":
        sub = pulumi_subcommand(words)
        if sub not in PULUMI_COMMANDS:
            return [f"{where(line)}: 'pulumi {sub}' is not a Pulumi CLI command (known: {sorted(PULUMI_COMMANDS)})"]
        return path_problems(line, words)
    return []


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every heading anchor of a Markdown file, duplicates numbered as GitHub does."""
    seen: dict[str, int] = {}
    result = set()
    for line in split_document(path)[0]:
        match = HEADING_RE.match(line.text)
        if not match:
            continue
        base = slug(match.group("text"))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return frozenset(result)


def links(path: Path) -> Iterator[tuple[Line, str]]:
    """Every Markdown link target in a document's prose (code blocks and inline code left out)."""
    for line in split_document(path)[0]:
        for match in LINK_RE.finditer(without_code_spans(line.text)):
            yield line, match.group("target").strip("<>")


def resolve(doc: Path, target: str) -> tuple[Path | None, str]:
    """The file a relative link points to (None for web links) and its #anchor."""
    if SCHEME_RE.match(target):
        return None, ""
    file_part, _, anchor = target.partition("#")
    return ((doc.parent / file_part).resolve() if file_part else doc.resolve()), anchor


# --- the tests ----------------------------------------------------------------------------------------------------

def test_the_extractor_reads_blocks_continuations_pipes_and_substitutions(tmp_path: Path) -> None:
    doc = tmp_path / "sample.md"
    doc.write_text("\n".join([
        "Text with `make nothing` inline.",
        "```sh",
        "# a comment",
        "STACK=prod make check STACK=prod && pulumi refresh --yes",
        "pulumi up \\",
        "  --policy-pack policies",
        "ID=$(pulumi stack output regions --json | jq -r '.a | .b')",
        "```",
        "```yaml",
        "make: not-a-command",
        "```",
    ]))
    lines = split_document(doc)[1]
    assert [(line.number, line.text) for line in lines] == [
        (4, "STACK=prod make check STACK=prod && pulumi refresh --yes"),
        (5, "pulumi up --policy-pack policies"),
        (7, "ID=$(pulumi stack output regions --json | jq -r '.a | .b')"),
    ]
    assert simple_commands(lines[0].text) == [["make", "check", "STACK=prod"], ["pulumi", "refresh", "--yes"]]
    assert simple_commands(lines[2].text) == [
        ["pulumi", "stack", "output", "regions", "--json"], ["jq", "-r", ".a | .b"]]


def test_the_docs_have_commands_of_every_kind_to_check() -> None:
    """Guards the guard: if the fences or the parsing changed, the other tests would pass on nothing."""
    programs = [words[0] if not is_python(words[0]) else " ".join(words[:3])
                for doc in DOCS for _, words in commands_of(doc)]
    assert "make" in programs
    assert "pulumi" in programs
    assert any(p.endswith("-m offline") for p in programs)


@pytest.mark.parametrize("doc", DOCS, ids=rel)
def test_shell_lines_parse(doc: Path) -> None:
    problems = []
    for line in split_document(doc)[1]:
        try:
            simple_commands(line.text)
        except ValueError as error:
            problems.append(f"{where(line)}: cannot be parsed as a shell command ({error})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", DOCS, ids=rel)
def test_commands_name_real_targets_subcommands_flags_and_files(doc: Path) -> None:
    problems = [problem for line, words in commands_of(doc) for problem in command_problems(line, words)]
    assert not problems, "\n".join(problems)


# Tools that live in the project's virtualenv: a documented command must name them by their .venv/bin path (or use a
# make target), so it works in a fresh shell without `source .venv/bin/activate`.
VENV_TOOLS = frozenset({"python", "python3", "pytest", "ruff", "mypy", "pip", "pip3"})


@pytest.mark.parametrize("doc", DOCS, ids=rel)
def test_commands_need_no_activated_virtualenv(doc: Path) -> None:
    problems = [f"{where(line)}: `{words[0]}` needs an activated virtualenv; write .venv/bin/{Path(words[0]).name} or "
                f"use a make target" for line, words in commands_of(doc)
                if (Path(words[0]).name in VENV_TOOLS or is_python(words[0])) and not words[0].startswith(".venv/bin/")]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", DOCS, ids=rel)
def test_relative_links_resolve(doc: Path) -> None:
    problems = []
    for line, target in links(doc):
        path, anchor = resolve(doc, target)
        if path is None:
            continue
        if not path.is_relative_to(ROOT):
            problems.append(f"{line.doc}:{line.number}: link {target} points outside the repository")
        elif not path.exists():
            problems.append(f"{line.doc}:{line.number}: link {target} names a file that does not exist")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            problems.append(f"{line.doc}:{line.number}: link {target} names no heading of {rel(path)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", [d for d in DOCS if d != ROOT / "README.md"], ids=rel)
def test_every_doc_is_linked_from_an_index(doc: Path) -> None:
    """A runbook nobody can find is a runbook nobody follows: README.md or docs/README.md must link it."""
    linked_from = [rel(index) for index in INDEXES if index.exists() and index != doc
                   and any(resolve(index, target)[0] == doc.resolve() for _, target in links(index))]
    indexes = " or ".join(rel(index) for index in INDEXES if index != doc)
    assert linked_from, f"{rel(doc)} is not linked from {indexes}: add a link such as [{rel(doc)}]({rel(doc)})"
