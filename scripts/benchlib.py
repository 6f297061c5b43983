"""Shared by the benchmarks: a generated repository of valid integrations, and a timer.

Everything is DEMO material made at run time in a temporary folder; nothing is kept.
"""

from __future__ import annotations

import ipaddress
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provisioner.demo import pki as demo_pki  # noqa: E402
from provisioner.identifiers import cif_control  # noqa: E402

CLI = str(ROOT / ".venv" / "bin" / "hestia-provisioner")


def provider_nif(i: int) -> str:
    digits = f"{3000000 + i:07d}"
    return "B" + digits + cif_control("B", digits)[0]


def entity_nif(i: int) -> str:
    digits = f"{1000000 + i:07d}"
    return "P" + digits + cif_control("P", digits)[1]


def make_bench_repo(dest: Path, count: int, providers_per_entity: int = 10) -> Path:
    """count valid integrations: count/providers_per_entity entities, one CDA per provider.

    EC keys keep generation fast; one key is shared by all CDAs (certificates still differ).
    """
    shutil.copytree(ROOT / "catalog", dest / "catalog")
    shutil.copytree(ROOT / "schemas", dest / "schemas")
    ca_key = demo_pki.new_key("ec", 256)
    root = demo_pki.issue(
        demo_pki.name("Bench DEMO Root CA", "DEMO bench"),
        key=ca_key,
        ca=True,
        key_usage=("digital_signature", "key_cert_sign", "crl_sign"),
    )
    trust = dest / "catalog" / "trust"
    shutil.rmtree(trust)
    trust.mkdir()
    (trust / "demo-root-ca.pem").write_bytes(root.pem())
    service = dest / "catalog" / "service.yaml"
    text = service.read_text(encoding="utf-8")
    text = text.replace("  - trust/demo-intermediate-ca.pem\n", "")
    service.write_text(text, encoding="utf-8")
    cda_key = demo_pki.new_key("ec", 256)
    entities = max(1, count // providers_per_entity)
    register = ["eligible:"]
    n = 0
    for e in range(entities):
        ine10 = f"{7000000000 + e}"
        name = f"Ajuntament de Banc de Proves {e}"
        enif = entity_nif(e)
        register.append(f'  - {{ine10: "{ine10}", name: "{name}", nif: {enif}, kind: ajuntament}}')
        folder = dest / "integrations" / ine10
        (folder / "certs").mkdir(parents=True)
        (folder / "forms").mkdir()
        signer = demo_pki.make_signer(root, name, enif, key=cda_key)
        pdf = demo_pki.make_form_pdf([("Ens", name), ("Codi INE10", ine10)])
        (folder / "forms" / "formulari.pdf").write_bytes(demo_pki.sign_pdf(pdf, signer))
        for _ in range(providers_per_entity):
            if n >= count:
                break
            pnif = provider_nif(n)
            cda = demo_pki.make_cda(
                root, f"cda-{n}.bench.invalid", f"Proveidor {n} SL", key=cda_key
            )
            (folder / "certs" / f"p{n}.pem").write_bytes(cda.pem())
            (folder / f"p{n}.yaml").write_text(
                f'fp: "{100000 + n}"\n'
                f'entity: {{ine10: "{ine10}", name: "{name}", nif: {enif}}}\n'
                f'provider: {{name: "Proveidor {n} SL", nif: {pnif}}}\n'
                "environment: PRE\n"
                "modalities: all\n"
                f'ips: ["{ipaddress.ip_network(f"2001:db8:{n:x}::/64")}"]\n'
                f"cda: certs/p{n}.pem\n"
                "form: forms/formulari.pdf\n",
                encoding="utf-8",
            )
            n += 1
    (dest / "catalog" / "entities.yaml").write_text("\n".join(register) + "\n", encoding="utf-8")
    return dest


def run(
    args: Sequence[str], cwd: Path | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, done


def best_of(args: Sequence[str], repeat: int = 3, cwd: Path | None = None) -> tuple[float, float]:
    """(best, median) wall time in seconds of a whole process."""
    times = [run(args, cwd)[0] for _ in range(repeat)]
    return min(times), statistics.median(times)


def report(rows: Sequence[tuple[str, float, float]]) -> bool:
    """Print measured against target; True when every target is met."""
    ok = True
    print(f"{'measure':58} {'seconds':>8} {'target':>8}")
    for label, seconds, target in rows:
        met = seconds <= target
        ok &= met
        print(f"{label:58} {seconds:8.3f} {target:8.2f} {'ok' if met else 'MISSED'}")
    return ok
