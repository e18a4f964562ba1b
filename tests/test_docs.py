"""Docs that travel with the repository: every document and file they point to is in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
# A markdown link's target; external links and in-page anchors are not files of the repo.
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_EXTERNAL = ("http://", "https://", "mailto:", "#")
# A path in code quotes that starts at a top-level folder of the repo, e.g. `dbt_project/seeds/`.
_TOP = "pipelines|dbt_project|dashboards|models|tests|benchmarks|docs"
_QUOTED_PATH = re.compile(rf"`((?:{_TOP})/[^`\s]*)`")


def _targets(doc: Path, text: str | None = None) -> list[tuple[str, Path]]:
    """What `doc` (or `text`, as if it were at `doc`) names, with the path each resolves to."""
    text = doc.read_text() if text is None else text
    found = [
        (link, (doc.parent / link.split("#")[0]).resolve())
        for link in _LINK.findall(text)
        if not link.startswith(_EXTERNAL)
    ]
    for path in _QUOTED_PATH.findall(text):
        if "<" not in path and "*" not in path:  # placeholders name no file
            found.append((path, (ROOT / path).resolve()))
    return found


def _problems(doc: Path, text: str | None = None) -> tuple[list[str], list[str]]:
    """The names `doc` points to outside the repository, and those that do not exist."""
    targets = _targets(doc, text)
    outside = [name for name, path in targets if not path.is_relative_to(ROOT)]
    missing = [name for name, path in targets if path.is_relative_to(ROOT) and not path.exists()]
    return outside, missing


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_doc_names_is_in_the_repo(doc: Path):
    outside, missing = _problems(doc)
    assert not outside, f"{doc.name} points outside the repository: {outside}"
    assert not missing, f"{doc.name} names files that do not exist: {missing}"


def test_the_check_finds_broken_links_and_missing_paths():
    """The check above can fail: links outside the repo and missing quoted paths are found,
    placeholders and external links are not."""
    text = (
        "See [the design](../../shared/design/KPIS.md), [ok](kpis.md#x), [web](https://x.org),"
        " `pipelines/simulator/nothing_here.py`, `pipelines/defs/<domain>/` and"
        " `pipelines/simulator/payloads.py`."
    )
    outside, missing = _problems(ROOT / "docs" / "example.md", text)
    assert outside == ["../../shared/design/KPIS.md"]
    assert missing == ["pipelines/simulator/nothing_here.py"]


def test_no_file_of_the_repo_cites_the_design_folder_outside_it():
    """Users have only the repository: nothing may cite the design notes it was built from."""
    offenders = []
    for folder in ("pipelines", "dbt_project", "dashboards", "models", "docs", "benchmarks"):
        for path in (ROOT / folder).rglob("*"):
            if "target" in path.relative_to(ROOT).parts:
                continue  # dbt's compiled output, not the project's files
            if path.suffix in {".py", ".md", ".yml", ".sql", ".csv", ".toml"} and path.is_file():
                text = path.read_text(errors="replace")
                if "KPIS.md" in text or "shared/design" in text:
                    offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"cite docs/ instead: {sorted(offenders)}"
