"""PayU's hash formulas against the published vector, and exact money strings."""

from __future__ import annotations

import pytest

from payments.gateways.payu.hashes import (
    command_hash,
    matches,
    request_hash,
    response_hash,
    sha512,
)
from pema.money import decimal_string, exact_minor

# The legacy PayUbiz documentation's example, recomputed in the partner notes.
VECTOR = {
    "key": "C0Dr8m",
    "txnid": "12345",
    "amount": "10",
    "productinfo": "Shopping",
    "firstname": "Test",
    "email": "test@test.com",
    "udf2": "abc",
    "udf4": "15",
}
VECTOR_SALT = "3sf0jURk"
VECTOR_HASH = (
    "ffcdbf04fa5beefdcc2dd476c18bc410f02b3968e7f4f54e8f43f1e1a310bb32"
    "e3b4dec9305232bb89db5b1d0c009a53bcace6f4bd8ec2f695baf3d43ba730ce"
)


def test_request_hash_matches_payus_published_vector():
    assert request_hash(VECTOR, VECTOR_SALT) == VECTOR_HASH


def test_request_hash_is_over_the_exact_amount_string():
    assert request_hash({**VECTOR, "amount": "10.00"}, VECTOR_SALT) != VECTOR_HASH


def test_response_hash_is_the_reverse_formula_with_status():
    fields = {**VECTOR, "status": "success"}
    expected = sha512(
        "3sf0jURk|success||||||"  # salt, status and the five empty positions
        "|15||abc|"  # udf5..udf1
        "|test@test.com|Test|Shopping|10|12345|C0Dr8m"
    )
    assert response_hash(fields, VECTOR_SALT) == expected


def test_response_hash_is_prefixed_with_additional_charges_when_present():
    fields = {**VECTOR, "status": "success", "additional_charges": "5.00"}
    plain = response_hash({**VECTOR, "status": "success"}, VECTOR_SALT)
    with_charges = response_hash(fields, VECTOR_SALT)
    assert with_charges != plain
    assert with_charges == sha512(
        "5.00|3sf0jURk|success|||||||15||abc||test@test.com|Test|Shopping|10|12345|C0Dr8m"
    )


def test_command_hash():
    assert command_hash("k", "verify_payment", "T1", "s") == sha512("k|verify_payment|T1|s")


def test_matches_is_case_insensitive_and_refuses_other_values():
    assert matches(VECTOR_HASH, VECTOR_HASH.upper())
    assert not matches(VECTOR_HASH, VECTOR_HASH[:-1] + "0")
    assert not matches(VECTOR_HASH, None)


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(150000, "INR", "1500.00"), (1, "INR", "0.01"), (0, "INR", "0.00"), (1500, "JPY", "1500"),
     (1234567, "KWD", "1234.567")],
)  # fmt: skip
def test_minor_units_to_gateway_strings_and_back(minor, currency, text):
    assert decimal_string(minor, currency) == text
    assert exact_minor(text, currency) == minor


@pytest.mark.parametrize("text", ["1500.005", "1e3", "-1", " 1500", "1,500.00", "", "15.00.0"])
def test_inexact_or_odd_amounts_are_refused(text):
    with pytest.raises(ValueError):
        exact_minor(text, "INR")


def test_trailing_zeros_are_exact():
    assert exact_minor("1500", "INR") == 150000
    assert exact_minor("1500.5", "INR") == 150050
    assert exact_minor("1500.500", "INR") == 150050
