"""An integration file as the rules see it: the model, where it came from, and its positions."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from provisioner.layout import INTEGRATIONS_DIR as INTEGRATIONS_DIR

if TYPE_CHECKING:  # types only: importing this module costs nothing (no YAML, no pydantic)
    from provisioner.loading.strict_yaml import Document
    from provisioner.model import Integration


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


#: An address range a file claims: (index in its ips, IP version, first, last address).
Claim = tuple[int, int, int, int]

#: Where the facts of a file place their findings: the key paths the checks across files use.
FACT_PLACES: tuple[tuple[str | int, ...], ...] = (("fp",), ("cda",), ("form",), ("provider", "nif"))


def place_key(path: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in path)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the checks across files (duplicates, overlaps) know of one loaded file.

    Small and plain: a file that did not change since the last run is checked against the
    others from its kept facts, without loading it again. A check across files that needs
    more of a file adds it here (and to Facts.of).
    """

    rel: str
    fp: str
    ine10: str
    entity_name: str
    provider_nif: str
    provider_name: str
    ips: tuple[str, ...]
    cda_sha256: str | None  # the CDA certificate's SHA-256 (DER), when it could be read
    form_sha256: str | None  # the form file's SHA-256, when it could be read
    claims: tuple[Claim, ...]  # the address ranges of ips that parse
    places: Mapping[str, tuple[int, int]]  # place_key(path) -> (line, column)

    def at(self, *path: str | int) -> tuple[int, int]:
        """Where the value at path is (FACT_PLACES, or ("ips", i))."""
        return self.places[place_key(path)]

    @classmethod
    def of(
        cls,
        src: Source,
        cda_sha256: str | None,
        form_sha256: str | None,
        claims: tuple[Claim, ...],
    ) -> Facts:
        it = src.integration
        paths = [*FACT_PLACES, *(("ips", i) for i in range(len(it.ips)))]
        return cls(
            rel=src.rel,
            fp=it.fp,
            ine10=it.entity.ine10,
            entity_name=it.entity.name,
            provider_nif=it.provider.nif,
            provider_name=it.provider.name,
            ips=tuple(it.ips),
            cda_sha256=cda_sha256,
            form_sha256=form_sha256,
            claims=claims,
            places={place_key(p): src.at(*p) for p in paths},
        )
