"""`validate` on 1,000 integrations, each with its own real signed form: cold and warm cache.

Cold: the form-verdict cache (.provisioner/cache/forms) is deleted before each run, so every
form is verified with pyHanko (in a process pool). Warm: the cache holds every verdict, so
pyHanko is not even imported. Whole processes, as a user runs them.

Targets (2 cores): cold <= 15 s, warm <= 1.5 s.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))

from benchlib import CLI, ROOT, entity_nif, provider_nif, report, run

from provisioner.demo import pki as demo_pki

COUNT = 1_000
PROVIDERS_PER_ENTITY = 10
COLD_TARGET, WARM_TARGET = 15.0, 1.5


def make_repo(dest: Path, count: int) -> Path:
    """count valid integrations, each with a distinct form signed by its entity."""
    shutil.copytree(ROOT / "catalog", dest / "catalog")
    shutil.copytree(ROOT / "schemas", dest / "schemas")
    root = demo_pki.make_root_ca("Bench forms DEMO Root CA", key_type="ec", key_size=256)
    trust = dest / "catalog" / "trust"
    shutil.rmtree(trust)
    trust.mkdir()
    (trust / "demo-root-ca.pem").write_bytes(root.pem())
    service = dest / "catalog" / "service.yaml"
    text = service.read_text(encoding="utf-8").replace("  - trust/demo-intermediate-ca.pem\n", "")
    service.write_text(text, encoding="utf-8")
    key = demo_pki.new_key("ec", 256)  # shared by every certificate: generation stays fast
    register = ["eligible:"]
    n = 0
    for e in range(max(1, count // PROVIDERS_PER_ENTITY)):
        ine10, name, enif = f"{7000000000 + e}", f"Ajuntament de Banc de Proves {e}", entity_nif(e)
        register.append(f'  - {{ine10: "{ine10}", name: "{name}", nif: {enif}, kind: ajuntament}}')
        folder = dest / "integrations" / ine10
        (folder / "certs").mkdir(parents=True)
        (folder / "forms").mkdir()
        signer = demo_pki.make_signer(root, name, enif, key=key)
        for _ in range(PROVIDERS_PER_ENTITY):
            if n >= count:
                break
            pnif, pname, fp = provider_nif(n), f"Proveidor {n} SL", str(100000 + n)
            ip = str(ipaddress.ip_network(f"2001:db8:{n:x}::/64"))
            cda = demo_pki.make_cda(root, f"cda-{n}.bench.invalid", pname, key=key)
            (folder / "certs" / f"p{n}.pem").write_bytes(cda.pem())
            fields = demo_pki.form_fields(
                fp=fp,
                entity_name=name,
                entity_ine10=ine10,
                entity_nif=enif,
                provider_name=pname,
                provider_nif=pnif,
                environment="PRE",
                ips=[ip],
            )
            signed = demo_pki.sign_pdf(demo_pki.make_form_pdf(fields), signer)
            (folder / "forms" / f"FP{fp}.pdf").write_bytes(signed)
            (folder / f"p{n}.yaml").write_text(
                f'fp: "{fp}"\n'
                f'entity: {{ine10: "{ine10}", name: "{name}", nif: {enif}}}\n'
                f'provider: {{name: "{pname}", nif: {pnif}}}\n'
                "environment: PRE\n"
                "modalities: all\n"
                f'ips: ["{ip}"]\n'
                f"cda: certs/p{n}.pem\n"
                f"form: forms/FP{fp}.pdf\n",
                encoding="utf-8",
            )
            n += 1
    (dest / "catalog" / "entities.yaml").write_text("\n".join(register) + "\n", encoding="utf-8")
    return dest


def main() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        started = time.perf_counter()
        make_repo(repo, COUNT)
        made = time.perf_counter() - started
        print(f"{COUNT} integrations with signed forms generated in {made:.1f} s")
        command = [CLI, "validate", "--repo", str(repo)]
        cache = repo / ".provisioner" / "cache"
        cold, warm = [], []
        for _ in range(2):
            shutil.rmtree(cache, ignore_errors=True)
            seconds, done = run(command)
            if done.returncode != 0:
                print(done.stdout[-3000:], done.stderr[-3000:])
                return 1
            cold.append(seconds)
        for _ in range(3):
            seconds, done = run(command)
            if done.returncode != 0:
                print(done.stdout[-3000:], done.stderr[-3000:])
                return 1
            warm.append(seconds)
        print(f"cores available: {cores}; cold runs {cold}, warm runs {warm}")
    rows = [
        (f"validate {COUNT:,} signed forms, cold cache (worst of 2)", max(cold), COLD_TARGET),
        (
            f"validate {COUNT:,} signed forms, warm cache (median of 3)",
            statistics.median(warm),
            WARM_TARGET,
        ),
    ]
    return 0 if report(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
