"""Fixtures of the Expedia tests: the samples in ``partners/expedia/samples``."""

from __future__ import annotations

from pathlib import Path

from partners.expedia import codec

SAMPLES = Path(codec.__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()
