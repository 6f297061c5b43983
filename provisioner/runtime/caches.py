"""Local caches of document checks, as files under .provisioner/cache/ (git-ignored).

Local only: a cache committed to git could be forged by anyone with a pull request. A cache that
cannot be read is a miss; one that cannot be written is simply not used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from provisioner.documents.form import FormVerdict, verdict_from_json, verdict_to_json
from provisioner.runtime.files import write_atomically

FORMS_CACHE = Path(".provisioner") / "cache" / "forms"
ISSUERS_CACHE = Path(".provisioner") / "cache" / "cda-issuers"


class FileCache:
    """Form verdicts, one JSON file per key (provisioner.documents.form.VerdictCache)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, key: str, now: float) -> FormVerdict | None:
        try:
            raw = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        return verdict_from_json(raw, now)

    def put(self, key: str, verdict: FormVerdict) -> None:
        data = json.dumps(verdict_to_json(verdict), ensure_ascii=False).encode()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomically(self.folder / f"{key}.json", data)
        except OSError:
            return


class IssuerMarkFiles:
    """CDA signatures already verified: an empty file per mark (documents.cda.IssuerMarks)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def known(self, key: str) -> bool:
        return os.path.isfile(os.path.join(self.folder, key))

    def remember(self, key: str) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / key).touch()
        except OSError:
            return
