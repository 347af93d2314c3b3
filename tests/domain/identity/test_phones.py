"""Phone normalisation: any common format in, E.164 out, with the tenant's region."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bizzly.errors import ErrorCode
from domain.identity.phones import InvalidPhone, parse_optional_phone, parse_phone, parse_whatsapp_id

ONE_PERSON = "+447700900123"


@pytest.mark.parametrize("raw", ["+44 7700 900123", "07700 900123", "447700900123", "0044 7700 900123"])
def test_the_common_formats_of_one_uk_number_are_one_number(raw: str) -> None:
    phone = parse_phone(raw, "GB")
    assert phone.e164 == ONE_PERSON
    assert phone.raw == raw


def test_whatsapp_id_is_read_as_international() -> None:
    assert parse_whatsapp_id("447700900123").e164 == ONE_PERSON


def test_digits_only_that_is_no_national_number_is_read_as_international() -> None:
    # A US business receives WhatsApp's form of a UK number: "+1 447700900123" is no number at all.
    assert parse_phone("447700900123", "US").e164 == ONE_PERSON
    # ...and a GB business a US number typed without "+".
    assert parse_phone("12125551234", "GB").e164 == "+12125551234"


def test_national_reading_wins_when_both_readings_are_numbers() -> None:
    # In Germany 447911123456 is a valid national number (Leer, 0447...): the region's reading wins, and a
    # wa_id, which is always international, goes through parse_whatsapp_id instead.
    assert parse_phone("447911123456", "DE").e164 == "+49447911123456"
    assert parse_whatsapp_id("447911123456").e164 == "+447911123456"


def test_national_number_without_trunk_zero_uses_the_region() -> None:
    assert parse_phone("7700 900123", "GB").e164 == ONE_PERSON
    assert parse_phone("(212) 555-1234", "US").e164 == "+12125551234"


@pytest.mark.parametrize("raw", ["abc", "12", "+", "07700 900123 555 555 555", "0" * 80, "+44 (0) 77x"])
def test_unparseable_phones_are_typed_errors(raw: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        parse_phone(raw, "GB")
    assert caught.value.code is ErrorCode.INVALID
    assert caught.value.field == "phone"


def test_a_national_number_of_another_country_is_refused() -> None:
    with pytest.raises(InvalidPhone):
        parse_phone("07700 900123", "US")


def test_whatsapp_id_must_be_digits() -> None:
    with pytest.raises(InvalidPhone):
        parse_whatsapp_id("44 77OO")


def test_blank_optional_phone_is_no_phone() -> None:
    assert parse_optional_phone(None, "GB") is None
    assert parse_optional_phone("   ", "GB") is None


def test_the_geocoder_is_never_loaded() -> None:
    # phonenumbers' geocoder, carrier and time-zone data cost ~110 MB; normalising must not pull them in.
    code = (
        "import sys\n"
        "import domain.identity.service, domain.customers.service\n"
        "from domain.identity.phones import parse_phone\n"
        "parse_phone('+44 7700 900123', 'GB')\n"
        "loaded = [m for m in sys.modules if m.startswith(('phonenumbers.geocoder', 'phonenumbers.carrier',"
        " 'phonenumbers.timezone', 'phonenumbers.geodata'))]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
