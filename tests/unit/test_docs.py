"""The documentation stays true: a short README, links that land, one list of settings.

README.md is what the project is, the two commands, the walk-through, the lifecycle diagram,
the layout and links (at most 300 lines); every subject has its page under docs/. Each
relative link of README.md and docs/*.md names a file that exists and, with `#anchor`, a
heading of that file (GitHub's anchors). `.env.example` is the one list of settings: every
field of `core.settings.Settings` is shown there with its default under a comment saying what
it means, and it names nothing else but docker-compose.yml's own variables. Every `make`
target the README names is a rule of the Makefile.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT, Settings

README = PROJECT_ROOT / "README.md"
DOCS = sorted((PROJECT_ROOT / "docs").glob("*.md"))
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
MAKEFILE = PROJECT_ROOT / "Makefile"

README_MAX_LINES = 300

_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+\1")
_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SETTING_LINE = re.compile(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$")


def _prose_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of a Markdown file outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def anchor_of(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor of a Markdown file's headings, repeats numbered as GitHub does (-1, -2)."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in _prose_lines(path):
        match = _HEADING.match(line)
        if not match:
            continue
        base = anchor_of(match[2])
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of each link or image of a Markdown file that is not a URL."""
    links = []
    for number, line in _prose_lines(path):
        for match in _LINK.finditer(_CODE_SPAN.sub("", line)):
            target = match[1]
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, mailto:
                continue
            links.append((number, target))
    return links


def test_the_readme_is_at_most_300_lines() -> None:
    count = len(README.read_text(encoding="utf-8").splitlines())
    assert count <= README_MAX_LINES, f"README.md has {count} lines: move a subject to docs/"


def test_the_link_finder_sees_links_and_skips_code() -> None:
    """The checks below rest on this reading of Markdown."""
    assert anchor_of('Attachments (`make bench ARGS="--only attachments"`, not in it)') == (
        "attachments-make-bench-args--only-attachments-not-in-it"
    )
    assert anchor_of("What waits for what") == "what-waits-for-what"
    line = "[a](docs/x.md#y), ![p](docs/s.jpg), [web](https://e.org), `[no](code.md)`"
    assert [m[1] for m in _LINK.finditer(_CODE_SPAN.sub("", line))] == [
        "docs/x.md#y",
        "docs/s.jpg",
        "https://e.org",
    ]


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_relative_link_lands(page: Path) -> None:
    broken = []
    for number, target in relative_links(page):
        file_part, _, anchor = target.partition("#")
        destination = (page.parent / file_part).resolve() if file_part else page
        where = f"{page.relative_to(PROJECT_ROOT)}:{number}: {target}"
        if not destination.exists():
            broken.append(f"{where} (no such file)")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{where} (no such heading)")
    assert not broken, "\n".join(broken)


def _shown_settings() -> dict[str, tuple[str, int]]:
    """NAME -> (value shown, line index) for each `NAME=value` or `# NAME=value` line."""
    shown = {}
    for index, line in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()):
        match = _SETTING_LINE.match(line)
        if match:
            shown[match[1]] = (match[2], index)
    return shown


def _as_shown(default: object) -> str:
    """A default as `.env.example` writes it."""
    if default is None:
        return ""
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, Enum):
        return str(default.value)
    if isinstance(default, Path):
        inside = default.is_relative_to(PROJECT_ROOT)
        return str(default.relative_to(PROJECT_ROOT) if inside else default)
    return str(default)


def test_every_setting_is_shown_with_its_default() -> None:
    shown = _shown_settings()
    wrong = []
    for name, field in Settings.model_fields.items():
        variable = name.upper()
        if variable not in shown:
            wrong.append(f"{variable}: missing")
            continue
        value, default = shown[variable][0], _as_shown(field.get_default(call_default_factory=True))
        numbers = re.fullmatch(r"-?[\d.]+", value) and re.fullmatch(r"-?[\d.]+", default)
        if value != default and not (numbers and float(value) == float(default)):
            wrong.append(f"{variable}: shown {value!r}, the default is {default!r}")
    assert not wrong, "\n".join(wrong)


def test_every_setting_has_a_comment_saying_what_it_means() -> None:
    """Each setting line is under a comment of prose (settings of one block share it)."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    bare = []
    for variable, (_, index) in _shown_settings().items():
        above = index - 1
        while above >= 0 and _SETTING_LINE.match(lines[above]):
            above -= 1
        prose = lines[above] if above >= 0 else ""
        if not prose.startswith("# ") or prose.startswith("# ----"):
            bare.append(variable)
    assert not bare, f"no comment above: {bare}"


def test_env_example_names_only_settings_and_compose_variables() -> None:
    compose = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE_FILE.read_text(encoding="utf-8")))
    known = {name.upper() for name in Settings.model_fields} | compose
    unknown = sorted(set(_shown_settings()) - known)
    assert not unknown, f".env.example names what nothing reads: {unknown}"


def test_every_make_target_the_readme_names_exists() -> None:
    rules = set(re.findall(r"^([A-Za-z][\w.-]*):", MAKEFILE.read_text(encoding="utf-8"), re.M))
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", README.read_text(encoding="utf-8")))
    assert named, "the README names make targets"
    assert named <= rules, f"not in the Makefile: {sorted(named - rules)}"
