from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from tenants import passwords


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with the lowest cost: these tests hash hundreds of passwords, and what they check (which
    password is accepted) does not depend on the cost. ``test_passwords`` checks the real parameters."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
