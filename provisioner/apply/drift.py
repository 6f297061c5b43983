"""Drift: what the ledger says was stored, compared with what the store holds now.

Someone may delete or replace a document by hand in SharePoint; the ledger's manifest keeps the
length and SHA-256 of every stored file. A file is compared by length first and downloaded to
hash only when the lengths agree (SharePoint keeps no content hash).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from provisioner.apply.store import DocumentStore
from provisioner.formats import Formats

DriftKind = Literal["missing-folder", "missing-file", "different-file"]
_LABELS = {
    "missing-folder": "missing folder",
    "missing-file": "missing file",
    "different-file": "different content",
}


@dataclass(frozen=True)
class DriftItem:
    kind: DriftKind
    path: str  # folder, or folder/file, from the library
    detail: str


@dataclass
class DriftReport:
    environment: str
    target: str
    folders: int = 0
    files: int = 0
    items: list[DriftItem] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.items

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "store": self.target,
            "folders_checked": self.folders,
            "files_checked": self.files,
            "drift": [{"kind": i.kind, "path": i.path, "detail": i.detail} for i in self.items],
        }


def _entry(value: Any) -> tuple[int, str]:
    if isinstance(value, Mapping):
        size, sha = value.get("size"), value.get("sha256")
        if isinstance(size, int) and isinstance(sha, str):
            return size, sha
    return -1, ""


def find_drift(environment: str, manifest: Mapping[str, Any], store: DocumentStore) -> DriftReport:
    """Every folder and file of the manifest looked up in store (StoreError on failure)."""
    report = DriftReport(environment, store.target)
    folders = manifest.get("folders", {})
    for key in sorted(folders):
        files = folders[key] if isinstance(folders[key], Mapping) else {}
        folder = tuple(key.split("/"))
        report.folders += 1
        report.files += len(files)
        if not store.folder_exists(folder):
            report.items.append(
                DriftItem("missing-folder", key, f"the folder and its {len(files)} file(s)")
            )
            continue
        for name in sorted(files):
            size, sha = _entry(files[name])
            path = f"{key}/{name}"
            found = store.lookup_file(folder, name)
            if found is None:
                report.items.append(DriftItem("missing-file", path, "not in the store"))
            elif found.length != size:
                report.items.append(
                    DriftItem(
                        "different-file",
                        path,
                        f"{found.length} bytes stored, {size} bytes recorded in the ledger",
                    )
                )
            elif found.sha256() != sha:
                report.items.append(
                    DriftItem(
                        "different-file",
                        path,
                        f"same length, SHA-256 {found.sha256()[:12]}... stored, "
                        f"{sha[:12]}... recorded",
                    )
                )
    return report


def _summary(report: DriftReport) -> str:
    state = "no drift" if report.clean else f"{len(report.items)} difference(s)"
    return (
        f"{report.environment}: {state} between the ledger and the store {report.target} "
        f"({report.folders} folder(s), {report.files} file(s) checked)"
    )


_HINT = (
    "`apply --repair` puts back what is missing; a file with different content is never "
    "replaced: compare it with the one in the repository and fix it by hand"
)


def drift_text(report: DriftReport) -> str:
    lines = [f"{_LABELS[i.kind]}: {i.path} ({i.detail})" for i in report.items]
    lines.append(_summary(report))
    if not report.clean:
        lines.append(_HINT.replace("`", ""))
    return "\n".join(lines)


def _md(text: str) -> str:
    """Escape text for a markdown table cell: names come from files, which are hostile."""
    out = "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>&~" else c for c in text)
    return out.replace("\n", " ")


def drift_markdown(report: DriftReport) -> str:
    out = [f"**{_md(_summary(report))}**", ""]
    if report.items:
        out += ["| problem | path | detail |", "|---|---|---|"]
        out += [f"| {_LABELS[i.kind]} | {_md(i.path)} | {_md(i.detail)} |" for i in report.items]
        out += ["", _HINT]
    return "\n".join(out)


def drift_json(report: DriftReport) -> str:
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False)


FORMATS: Formats[Callable[[DriftReport], str]] = Formats("drift")
# Registered in the order `--format` has always listed them.
FORMATS.register("text")(drift_text)
FORMATS.register("json")(drift_json)
FORMATS.register("markdown")(drift_markdown)
