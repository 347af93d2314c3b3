"""The operator's documents keep up with the code: every setting, every RLS exemption and every use of the
maintenance role is written down."""

from __future__ import annotations

from pathlib import Path

import pytest

from bizzly.db.engine import MaintenanceUse
from bizzly.db.tenancy import RLS_EXEMPT
from bizzly.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_configuration_guide(name: str) -> None:
    assert f"`BIZZLY_{name.upper()}`" in (DOCS / "configuration.md").read_text()


@pytest.mark.parametrize("table", sorted(RLS_EXEMPT))
def test_every_rls_exemption_is_explained_in_the_architecture(table: str) -> None:
    assert f"`{table}`" in (DOCS / "architecture.md").read_text()


@pytest.mark.parametrize("use", [use.name for use in MaintenanceUse])
def test_every_use_of_the_maintenance_role_is_in_the_architecture(use: str) -> None:
    assert f"`{use}`" in (DOCS / "architecture.md").read_text()
