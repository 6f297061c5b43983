"""What the edges lend the pure document checks: caches and a way to check many forms.

The checks in this package take bytes and return findings. Remembering verdicts across runs
(files under .provisioner/cache/), checking many forms in a process pool, and the environment
variables that tune both are edges (provisioner.runtime builds them for the command line); the
checks receive them here. The defaults cache nothing and check one form after another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provisioner.catalog import CatalogMemory
    from provisioner.documents.cda import CdaVerdicts, IssuerMarks
    from provisioner.documents.form import FormChecker, VerdictCache
    from provisioner.rules.kept import ResultMemory


@dataclass(frozen=True)
class DocumentEdges:
    form_verdicts: VerdictCache | None = None  # verdicts of signed forms, across runs
    issuer_marks: IssuerMarks | None = None  # CDA signatures already verified, across runs
    cda_verdicts: CdaVerdicts | None = None  # what CDA files say, the clock aside, across runs
    check_forms: FormChecker | None = None  # checks the forms that missed the cache (a pool)
    results: ResultMemory | None = None  # each file's validation result, across runs
    catalog: CatalogMemory | None = None  # the last catalog read, across runs

    def save(self) -> None:
        """Write what the caches held back during a run (its end: one write each)."""
        if self.cda_verdicts is not None:
            self.cda_verdicts.save()
        if self.issuer_marks is not None:
            self.issuer_marks.save()
