"""The password rule and hashing, and the input rules for tenants (time zone, region, email, slug)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from bizzly.errors import DomainError, ErrorCode
from tenants import passwords, validation


@pytest.mark.parametrize(
    "password",
    [
        "Short1!",
        "onlylowercaseletters",
        "ONLYUPPERCASE",
        "123456789012",
        "!!!!!!!!!!!!",
        "Password123",
        "QWERTY12345",
    ],
)
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(DomainError) as refused:
        passwords.check_strength(password)
    assert refused.value.code is ErrorCode.WEAK_PASSWORD
    assert refused.value.field == "password"


@pytest.mark.parametrize(
    "password", ["Correct-Horse-42", "lowercase and spaces", "long-enough-1", "Ünïcödé-pass"]
)
def test_reasonable_passwords_pass(password: str) -> None:
    passwords.check_strength(password)


async def test_the_real_hasher_is_argon2id_with_a_serious_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    # tests/accounts/conftest.py makes hashing cheap; this test puts the production hasher back.
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher())
    stored = await passwords.hash_password("Correct-Horse-42")
    assert stored.startswith("$argon2id$")
    assert "m=65536,t=3" in stored
    assert await passwords.verify_password(stored, "Correct-Horse-42")
    assert not await passwords.verify_password(stored, "correct-horse-42")
    assert not await passwords.verify_password(None, "Correct-Horse-42")
    assert not await passwords.verify_password("not-a-hash", "Correct-Horse-42")
    assert not passwords.needs_rehash(stored)


def test_a_cheaper_old_hash_is_upgraded_on_log_in() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("Correct-Horse-42")
    assert PasswordHasher().check_needs_rehash(old)


@pytest.mark.parametrize(("value", "expected"), [("Europe/London", "Europe/London"), (" UTC ", "UTC")])
def test_time_zones(value: str, expected: str) -> None:
    assert validation.timezone(value) == expected


@pytest.mark.parametrize(
    "value", ["Mars/Base", "", "Europe", "europe/london", "/etc/localtime", "Europe/../UTC"]
)
def test_bad_time_zones(value: str) -> None:
    with pytest.raises(DomainError) as refused:
        validation.timezone(value)
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID, "timezone")


def test_regions() -> None:
    assert validation.region(" gb ") == "GB"
    for bad in ("", "G", "GBR", "XX", "001", "1A", "UK"):
        with pytest.raises(DomainError):
            validation.region(bad)


def test_emails_are_normalised_without_dns() -> None:
    assert validation.email("  Ann.Lee@Example.COM ") == "ann.lee@example.com"
    for bad in ("ann", "ann@", "@example.com", "ann@localhost", "ann@example..com", "a b@example.com"):
        with pytest.raises(DomainError):
            validation.email(bad)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Café Olé & Co", "cafe-ole-co"),
        ("  The   Blue  Door  ", "the-blue-door"),
        ("Ünïcödé Bäckerei", "unicode-backerei"),
        ("日本", ""),
        ("x" * 80, "x" * 63),
    ],
)
def test_slugs_from_names(name: str, slug: str) -> None:
    assert validation.slug_from_name(name) == slug


def test_slug_rules() -> None:
    assert validation.slug("Blue-Door") == "blue-door"
    assert validation.slug("abc") == "abc"
    for bad in ("ab", "a" * 64, "-abc", "abc-", "a_b", "a b", "admin", "graphql", "café"):
        with pytest.raises(DomainError) as refused:
            validation.slug(bad)
        assert refused.value.field == "slug"
