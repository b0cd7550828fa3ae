"""The documents the code cites are in the repository: every ``docs/*.md`` a docstring, comment,
preset or document names exists, with the sections and claims it names, and nothing sends the
reader to a specification outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# What a checkout holds besides the project: never scanned.
SKIP_DIRS = {"outputs", "multirun", "build", "dist", "gpu_check_out", "__pycache__", "data"}
TEXT = {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".sh", ".cfg", ".ini"}
# The external specification the docs/ replaced (spelled in two parts so that this file does not
# cite it itself).
EXTERNAL_SPEC = "MODEL" + ".md"

CITED_DOC = re.compile(r"\bdocs/([\w-]+\.md)")
# "docs/model.md, sections 1 and 6", "`theory.md`, section 4", "[`theory.md`](theory.md), section 1"
CITED_SECTIONS = re.compile(
    r"\b([\w-]+\.md)[`)\]]*,? sections? (\d+(?:(?:, | and |, and )\d+)*)")
CITED_CLAIM = re.compile(r"\bmodel\.md[`)\]]*,? claim (\d+)")


def project_files() -> list[Path]:
    """The project's text files: the package, scripts, tests, presets, docs, top-level files."""
    files = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT).parts
        if any(part.startswith(".") or part in SKIP_DIRS or part.endswith(".egg-info")
               for part in rel[:-1]):
            continue
        if path.is_file() and path.suffix in TEXT and not rel[-1].startswith("."):
            files.append(path)
    return files


def section_numbers(doc: Path) -> set[int]:
    """Numbers of the ``## N. Title`` headings of a markdown document."""
    return {int(m) for m in re.findall(r"^## (\d+)\.", doc.read_text(), flags=re.M)}


def test_the_scan_sees_the_project():
    names = {p.relative_to(ROOT).as_posix() for p in project_files()}
    assert {"bbp_torch/hessian.py", "docs/model.md", "README.md", "tests/test_docs.py"} <= names


def test_no_file_cites_the_external_specification():
    citing = [p.relative_to(ROOT).as_posix() for p in project_files()
              if EXTERNAL_SPEC in p.read_text(errors="replace")]
    assert citing == [], f"cite docs/model.md instead of {EXTERNAL_SPEC}: {citing}"


@pytest.mark.parametrize("folder", ["bbp_torch", "scripts", "tests", "conf"])
def test_every_cited_doc_exists(folder):
    missing = []
    for path in project_files():
        if path.relative_to(ROOT).parts[0] != folder:
            continue
        for name in CITED_DOC.findall(path.read_text(errors="replace")):
            if not (DOCS / name).is_file():
                missing.append(f"{path.relative_to(ROOT)}: docs/{name}")
    assert missing == []


def test_every_cited_section_and_claim_exists():
    wrong = []
    for path in project_files():
        text = path.read_text(errors="replace")
        where = path.relative_to(ROOT).as_posix()
        for name, numbers in CITED_SECTIONS.findall(text):
            doc = DOCS / name
            if not doc.is_file():
                continue  # not one of docs/ (the test above covers the docs/ paths)
            have = section_numbers(doc)
            for n in map(int, re.findall(r"\d+", numbers)):
                if n not in have:
                    wrong.append(f"{where}: {name} section {n}")
        for n in CITED_CLAIM.findall(text):
            claims = (DOCS / "model.md").read_text().split("\n## 4.", 1)[1].split("\n## ", 1)[0]
            if not re.search(rf"^{n}\. ", claims, flags=re.M):
                wrong.append(f"{where}: model.md claim {n}")
    assert wrong == []



@pytest.mark.parametrize("kind", ["study", "training"])
def test_the_record_keys_table_is_the_declared_one(kind):
    """docs/records.md holds the key tables of bbp_torch.metrics as they are declared (print
    them again with ``python -m bbp_torch.metrics`` after a change)."""
    from bbp_torch.metrics import key_table

    assert key_table(kind) in (DOCS / "records.md").read_text()


def test_the_docs_name_no_renamed_training_key_as_current():
    """The training keys renamed (the Gram cosine was ``overlap``) appear in the docs only in a
    paragraph that says records written before still read."""
    from bbp_torch.metrics import RENAMED

    old_keys = [old for old in RENAMED if not old.startswith("series.")]  # overlap: the study's
    for path in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for paragraph in path.read_text().split("\n\n"):
            if any(f"`{old}`" in paragraph or f"metrics.{old}`" in paragraph for old in old_keys):
                assert "written before" in " ".join(paragraph.split()), (path.name, paragraph)
