"""Fixtures for the OTA codec tests: the OpenTravel 2011B schemas and samples.

The schemas live beside the repository (``../shared/ota``, or ``PEMA_OTA_DIR``).
Loading one root schema takes over a second, so each is loaded once per session.
"""

from __future__ import annotations

import os
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema
from django.conf import settings


def ota_dir() -> Path:
    return Path(os.environ.get("PEMA_OTA_DIR") or Path(settings.BASE_DIR).parent / "shared" / "ota")


def samples_dir() -> Path:
    return ota_dir() / "2011B" / "samples"


class SchemaCache:
    """Root schemas by message name, loaded on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._schemas: dict[str, xmlschema.XMLSchema] = {}

    def __getitem__(self, name: str) -> xmlschema.XMLSchema:
        if name not in self._schemas:
            self._schemas[name] = xmlschema.XMLSchema(self.directory / f"{name}.xsd")
        return self._schemas[name]

    def assert_valid(self, xml: bytes) -> None:
        from pema.ota import message_name

        name = message_name(xml)
        errors = list(self[name].iter_errors(ElementTree.fromstring(xml)))
        assert not errors, f"{name} is not valid: " + "\n".join(str(e) for e in errors[:3])


@pytest.fixture(scope="session")
def schemas() -> SchemaCache:
    directory = ota_dir() / "2011B" / "schemas"
    if not directory.is_dir():
        pytest.skip(f"OpenTravel schemas not found (set PEMA_OTA_DIR); looked in {directory}")
    return SchemaCache(directory)
