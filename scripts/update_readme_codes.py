"""Regenerate the table of codes in README.md from the registry of codes (`make readme`)."""

from __future__ import annotations

from pathlib import Path

from provisioner.rules import all_codes
from provisioner.rules.reference import readme_with_codes

README = Path(__file__).resolve().parents[1] / "README.md"


def main() -> None:
    text = README.read_text(encoding="utf-8")
    updated = readme_with_codes(text, all_codes())
    if updated != text:
        README.write_text(updated, encoding="utf-8")
        print("README.md: table of codes updated")


if __name__ == "__main__":
    main()
