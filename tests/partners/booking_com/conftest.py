"""Fixtures for the Booking.com codec tests: the 2011B schemas, the samples, a property."""

from __future__ import annotations

from pathlib import Path

import pytest

from partners.booking_com import codec
from tests.ota.conftest import SchemaCache, ota_dir

SAMPLES = Path(codec.__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@pytest.fixture(scope="session")
def schemas() -> SchemaCache:
    directory = ota_dir() / "2011B" / "schemas"
    if not directory.is_dir():
        pytest.skip(f"OpenTravel schemas not found (set PEMA_OTA_DIR); looked in {directory}")
    return SchemaCache(directory)
