"""The documentation travels with the code: every link in it resolves inside the repository.

Checked documents: ``README.md``, ``CONTRIBUTING.md`` and ``docs/*.md``. A relative link must
name a file or folder of the repository (and, for ``file.md#anchor``, a heading of that
file); nothing may point outside the repository (``../`` escaping it, absolute paths, the
machine the project was developed on). A reader starting at README must reach every
service's folder (``services/<name>/``) within two clicks: README links a document that
links or names the folder. ``run.sh``'s references to Markdown files must exist too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: text that means the documents lean on something a user of the repository does not have
FORBIDDEN = {
    r"/work/": "an absolute path of the development machine",
    r"\.\./shared\b": "a folder beside the repository",
    r"shared/(ARCHITECTURE|STYLE)\.md": "a design file that is not in the repository",
    r"steering repo": "a repository users do not have",
}

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:, ...


def documents(root: Path = ROOT) -> list[Path]:
    """The Markdown documents whose links are checked."""
    docs = [root / "README.md", root / "CONTRIBUTING.md", *sorted((root / "docs").glob("*.md"))]
    return [d for d in docs if d.is_file()]


def strip_code(text: str) -> str:
    """The text without fenced code blocks and inline code (links there are examples, not links)."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    """Targets of the inline and reference-style links outside code."""
    prose = strip_code(text)
    return _INLINE_LINK.findall(prose) + _REFERENCE_LINK.findall(prose)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation removed, spaces to
    hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading anchor of a Markdown text (repeated headings get ``-1``, ``-2``, ... as on
    GitHub)."""
    seen: dict[str, int] = {}
    result = set()
    for _, heading in _HEADING.findall(_FENCE.sub("", text)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def check_link(doc: Path, target: str, root: Path = ROOT) -> str | None:
    """Why ``target`` (a link in ``doc``) is broken, or None when it resolves inside ``root``."""
    if _EXTERNAL.match(target):
        return (
            None
            if target.lower().startswith(("http://", "https://", "mailto:"))
            else (f"{target!r} is not a web link; link a file of the repository relatively")
        )
    path_part, _, anchor = target.partition("#")
    if path_part.startswith("/"):
        return f"{target!r} is an absolute path; use a path relative to {doc.name}"
    resolved = (doc.parent / path_part).resolve() if path_part else doc.resolve()
    try:
        resolved.relative_to(root.resolve())
    except ValueError:
        return f"{target!r} points outside the repository"
    if not resolved.exists():
        return f"{target!r} does not exist (looked for {resolved.relative_to(root.resolve())})"
    if (
        anchor
        and resolved.is_file()
        and resolved.suffix == ".md"
        and anchor not in anchors(resolved.read_text(encoding="utf-8"))
    ):
        return f"{target!r}: {resolved.name} has no heading with anchor #{anchor}"
    return None


def forbidden_references(text: str) -> list[str]:
    """Descriptions of every reference to something outside the repository found in ``text``."""
    found = []
    for pattern, why in FORBIDDEN.items():
        for match in re.finditer(pattern, text, re.I):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"line {line}: {match.group(0)!r} ({why})")
    return found


def linked_documents(doc: Path, root: Path = ROOT) -> list[Path]:
    """Markdown files of the repository that ``doc`` links to."""
    out = []
    for target in links(doc.read_text(encoding="utf-8")):
        if _EXTERNAL.match(target) or check_link(doc, target, root):
            continue
        path_part = target.partition("#")[0]
        resolved = (doc.parent / path_part).resolve() if path_part else doc.resolve()
        if resolved.is_file() and resolved.suffix == ".md":
            out.append(resolved)
    return out


def reaches(doc: Path, folder: Path, root: Path = ROOT) -> bool:
    """True if ``doc`` links to ``folder`` (or a file in it) or names it as ``services/<name>/``."""
    folder = folder.resolve()
    text = doc.read_text(encoding="utf-8")
    for target in links(text):
        if _EXTERNAL.match(target) or check_link(doc, target, root):
            continue
        resolved = (doc.parent / target.partition("#")[0]).resolve()
        if resolved == folder or folder in resolved.parents:
            return True
    name = folder.relative_to(root.resolve()).as_posix()
    return re.search(rf"(?<![\w/.-]){re.escape(name)}/", text) is not None


def within_two_clicks(folder: Path, start: Path = README, root: Path = ROOT) -> bool:
    """README itself, or a document README links, links or names ``folder``."""
    return any(reaches(doc, folder, root) for doc in [start, *linked_documents(start, root)])


def service_folders(root: Path = ROOT) -> list[Path]:
    return sorted(p.parent for p in (root / "services").glob("*/__init__.py"))


# ------------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("doc", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves_inside_the_repository(doc: Path) -> None:
    broken = [
        f"{target}: {why}"
        for target in links(doc.read_text(encoding="utf-8"))
        if (why := check_link(doc, target))
    ]
    assert not broken, f"{doc.relative_to(ROOT)} has broken links:\n" + "\n".join(broken)


@pytest.mark.parametrize("doc", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_reference_to_anything_outside_the_repository(doc: Path) -> None:
    found = forbidden_references(doc.read_text(encoding="utf-8"))
    assert not found, f"{doc.relative_to(ROOT)} refers outside the repository:\n" + "\n".join(found)


def test_the_guides_exist_and_readme_links_them() -> None:
    linked = {p.relative_to(ROOT).as_posix() for p in linked_documents(README)}
    for guide in ("docs/architecture.md", "docs/operations.md", "CONTRIBUTING.md"):
        assert (ROOT / guide).is_file(), f"{guide} is missing"
        assert guide in linked, f"README.md does not link {guide}"


@pytest.mark.parametrize("folder", service_folders(), ids=lambda p: p.name)
def test_each_service_is_within_two_clicks_of_readme(folder: Path) -> None:
    assert within_two_clicks(folder), (
        f"services/{folder.name}/ cannot be reached from README.md in two clicks: "
        "link it from the service table of docs/architecture.md ('Where each part lives')"
    )


def test_run_sh_points_at_documents_that_exist() -> None:
    text = (ROOT / "run.sh").read_text(encoding="utf-8")
    assert not forbidden_references(text), forbidden_references(text)
    for name in re.findall(r"[\w./-]+\.md\b", text):
        assert (ROOT / name).is_file(), (
            f"run.sh refers to {name}, which is not a file of the repository"
        )


# ------------------------------------------------------------- the checker on a made-up tree


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "services" / "alpha").mkdir(parents=True)
    (tmp_path / "services" / "alpha" / "__init__.py").write_text('"""alpha"""\n')
    (tmp_path / "services" / "beta").mkdir()
    (tmp_path / "services" / "beta" / "__init__.py").write_text('"""beta"""\n')
    (tmp_path / "docs" / "guide.md").write_text(
        "# The guide\n\n## Serving on a `CPU` machine\n\nSee [alpha](../services/alpha/).\n"
        "```\n[not a link](../../outside.md)\n```\n"
    )
    (tmp_path / "README.md").write_text("# Project\n\n[guide](docs/guide.md)\n")
    return tmp_path


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("docs/guide.md", None),
        ("docs/guide.md#serving-on-a-cpu-machine", None),
        ("docs/guide.md#the-guide", None),
        ("#project", None),
        ("services/alpha/", None),
        ("https://example.org/x", None),
        ("docs/missing.md", "does not exist"),
        ("docs/guide.md#no-such-heading", "no heading with anchor #no-such-heading"),
        ("#nowhere", "no heading with anchor #nowhere"),
        ("../outside.md", "points outside the repository"),
        ("docs/../../outside.md", "points outside the repository"),
        ("/etc/passwd", "absolute path"),
        ("file:///etc/passwd", "not a web link"),
    ],
)
def test_check_link_on_a_made_up_tree(tree: Path, target: str, problem: str | None) -> None:
    why = check_link(tree / "README.md", target, root=tree)
    if problem is None:
        assert why is None
    else:
        assert why is not None and problem in why


def test_links_inside_code_are_examples_not_links(tree: Path) -> None:
    text = (tree / "docs" / "guide.md").read_text()
    assert links(text) == ["../services/alpha/"]


def test_reference_style_links_are_checked_too() -> None:
    assert links("See [the guide][g].\n\n[g]: docs/guide.md\n") == ["docs/guide.md"]


def test_forbidden_references_are_found_anywhere_even_in_code() -> None:
    text = "ok\n`../shared/ARCHITECTURE.md`\n```\ncat /work/main/x\n```\nthe steering repository\n"
    found = forbidden_references(text)
    assert any("line 2" in f for f in found) and any("line 4" in f for f in found)
    assert any("steering" in f for f in found)


def test_two_clicks_follows_one_document_from_readme(tree: Path) -> None:
    alpha, beta = tree / "services" / "alpha", tree / "services" / "beta"
    readme = tree / "README.md"
    assert within_two_clicks(alpha, readme, tree)
    assert not within_two_clicks(beta, readme, tree)
    (tree / "docs" / "guide.md").write_text(
        (tree / "docs" / "guide.md").read_text() + "\n`services/beta/`\n"
    )
    assert within_two_clicks(beta, readme, tree)


def test_two_clicks_stops_at_two(tree: Path) -> None:
    (tree / "docs" / "guide.md").write_text("# Guide\n\n[more](deeper.md)\n")
    (tree / "docs" / "deeper.md").write_text("[alpha](../services/alpha/)\n")
    assert not within_two_clicks(tree / "services" / "alpha", tree / "README.md", tree)
