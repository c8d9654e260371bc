"""Regenerate the README's configuration table from the settings declaration (cds_service/config.py).

    python -m tools.readme_settings          # rewrite README.md between the settings markers
    python -m tools.readme_settings --check  # exit 1 when README.md is out of date
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from cds_service.config import REPO_ROOT, markdown_table

README = REPO_ROOT / "README.md"
_BLOCK = re.compile(r"(<!-- settings:begin[^\n]*-->\n)(.*?)(<!-- settings:end -->)", re.S)


def current(text: str) -> str:
    match = _BLOCK.search(text)
    if match is None:
        raise SystemExit("README.md has no settings markers")
    return match.group(2)


def render(text: str) -> str:
    return _BLOCK.sub(lambda m: m.group(1) + markdown_table() + m.group(3), text)


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    if "--check" in argv:
        return 0 if current(text) == markdown_table() else 1
    Path(README).write_text(render(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
