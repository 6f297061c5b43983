"""Which names SharePoint Online can hold, for folders and files alike (pure).

Shared by the validation rules (so a bad name fails in review) and the catalog checks.
"""

from __future__ import annotations

import re
import unicodedata

ILLEGAL_CHARACTERS = '"*:<>?/\\|'
MAX_NAME = 128  # generous for a name; keeps the whole decoded path under SharePoint's 400
MAX_PATH = 400
_RESERVED = re.compile(
    r"^(?:(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\..*)?|desktop\.ini|forms)$", re.IGNORECASE
)


def hidden_characters(text: str) -> list[str]:
    """Control, format (bidi, zero-width) and line-separator characters, as U+XXXX."""
    return sorted(
        {f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")}
    )


def name_problem(name: str) -> str | None:
    """Why SharePoint cannot hold name as a folder or file name, or None."""
    if not name:
        return "is empty"
    bad = sorted({c for c in name if c in ILLEGAL_CHARACTERS})
    if bad:
        return "contains characters SharePoint refuses: " + " ".join(repr(c) for c in bad)
    if hidden := hidden_characters(name):
        return "contains control or bidirectional characters (" + ", ".join(hidden) + ")"
    if name != name.strip() or name.startswith(".") or name.endswith("."):
        return "starts or ends with a space or a dot"
    if name.startswith("~$") or "_vti_" in name.casefold() or _RESERVED.match(name):
        return "is a name SharePoint reserves"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long; at most {MAX_NAME}"
    return None


def path_too_long(*parts: str) -> str | None:
    length = len("/".join(parts))
    if length > MAX_PATH:
        return f"makes the path {length} characters long; SharePoint allows {MAX_PATH}"
    return None
