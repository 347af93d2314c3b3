"""Fixtures for the Google Analytics suite: the fake Measurement Protocol and settings pointing at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bizzly.settings import Settings
from tests.conftest import make_settings
from tests.fakes.ga import GaFake, running_ga_fake


@pytest.fixture
async def ga() -> AsyncIterator[GaFake]:
    async with running_ga_fake() as fake:
        yield fake


@pytest.fixture
def settings(database_settings: dict[str, str], ga: GaFake) -> Settings:
    return make_settings(database_settings, ga_url=ga.url)
