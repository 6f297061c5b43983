"""Make the DEMO certificates and signed forms that the shipped samples point to (`make samples`).

Creates a demo root CA and a demo intermediate CA, then for each sample integration:
- its CDA (a public application certificate for the provider) at the path its YAML names;
- its integration form at the path its YAML names, signed by a certificate that belongs to the
  ENTITY (organizationIdentifier VATES-<entity NIF>, O=<entity name>), with form fields holding
  the provider NIF, the IPs and the CDA's SHA-256 and serial (compared by validate).

Only public material is written: certificates and signed PDFs. Every private key is generated in
memory and discarded when the script ends, so nobody can sign anything with this demo CA later.
Running it again replaces everything (new CA, new certificates, new forms).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from provisioner.demo.samples import TRUST_DIR, make_samples

ROOT = Path(__file__).resolve().parents[1]


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


def main() -> int:
    for path in make_samples(ROOT, datetime.now(UTC)):
        print(f"wrote {path.relative_to(ROOT)}")
    readme = ROOT / TRUST_DIR / "README.md"
    readme.write_text(TRUST_README, encoding="utf-8")
    print(f"wrote {readme.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
