"""The 18 synthetic patients (Synthea, FHIR R4 transaction Bundles) kept in the repository.

They live xz-compressed in tests/data/synthea-r4-diabetic-neuropathy/ (licence and provenance in
its README.md), so a fresh clone has everything the tests and benchmarks read. Both import this
module: the tests as `synthetic`, the benchmarks as `tests.synthetic`.
"""
from __future__ import annotations

import json
import lzma
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "synthea-r4-diabetic-neuropathy"
PATIENT_FILES = sorted(DATA.glob("*.json.xz"))


def given_name(path: Path) -> str:
    """The given name the file starts with ("Renato" for Renato_Dare_<uuid>.json.xz): a short test id."""
    return path.name.split("_")[0]


def load(path: Path) -> dict:
    """One patient's transaction Bundle, decompressed and parsed."""
    with lzma.open(path, "rb") as f:
        return json.load(f)


def largest() -> Path:
    """The patient with the most data (by uncompressed size), the benchmarks' "typical" record."""
    return max(PATIENT_FILES, key=_uncompressed_size)


def _uncompressed_size(path: Path) -> int:
    with lzma.open(path, "rb") as f:
        return len(f.read())
