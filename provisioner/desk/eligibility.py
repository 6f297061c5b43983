"""The procedure's first action: may this entity integrate? (procedure step 1).

Pure: a query (INE10, NIF or words of the name) against the register, and the verdict for each
entity it names: eligible, depends on an ABSS (reply with `abss-redirect`), or not on the list
(escalate with `not-eligible`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from provisioner.catalog import Catalog, search_register
from provisioner.model import DependentEntity, RegisteredEntity

Status = Literal["eligible", "depends-on-abss", "not-listed"]
MESSAGE_FOR: dict[Status, str | None] = {
    "eligible": None,
    "depends-on-abss": "abss-redirect",
    "not-listed": "not-eligible",
}


@dataclass(frozen=True)
class Verdict:
    status: Status
    ine10: str | None
    name: str | None
    nif: str | None = None
    abss_ine10: str | None = None
    abss_name: str | None = None

    @property
    def message(self) -> str | None:
        """The message the procedure sends for this verdict (None: none, go on)."""
        return MESSAGE_FOR[self.status]

    def describe(self) -> str:
        ids = ", ".join(
            p
            for p in (f"INE10 {self.ine10}" if self.ine10 else "", self.nif and f"NIF {self.nif}")
            if p
        )
        who = f"{self.name} ({ids})" if self.name else ids
        if self.status == "eligible":
            return f"{who}: eligible, it may integrate with Hèstia"
        if self.status == "depends-on-abss":
            return (
                f"{who}: depends on the ABSS {self.abss_name} (INE10 {self.abss_ine10}) and "
                f"cannot integrate directly: it must integrate through {self.abss_name}"
            )
        return (
            f"{who}: not on the list of entities that may integrate; escalate to the head "
            "of service"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "ine10": self.ine10,
            "name": self.name,
            "nif": self.nif,
            "abss": {"ine10": self.abss_ine10, "name": self.abss_name} if self.abss_ine10 else None,
            "message": self.message,
        }


def _verdict(row: RegisteredEntity | DependentEntity, catalog: Catalog) -> Verdict:
    if isinstance(row, RegisteredEntity):
        return Verdict("eligible", row.ine10, row.name, row.nif)
    abss = catalog.eligible_by_ine10.get(row.abss)
    return Verdict(
        "depends-on-abss", row.ine10, row.name, row.nif, row.abss, abss.name if abss else row.abss
    )


def query_kind(query: str) -> Literal["ine10", "nif", "name"]:
    text = query.strip()
    if re.fullmatch(r"[0-9]{9,10}", text):
        return "ine10"
    if re.fullmatch(r"[A-Za-z][0-9]{7}[A-Za-z0-9]|[0-9]{8}[A-Za-z]", text):
        return "nif"
    return "name"


def verdicts(catalog: Catalog, query: str) -> list[Verdict]:
    """One verdict per register row the query names; a single not-listed verdict when none."""
    found = search_register(catalog.register, query)
    if found:
        return [_verdict(row, catalog) for row in found]
    text = " ".join(query.split())
    kind = query_kind(text)
    if kind == "ine10":
        return [Verdict("not-listed", text.zfill(10), None)]
    if kind == "nif":
        return [Verdict("not-listed", None, None, text.upper())]
    return [Verdict("not-listed", None, text)]
