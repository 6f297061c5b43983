"""What a request lacks or has wrong, in the words `request-info` sends (procedure step 3).

Pure: it reads the diagnostics the rules already produced for the file (`validate`'s codes) and
says, in Catalan, exactly what to send again and why. Nothing is asked for that arrived in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provisioner.desk.catalan import CatalanName
from provisioner.diagnostics import Finding

_FORM = "el formulari d'integració signat digitalment {by}"
_CDA = "la clau pública del certificat d'aplicació (CDA) amb què signareu les peticions"

# Why a form that arrived cannot be accepted, by rule code.
FORM_REASONS = {
    "FORM-NOT-PDF": "el fitxer que ens heu fet arribar no és un PDF",
    "FORM-UNREADABLE": "el PDF que ens heu fet arribar no es pot llegir",
    "FORM-ENCRYPTED": "el PDF que ens heu fet arribar està xifrat; cal enviar-lo sense xifrar",
    "FORM-UNSIGNED": "el formulari que ens heu fet arribar no porta cap signatura digital",
    "FORM-SIGNATURE-BROKEN": "la signatura del formulari que ens heu fet arribar no és vàlida",
    "FORM-MODIFIED": "el formulari s'ha modificat després de signar-lo",
    "FORM-DATA-APPENDED": "el formulari s'ha modificat després de signar-lo",
    "FORM-SIGNER-UNTRUSTED": (
        "la signatura del formulari no és d'un certificat d'una autoritat de certificació "
        "reconeguda"
    ),
}
# Why a CDA that arrived cannot be accepted, by rule code.
CDA_REASONS = {
    "CDA-PRIVATE-KEY": (
        "el fitxer que ens heu fet arribar conté una clau privada, que no s'ha d'enviar mai: "
        "considereu-la compromesa i genereu un certificat nou"
    ),
    "CDA-NOT-CERTIFICATE": "el fitxer que ens heu fet arribar no és un certificat llegible",
    "CDA-MULTIPLE": (
        "el fitxer que ens heu fet arribar conté diversos certificats; cal només el certificat "
        "d'aplicació, sense la cadena"
    ),
    "CDA-CA": "el certificat que ens heu fet arribar és d'una autoritat de certificació",
    "CDA-NOT-YET-VALID": "el certificat que ens heu fet arribar encara no és vigent",
    "CDA-EXPIRED": "el certificat que ens heu fet arribar ha caducat",
    "CDA-WEAK-KEY": (
        "la clau del certificat que ens heu fet arribar és massa feble (mínim RSA de 2048 bits "
        "o EC P-256)"
    ),
    "CDA-WEAK-HASH": "el certificat que ens heu fet arribar està signat amb SHA-1 o MD5",
    "CDA-KEY-USAGE": "el certificat que ens heu fet arribar no permet la signatura digital",
    "CDA-UNTRUSTED-ISSUER": (
        "el certificat que ens heu fet arribar no l'ha emès una autoritat de certificació "
        "reconeguda"
    ),
    "CDA-DUPLICATE": (
        "el certificat que ens heu fet arribar és el d'un altre proveïdor; cada proveïdor ha "
        "de tenir el seu"
    ),
}
_ABSENT = ("PATH-EMPTY", "PATH-MISSING", "PATH-NOT-FILE", "PATH-UNREADABLE", "PATH-ESCAPES")


@dataclass(frozen=True)
class Gap:
    """One thing to ask for: what (`subject`: form, cda, ips) and the line the message shows."""

    subject: str
    line: str


def _about(d: Finding, label: str) -> bool:
    return d.message.startswith(f"{label}:")


def request_gaps(
    entity: CatalanName,
    diagnostics: Sequence[Finding],
    *,
    has_ips: bool,
    form_signers: Sequence[str] = (),
    refused_ips: Sequence[str] = (),
) -> list[Gap]:
    """Every gap in a request, from the errors the rules reported for its file.

    `form_signers` names who signed a form signed by someone other than the entity;
    `refused_ips` are the IPs the rules refused.
    """
    errors = [d for d in diagnostics if d.is_error]
    codes = {d.code for d in errors}
    out: list[Gap] = []
    form = _FORM.format(by=entity.by)
    form_absent = any(
        (d.code in _ABSENT and _about(d, "form"))
        or (d.code == "SCHEMA-MISSING" and "'form'" in d.message)
        for d in errors
    )
    if form_absent:
        out.append(Gap("form", f"- {form}: encara no l'hem rebut"))
    elif "FORM-SIGNER-NOT-ENTITY" in codes:
        who = "; ".join(form_signers) or "una altra persona o entitat"
        out.append(
            Gap(
                "form",
                f"- {form}: el que ens heu fet arribar està signat per {who}, i l'ha de signar "
                "l'ens, no el proveïdor",
            )
        )
    else:
        reason = next((FORM_REASONS[c] for c in FORM_REASONS if c in codes), None)
        if reason:
            out.append(Gap("form", f"- {form}: {reason}"))
    cda_absent = any(
        (d.code in _ABSENT and _about(d, "cda"))
        or (d.code == "SCHEMA-MISSING" and "'cda'" in d.message)
        for d in errors
    )
    if cda_absent:
        out.append(Gap("cda", f"- {_CDA}, en format PEM o DER: encara no l'hem rebuda"))
    else:
        reason = next((CDA_REASONS[c] for c in CDA_REASONS if c in codes), None)
        if reason:
            line = f"- un nou certificat d'aplicació (CDA), només la clau pública: {reason}"
            out.append(Gap("cda", line))
    if not has_ips:
        out.append(Gap("ips", "- les IPs públiques (o rangs) des de les quals fareu les peticions"))
    elif refused_ips:
        out.append(
            Gap(
                "ips",
                "- unes IPs públiques (o rangs petits) des de les quals fareu les peticions: "
                f"no podem autoritzar {', '.join(refused_ips)}",
            )
        )
    return out
