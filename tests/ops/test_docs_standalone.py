"""The repository stands alone: nothing in it points at files outside it (a user's clone has nothing
beside it), and every document it names exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The one deliberate look outside: where a steering copy of the contract sits beside the repository (as in
# CI), the contract test checks the two are equal, and skips where there is none.
MAY_LOOK_OUTSIDE = {"tests/contract/test_contract.py"}
OUTSIDE = ("DESIGN" + ".md", "../" + "shared")
DOC_NAME = re.compile(r"\bdocs/([a-z0-9_-]+\.md)\b")
LINK = re.compile(r"\]\(([^)#\s]+)")


def _tracked_text_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [
        name
        for name in listed.stdout.splitlines()
        if not name.startswith("graphql_api/graphiql_assets/") and not name.endswith((".png", ".svg"))
    ]


def test_nothing_refers_to_files_outside_the_repository() -> None:
    found = []
    for name in _tracked_text_files():
        if name in MAY_LOOK_OUTSIDE or not (ROOT / name).is_file():
            continue
        text = (ROOT / name).read_text(errors="replace")
        found += [f"{name}: {needle}" for needle in OUTSIDE if needle in text]
    assert found == []


def test_every_document_named_exists() -> None:
    missing = []
    for name in _tracked_text_files():
        path = ROOT / name
        if not path.is_file() or path.suffix not in {".md", ".py", ".toml", ".ini", ".env", ".service"}:
            continue
        text = path.read_text(errors="replace")
        missing += [
            f"{name}: docs/{doc}" for doc in DOC_NAME.findall(text) if not (ROOT / "docs" / doc).is_file()
        ]
        if path.suffix == ".md":
            for target in LINK.findall(text):
                if "://" not in target and not (path.parent / target).exists():
                    missing += [f"{name}: ({target})"]
    assert missing == []


@pytest.mark.parametrize("guide", ["design.md", "whatsapp.md", "hubspot.md", "analytics.md"])
def test_the_readme_leads_to_each_guide(guide: str) -> None:
    assert f"docs/{guide}" in (ROOT / "README.md").read_text()
