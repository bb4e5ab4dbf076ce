"""Every Markdown document a file of the repository refers to is in the repository.

Code, SQL, YAML and docs cite Markdown documents by name ("see docs/domain.md", a Markdown
link, "README.md#the-flow"). A name that resolves to no file of the repository sends a
newcomer to a document they do not have. A reference resolves when the path, taken relative
to the citing file's folder or to the repository root, is a file of the repository (tracked,
or new and not ignored); a `#anchor` after it must be a heading of that document, and so must
a Markdown document's links to its own headings (`[Sex](#sex)`). URLs (`https://...`, any
`scheme://`) are not references to the repository and are skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SELF = Path(__file__).resolve().relative_to(ROOT).as_posix()
TEXT_SUFFIXES = frozenset(
    {".md", ".py", ".sql", ".yml", ".yaml", ".toml", ".cfg", ".txt", ".j2", ".sh"}
)
TEXT_NAMES = frozenset({"Makefile"})

URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://\S*")
# A whole path token ending in .md (optionally absolute), then an optional #anchor. The
# look-behind keeps a match from starting inside a longer path; the look-ahead rejects .mdx.
MD_REF = re.compile(r"(?<![\w./-])(/?(?:[\w.-]+/)*[\w.-]+\.md)(?![\w-])(?:#([\w-]+))?")
FENCE = re.compile(r"^\s*(```|~~~)")
SAME_DOCUMENT_LINK = re.compile(r"\]\(#([\w-]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def repository_files() -> set[str]:
    """The repository's files (tracked, or untracked and not ignored) that exist on disk."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the repository's files cannot be listed")
    return {name for name in listed.split("\0") if name and (ROOT / name).is_file()}


def is_text(name: str) -> bool:
    path = Path(name)
    return path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES


def references(text: str) -> list[tuple[int, str, str | None]]:
    """The Markdown documents a text names: (line number, path, anchor or None)."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = URL.sub(lambda m: " " * len(m.group()), line)
        found.extend((number, m.group(1), m.group(2)) for m in MD_REF.finditer(line))
    return found


def resolve(citing: str, ref: str, files: set[str]) -> str | None:
    """The repository file `ref` names, relative to the citing file's folder or the root."""
    if ref.startswith("/"):
        return None  # an absolute path is outside the repository wherever it points
    folder = os.path.dirname(citing)
    for candidate in (os.path.join(folder, ref), ref):
        normal = os.path.normpath(candidate).replace(os.sep, "/")
        if normal in files:
            return normal
    return None


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    kept = "".join(
        c
        for c in heading.lower()
        if c.isalnum() or c in " -_" or unicodedata.category(c).startswith("M")
    )
    return kept.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """The anchors of a Markdown document's headings (repeats get -1, -2 ... as on GitHub)."""
    seen: dict[str, int] = {}
    result = set()
    in_fence = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            result.add(base if count == 0 else f"{base}-{count}")
    return result


def check_text(citing: str, text: str, files: set[str]) -> list[str]:
    """The references of one file (path `citing`, contents `text`) that do not resolve."""
    problems = []
    for number, ref, anchor in references(text):
        target = resolve(citing, ref, files)
        if target is None:
            folder = os.path.dirname(citing) or "."
            problems.append(
                f"{citing}:{number}: {ref!r} is no file of the repository "
                f"(looked relative to {folder}/ and to the root)"
            )
        elif anchor and anchor not in anchors((ROOT / target).read_text(encoding="utf-8")):
            problems.append(f"{citing}:{number}: {ref}#{anchor}: {target} has no such heading")
    if citing.endswith(".md"):
        own = anchors(text)
        for number, line in enumerate(text.splitlines(), start=1):
            problems.extend(
                f"{citing}:{number}: #{anchor}: no such heading in this document"
                for anchor in SAME_DOCUMENT_LINK.findall(line)
                if anchor not in own
            )
    return problems


def broken_references(files: set[str]) -> list[str]:
    """Every reference to a Markdown document or heading the repository does not hold."""
    problems = []
    for citing in sorted(files):
        # This module's docstrings and tests show example names on purpose.
        if citing == SELF or not is_text(citing):
            continue
        text = (ROOT / citing).read_text(encoding="utf-8", errors="replace")
        problems.extend(check_text(citing, text, files))
    return problems


def test_every_markdown_reference_resolves_in_the_repository():
    problems = broken_references(repository_files())
    assert not problems, "references to documents the repository does not hold:\n" + "\n".join(
        problems
    )


# The checker itself: what counts as a reference, and how it resolves.

FILES = {"README.md", "docs/domain.md", "dbt_project/README.md", "dbt_project/dbt_project.yml"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see GONE.md.", [(1, "GONE.md", None)]),
        ("(docs/domain.md#the-law)", [(1, "docs/domain.md", "the-law")]),
        ("[d](../shared/NOTES.md)", [(1, "../shared/NOTES.md", None)]),
        ("outside: /work/shared/NOTES.md", [(1, "/work/shared/NOTES.md", None)]),
        ("x\n`README.md#the-flow`", [(2, "README.md", "the-flow")]),
        ("https://github.com/o/r/blob/main/README.md and s3://b/k/x.md", []),
        ("notes.mdx, f'{name}.md', <source>.md, docs/*.md", []),
    ],
)
def test_references_are_path_tokens_ending_in_md(text, expected):
    assert references(text) == expected


@pytest.mark.parametrize(
    ("citing", "ref", "expected"),
    [
        ("dbt_project/dbt_project.yml", "README.md", "dbt_project/README.md"),  # same folder first
        ("dags/transform.py", "README.md", "README.md"),  # then the root
        ("dags/transform.py", "dbt_project/README.md", "dbt_project/README.md"),
        ("include/dictionary/README.md", "../../docs/domain.md", "docs/domain.md"),
        ("dbt_project/macros/names.sql", "GONE.md", None),
        ("README.md", "../shared/NOTES.md", None),  # outside the repository
        ("README.md", "/work/shared/NOTES.md", None),
    ],
)
def test_references_resolve_against_the_folder_then_the_root(citing, ref, expected):
    assert resolve(citing, ref, FILES) == expected


def test_anchors_follow_github_headings():
    markdown = (
        "# ndc\n## Measuring it: `ndc evaluate`\n```sh\n# not a heading\n```\n"
        "## Text as it arrives\n### Sex\n### Sex\n## Vietnamese personal names (họ tên)\n"
    )
    assert anchors(markdown) == {
        "ndc",
        "measuring-it-ndc-evaluate",
        "text-as-it-arrives",
        "sex",
        "sex-1",
        "vietnamese-personal-names-họ-tên",
    }


def test_anchors_must_name_a_heading_of_the_document():
    files = repository_files()
    assert check_text("x.py", "see docs/domain.md#the-law", files) == []
    assert check_text("x.py", "see docs/domain.md#no-such-heading", files) == [
        "x.py:1: docs/domain.md#no-such-heading: docs/domain.md has no such heading"
    ]
    assert check_text("x.md", "# Top\n[up](#top), [gone](#gone)", files) == [
        "x.md:2: #gone: no such heading in this document"
    ]
