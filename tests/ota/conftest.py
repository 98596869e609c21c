"""Fixtures for the OTA codec tests: the OpenTravel 2011B schemas and samples.

The schemas live beside the repository (``../shared/ota``, or ``PEMA_OTA_DIR``).
Without them the tests that need them fail, saying where to get them (a skip
would let a checkout without them pass unchecked). Each root schema
is compiled once per session (``pema.ota.schemas``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from pema.ota.schemas import SchemaSet

MISSING = (
    "The OpenTravel 2011B {what} are missing: no folder {path}. The suite checks every "
    "OpenTravel message against the 2011B schemas and parses the 2011B samples. They are "
    "the OpenTravel Alliance's 2011B message specifications, published in the GitHub "
    "repository OpenTravel/OpenTravel-Specifications, folder OTA1.0/OTA2011B/"
    "OpenTravel2011B_XML. Put them in ../shared/ota/2011B/schemas and .../samples beside "
    "the checkout, or set PEMA_OTA_DIR to a folder holding 2011B/ (README: make test)."
)


def ota_dir() -> Path:
    return Path(os.environ.get("PEMA_OTA_DIR") or Path(settings.BASE_DIR).parent / "shared" / "ota")


def _required(what: str) -> Path:
    directory = ota_dir() / "2011B" / what
    if not directory.is_dir():
        pytest.fail(MISSING.format(what=what, path=directory), pytrace=False)
    return directory


def samples_dir() -> Path:
    """The 2011B sample messages; fails the test (or its module) when they are missing."""
    return _required("samples")


def schemas_dir() -> Path:
    """The 2011B schemas; fails the test when they are missing."""
    return _required("schemas")


class SchemaCache(SchemaSet):
    """The session's root schemas, with ``assert_valid`` for any built message."""

    def assert_valid(self, xml: bytes) -> None:
        from pema.ota import message_name

        self[message_name(xml)].assert_valid(xml)


@pytest.fixture(scope="session")
def schemas() -> SchemaCache:
    return SchemaCache(schemas_dir())
