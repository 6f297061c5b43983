"""Shared by the benchmarks: a generated repository of valid integrations, and a timer.

Everything is DEMO material made at run time in a temporary folder; nothing is kept. The scripts
import it as a sibling module: Python puts a script's own folder first on its import path.

Each generated integration has its own entity (in the register), its own provider, its own CDA
and its own form, signed by its entity: the bench sees what a real repository holds. Signing
with pyHanko costs ~50-150 ms a form, which makes 10,000 forms a quarter of an hour, so the
benchmarks sign with `fast_sign` below: the same signature (CMS SignedData, SHA-256, detached,
adbe.pkcs7.detached) made by cryptography's CMS builder in a fraction of a millisecond, appended
as one incremental update. pyHanko verifies these forms as it verifies the demo's.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from provisioner.demo import pki as demo_pki
from provisioner.identifiers import cif_control

ROOT = Path(__file__).resolve().parents[1]

CLI = str(ROOT / ".venv" / "bin" / "hestia-provisioner")
#: Room for the CMS signature (bytes; written as hex): an EC signature with its certificate
#: takes about 1 KB.
SIGNATURE_ROOM = 2048


def provider_nif(i: int) -> str:
    digits = f"{3000000 + i:07d}"
    return "B" + digits + cif_control("B", digits)[0]


def entity_nif(i: int) -> str:
    digits = f"{1000000 + i:07d}"
    return "P" + digits + cif_control("P", digits)[1]


def fast_sign(pdf: bytes, signer: demo_pki.Issued, field_name: str = "SignaturaEns") -> bytes:
    """pdf (as demo_pki.make_form_pdf makes it) signed by signer, in one incremental update.

    The update adds the signature field to the catalog's AcroForm and the page's annotations
    (objects 1 and 3 of make_form_pdf), the field (8) and the signature dictionary (7), whose
    /Contents holds the CMS signature over every byte but itself.
    """
    found = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf)
    if found is None:
        raise ValueError("not a PDF made by make_form_pdf")
    previous_xref = int(found.group(1))
    bodies = {
        1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [8 0 R] /SigFlags 3 >> >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R /Annots [8 0 R] >>",
        8: b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (%s) /V 7 0 R /F 132 "
        b"/Rect [0 0 0 0] /P 3 0 R >>" % field_name.encode("ascii"),
    }
    placeholder = b"/ByteRange [0 0000000000 0000000000 0000000000]"
    out = bytearray(pdf)
    offsets: dict[int, int] = {}
    for number, body in bodies.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    offsets[7] = len(out)
    out += (
        b"7 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached "
        + placeholder
        + b" /Contents <"
    )
    contents_start = len(out) - 1  # the '<' is the first byte the signature does not cover
    out += b"0" * (2 * SIGNATURE_ROOM)
    contents_end = len(out) + 1  # just after the '>'
    out += b"> /M (D:20250101000000Z) >>\nendobj\n"
    xref = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n"
    out += b"1 1\n%010d 00000 n \n3 1\n%010d 00000 n \n" % (offsets[1], offsets[3])
    out += b"7 2\n%010d 00000 n \n%010d 00000 n \n" % (offsets[7], offsets[8])
    out += b"trailer\n<< /Size 9 /Root 1 0 R /Info 6 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        previous_xref,
        xref,
    )
    ranges = b"/ByteRange [0 %010d %010d %010d]" % (
        contents_start,
        contents_end,
        len(out) - contents_end,
    )
    at = out.index(placeholder, offsets[7])
    out[at : at + len(placeholder)] = ranges
    covered = bytes(out[:contents_start]) + bytes(out[contents_end:])
    cms = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(covered)
        .add_signer(signer.cert, signer.key, hashes.SHA256())
        .sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )
    )
    hexed = cms.hex().encode("ascii")
    if len(hexed) > 2 * SIGNATURE_ROOM:
        raise ValueError("the signature does not fit in its room")
    out[contents_start + 1 : contents_start + 1 + len(hexed)] = hexed
    return bytes(out)


def integration_yaml(n: int, ine10: str, name: str, enif: str, ip: str) -> str:
    return (
        f'fp: "{100000 + n}"\n'
        f'entity: {{ine10: "{ine10}", name: "{name}", nif: {enif}}}\n'
        f'provider: {{name: "Proveidor {n} SL", nif: {provider_nif(n)}}}\n'
        "environment: PRE\n"
        "modalities: all\n"
        f'ips: ["{ip}"]\n'
        f"cda: certs/p{n}.pem\n"
        f"form: forms/FP{100000 + n}.pdf\n"
    )


def make_bench_repo(dest: Path, count: int) -> Path:
    """count valid integrations, each with its own entity, provider, CDA and signed form.

    Integration n is integrations/<INE10 of entity n>/p<n>.yaml. EC keys keep generation fast;
    one key is shared by every certificate (the certificates, and so the CDAs, still differ).
    """
    shutil.copytree(ROOT / "catalog", dest / "catalog")
    shutil.copytree(ROOT / "schemas", dest / "schemas")
    key = demo_pki.new_key("ec", 256)
    root = demo_pki.issue(
        demo_pki.name("Bench DEMO Root CA", "DEMO bench"),
        key=key,
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
    # fast_sign knows make_form_pdf's objects without form fields: the bench's forms carry
    # none, so the catalog names none (the field comparison is measured by bench_revisions).
    start = text.index("form_fields:\n")
    end = text.index("\n", text.index("cda_serial:", start)) + 1
    service.write_text(text[:start] + text[end:], encoding="utf-8")
    register = ["eligible:"]
    for n in range(count):
        ine10, name, enif = f"{7000000000 + n}", f"Ajuntament de Banc de Proves {n}", entity_nif(n)
        register.append(f'  - {{ine10: "{ine10}", name: "{name}", nif: {enif}, kind: ajuntament}}')
        folder = dest / "integrations" / ine10
        (folder / "certs").mkdir(parents=True)
        (folder / "forms").mkdir()
        ip = str(ipaddress.ip_network(f"2001:db8:{n:x}::/64"))
        pname, fp = f"Proveidor {n} SL", str(100000 + n)
        cda = demo_pki.make_cda(root, f"cda-{n}.bench.invalid", pname, key=key)
        (folder / "certs" / f"p{n}.pem").write_bytes(cda.pem())
        signer = demo_pki.make_signer(root, name, enif, key=key)
        fields = demo_pki.form_fields(
            fp=fp,
            entity_name=name,
            entity_ine10=ine10,
            entity_nif=enif,
            provider_name=pname,
            provider_nif=provider_nif(n),
            environment="PRE",
            ips=[ip],
        )
        form = fast_sign(demo_pki.make_form_pdf(fields), signer)
        (folder / "forms" / f"FP{fp}.pdf").write_bytes(form)
        (folder / f"p{n}.yaml").write_text(
            integration_yaml(n, ine10, name, enif, ip), encoding="utf-8"
        )
    (dest / "catalog" / "entities.yaml").write_text("\n".join(register) + "\n", encoding="utf-8")
    return dest


@dataclass(frozen=True)
class Run:
    seconds: float  # wall time
    cpu: float  # user + system time of the process and its waited children
    max_rss_mb: float  # peak resident memory of the process (or its largest waited child)
    returncode: int
    stdout: str
    stderr: str


_compiled = False


def byte_compile() -> None:
    """Compile the package's modules once, as installing it does (pip writes the .pyc files).

    Where PYTHONDONTWRITEBYTECODE is set (some CI images and sandboxes), the editable install
    the benches run would otherwise compile every module again in every process, a cost no
    installed copy of the tool pays. Stale .pyc files are recompiled, so this is always safe.
    """
    global _compiled
    if not _compiled:
        import compileall

        compileall.compile_dir(ROOT / "provisioner", quiet=1)
        _compiled = True


def measure(args: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
    """Run a whole process; wall time, CPU time and peak memory from the kernel (wait4)."""
    byte_compile()
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(args),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    # communicate() would reap the child itself; read the pipes, then wait4 for its rusage.
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        seconds,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss / 1024,  # kilobytes on Linux
        proc.returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
    )


def run(
    args: Sequence[str], cwd: Path | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    done = measure(args, cwd)
    return done.seconds, subprocess.CompletedProcess(
        list(args), done.returncode, done.stdout, done.stderr
    )


def best_of(args: Sequence[str], repeat: int = 3, cwd: Path | None = None) -> tuple[float, float]:
    """(best, median) wall time in seconds of a whole process."""
    times = [run(args, cwd)[0] for _ in range(repeat)]
    return min(times), statistics.median(times)


def load_note() -> str:
    """The machine's load, printed with the figures: other work on the cores slows them."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return ""
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def report(rows: Sequence[tuple[str, float, float]], unit: str = "seconds") -> bool:
    """Print measured against target; True when every target is met."""
    ok = True
    print(f"{'measure':58} {unit:>8} {'target':>8}")
    for label, value, target in rows:
        met = value <= target
        ok &= met
        print(f"{label:58} {value:8.3f} {target:8.2f} {'ok' if met else 'MISSED'}")
    return ok


def git(repo: Path, *args: str, who: str = "author") -> None:
    """A git command in repo as a named bench person (authors and approvers of the history)."""
    subprocess.run(
        ["git", "-c", f"user.name=bench {who}", "-c", f"user.email={who}@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def stage_integration(generated: Path, repo: Path) -> None:
    """Copy one generated integration file, its CDA and its form into repo's integrations/."""
    folder = repo / "integrations" / generated.parent.name
    (folder / "certs").mkdir(parents=True, exist_ok=True)
    (folder / "forms").mkdir(exist_ok=True)
    shutil.copy(generated, folder / generated.name)
    shutil.copy(generated.parent / "certs" / f"{generated.stem}.pem", folder / "certs")
    for form in (generated.parent / "forms").iterdir():
        shutil.copy(form, folder / "forms")


def apply_pre(repo: Path, first: bool) -> None:
    """apply --env PRE (--init the first time); stop the bench when it does not apply cleanly."""
    args = [CLI, "apply", "--env", "PRE", "--repo", str(repo), *(["--init"] if first else [])]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:])
        raise SystemExit("the bench repository does not apply cleanly")


def start_history_repo(tmp: Path, count: int) -> tuple[Path, list[Path]]:
    """A git repository with the bench catalog committed and no integrations yet, and the
    generated integration files (staged outside it, in order) for a bench to bring in."""
    repo = make_bench_repo(tmp / "repo", count)
    (repo / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
    staged = tmp / "staged"
    shutil.move(repo / "integrations", staged)
    (repo / "integrations").mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "catalog")
    return repo, sorted(staged.rglob("p*.yaml"), key=lambda p: int(p.stem[1:]))
