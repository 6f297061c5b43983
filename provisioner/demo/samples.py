"""DEMO ONLY: the demo CAs, CDAs and signed forms that the shipped samples point to.

`make samples` writes them into this repository (valid from the day it runs, for five years);
tests write them into a temporary copy at a chosen moment, so that what the samples prove does
not depend on the day the suite runs. Only public material is written; every private key is
discarded when the function returns.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import yaml

from provisioner.demo import pki

TRUST_DIR = Path("catalog") / "trust"
ROOT_PEM = TRUST_DIR / "demo-root-ca.pem"
INTERMEDIATE_PEM = TRUST_DIR / "demo-intermediate-ca.pem"


def make_samples(repo_root: Path, now: datetime) -> list[Path]:
    """Write the demo trust anchors and each sample's CDA and signed form, current at now.

    Returns the files written. The samples are the YAML files under integrations/.
    """
    start, end = now - timedelta(days=1), now + pki.DEMO_VALIDITY
    root_ca = pki.make_root_ca(not_before=start, not_after=end)
    intermediate = pki.make_intermediate_ca(root_ca, not_before=start, not_after=end)
    written = [
        _write(repo_root / ROOT_PEM, root_ca.pem()),
        _write(repo_root / INTERMEDIATE_PEM, intermediate.pem()),
    ]
    for path in sorted((repo_root / "integrations").glob("*/*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        entity, provider = data["entity"], data["provider"]
        cda = pki.make_cda(
            intermediate,
            f"{provider['name']} - aplicació Hèstia DEMO",
            f"{provider['name']} (DEMO)",
            nif=provider["nif"],
            not_before=start,
            not_after=end,
        )
        written.append(_write(path.parent / data["cda"], cda.pem()))
        signer = pki.make_signer(
            intermediate, entity["name"], entity["nif"], not_before=start, not_after=end
        )
        pdf = pki.make_form_pdf(
            pki.form_fields(
                fp=data["fp"],
                entity_name=entity["name"],
                entity_ine10=entity["ine10"],
                entity_nif=entity["nif"],
                provider_name=provider["name"],
                provider_nif=provider["nif"],
                environment=data["environment"],
                ips=[str(ip) for ip in data["ips"]],
            ),
            # The machine-readable fields catalog/service.yaml form_fields names: validate
            # compares them with the YAML file.
            form_values=pki.form_values(
                provider_nif=provider["nif"],
                ips=[str(ip) for ip in data["ips"]],
                cda=cda.cert,
            ),
        )
        signed = pki.sign_pdf(pdf, signer, [intermediate.cert, root_ca.cert])
        written.append(_write(path.parent / data["form"], signed))
    return written


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
