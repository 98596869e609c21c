"""The OpenTravel 2011B schemas, compiled once per process, for validating messages.

One place for every validator of OpenTravel XML: the partner simulators that
refuse an invalid document as the partner would, and the wire tests that prove
every message we build is valid. They live beside the repository
(``PEMA_OTA_DIR``, ``../shared/ota`` by default) as the OpenTravel Alliance
publishes them.

libxml2 (through lxml) compiles a root schema with everything it includes in
well under a tenth of a second and validates in C. The pure-Python
``xmlschema`` took about three seconds a schema and held the interpreter lock
while it did, which stalled every other thread of a sandbox for ten seconds
after it started.
"""

from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings
from lxml import etree

#: Where the OpenTravel Alliance publishes the schemas, for the message saying they are missing.
SOURCE = (
    "the OpenTravel Alliance's 2011B message specifications: the GitHub repository "
    "OpenTravel/OpenTravel-Specifications, folder OTA1.0/OTA2011B/OpenTravel2011B_XML"
)


class SchemaMissing(LookupError):
    """The schema of a root element is not installed."""


def schemas_dir() -> Path:
    """The folder of 2011B root schemas (``<PEMA_OTA_DIR>/2011B/schemas``)."""
    return Path(settings.PEMA_OTA_DIR) / "2011B" / "schemas"


class SchemaSet:
    """Root schemas by message name (``OTA_HotelAvailNotifRQ``), compiled on first use.

    Thread-safe: a schema's error log belongs to the schema object and the
    parser is shared, so one validation at a time parses and reads them
    (parsing and validating in C take milliseconds).
    """

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self._schemas: dict[str, etree.XMLSchema] = {}
        self._lock = threading.Lock()
        self._validating = threading.Lock()

    @property
    def directory(self) -> Path:
        return self._directory if self._directory is not None else schemas_dir()

    def has(self, name: str) -> bool:
        return (self.directory / f"{name}.xsd").is_file()

    def schema(self, name: str) -> etree.XMLSchema:
        with self._lock:
            if name not in self._schemas:
                path = self.directory / f"{name}.xsd"
                if not path.is_file():
                    raise SchemaMissing(f"no 2011B schema {path}; it comes from {SOURCE}")
                self._schemas[name] = etree.XMLSchema(etree.parse(str(path)))
            return self._schemas[name]

    def __getitem__(self, name: str) -> RootSchema:
        """One root's schema, compiled now (so a missing one fails here, not mid-request)."""
        self.schema(name)
        return RootSchema(self, name)

    def errors(self, document: bytes | etree._Element, name: str | None = None) -> list[str]:
        """Why ``document`` is not valid against its root's schema (empty when it is).

        ``name`` defaults to the document's root element. Each reason names its
        line and says what libxml2 found, such as a missing attribute.
        """
        with self._validating:
            # One parser and one error log per set: lxml's are not for two threads at once.
            root = (
                document
                if isinstance(document, etree._Element)
                else etree.fromstring(document, parser=_SAFE_PARSER)
            )
            schema = self.schema(name or etree.QName(root).localname)
            if schema.validate(root):
                return []
            return [f"line {e.line}: {e.message}" for e in schema.error_log]


class RootSchema:
    """The schema of one root element, as the validators hold it."""

    def __init__(self, schemas: SchemaSet, name: str) -> None:
        self.schemas = schemas
        self.name = name

    def errors(self, document: bytes | etree._Element) -> list[str]:
        return self.schemas.errors(document, self.name)

    def assert_valid(self, document: bytes) -> None:
        errors = self.errors(document)
        assert not errors, f"{self.name} is not valid: " + "; ".join(errors[:3])


# Validation only: no network, no entities, no DTDs (the documents are already
# known to be safe XML when they reach here, but a test may hand in anything).
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)

#: The process's schemas, from ``PEMA_OTA_DIR``.
ota_schemas = SchemaSet()
