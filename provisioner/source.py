"""An integration file as the rules see it: the model, where it came from, and its positions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: importing this module costs nothing (no YAML, no pydantic)
    from provisioner.loading.strict_yaml import Document
    from provisioner.model import Integration

INTEGRATIONS_DIR = "integrations"


@dataclass(frozen=True)
class Source:
    rel: str  # path relative to the repository root, '/'-separated
    path: Path  # absolute path of the YAML file
    repo_root: Path
    integration: Integration
    doc: Document

    @property
    def folder(self) -> Path:
        return self.path.parent

    def at(self, *path: str | int) -> tuple[int, int]:
        return self.doc.position(path)

    def resolve(self, relative: str) -> Path:
        """Where a path written in the file points (not checked; see the path rules)."""
        return Path(os.path.normpath(self.folder / relative))


def folder_name(pattern: str, integration: Integration, entity_name: str | None = None) -> str:
    """The SharePoint folder's name; entity_name: the register's name, when known (the truth:
    the file's own spelling of the name could be a look-alike)."""
    return pattern.format(
        fp=integration.fp,
        entity_name=entity_name or integration.entity.name,
        ine10=integration.entity.ine10,
    )
