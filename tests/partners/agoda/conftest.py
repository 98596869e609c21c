"""Fixtures of the Agoda tests: the samples typed from the partner notes."""

from __future__ import annotations

import json
from pathlib import Path

from partners.agoda import codec

SAMPLES = Path(codec.__file__).parent / "samples"
PROPERTY = "1949542"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def sample_json(name: str) -> dict:
    return json.loads(sample(name))
