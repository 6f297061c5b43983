"""Make the DEMO certificates and signed forms that the shipped samples point to (`make samples`).

Creates a demo root CA and a demo intermediate CA, then for each sample integration:
- its CDA (a public application certificate for the provider) at the path its YAML names;
- its integration form at the path its YAML names, signed by a certificate that belongs to the
  ENTITY (organizationIdentifier VATES-<entity NIF>, O=<entity name>).

Only public material is written: certificates and signed PDFs. Every private key is generated in
memory and discarded when the script ends, so nobody can sign anything with this demo CA later.
Running it again replaces everything (new CA, new certificates, new forms).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from provisioner.demo import pki as demo_pki

ROOT = Path(__file__).resolve().parents[1]

TRUST_DIR = ROOT / "catalog" / "trust"
ROOT_PEM = TRUST_DIR / "demo-root-ca.pem"
INTERMEDIATE_PEM = TRUST_DIR / "demo-intermediate-ca.pem"

TRUST_README = """\
# catalog/trust: DEMO ONLY

The certificates in this folder belong to a **demonstration** certificate authority made by
`scripts/make_demo_samples.py` (`make samples`). Their subjects say DEMO. The private keys were
generated in memory and thrown away; no one holds them, and they are not in this repository.

They exist only so that the sample integrations validate. In production, replace
`trusted_roots` in `catalog/service.yaml` with the real CAs (for example the qualified CAs that
issue the entities' signature certificates and the providers' application certificates) and
delete these files.
"""


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> int:
    root_ca = demo_pki.make_root_ca()
    intermediate = demo_pki.make_intermediate_ca(root_ca)
    _write(ROOT_PEM, root_ca.pem())
    _write(INTERMEDIATE_PEM, intermediate.pem())
    _write(TRUST_DIR / "README.md", TRUST_README.encode())

    samples = sorted((ROOT / "integrations").glob("*/*.yaml"))
    for path in samples:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        entity, provider = data["entity"], data["provider"]
        folder = path.parent
        cda = demo_pki.make_cda(
            intermediate,
            f"{provider['name']} - aplicació Hèstia DEMO",
            f"{provider['name']} (DEMO)",
            nif=provider["nif"],
        )
        _write(folder / data["cda"], cda.pem())
        signer = demo_pki.make_signer(intermediate, entity["name"], entity["nif"])
        pdf = demo_pki.make_form_pdf(
            demo_pki.form_fields(
                fp=data["fp"],
                entity_name=entity["name"],
                entity_ine10=entity["ine10"],
                entity_nif=entity["nif"],
                provider_name=provider["name"],
                provider_nif=provider["nif"],
                environment=data["environment"],
                ips=[str(ip) for ip in data["ips"]],
            )
        )
        signed = demo_pki.sign_pdf(pdf, signer, [intermediate.cert, root_ca.cert])
        _write(folder / data["form"], signed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
