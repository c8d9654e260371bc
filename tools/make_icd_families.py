"""Regenerate the ICD-10-CM part of the value sets named in knowledge/icd10cm-families.yaml.

A family is matched whole: every billable descendant in the pinned CDC tabular
(``simple-icd-10-cm==1.5.0``, April 1 2026), minus the exclusions named with their reasons, so a
laterality, site or 7th-character digit is never missed by hand. ``cds-service check`` verifies the
value sets against the same expansion (cds_service/families.py); run this after editing the
families file, and it prints each value set's ICD-10-CM code count before and after:

    .venv/bin/python tools/make_icd_families.py
"""
from __future__ import annotations

import sys

from cds_service import families
from cds_service.config import REPO_ROOT


def main() -> int:
    icd = families.tabular()
    if icd is None:
        print("needs simple-icd-10-cm==1.5.0: pip install -c constraints.txt -e '.[test]'", file=sys.stderr)
        return 2
    for name, (before, after) in families.write(REPO_ROOT, icd).items():
        print(f"{name}: {before} -> {after} ICD-10-CM codes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
