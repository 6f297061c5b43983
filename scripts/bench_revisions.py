"""One hostile form: a signed PDF followed by thousands of incremental updates.

pyHanko's change analysis compares revisions, so its cost grows with their number (minutes
for thousands). `validate` refuses a form over MAX_FORM_REVISIONS before analysing it
(FORM-TOO-MANY-REVISIONS). This measures one check of a form at the cap (the slowest accepted
case) and of forms far over it, in this process (no cache), best of 3.

Targets: a form at the cap <= 2 s; a refused form <= 0.5 s, whatever its number of updates.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from benchlib import report

from provisioner.demo import pki as demo_pki
from provisioner.documents.form import MAX_FORM_REVISIONS, Parties, check_form, load_pyhanko

AT_CAP_TARGET, REFUSED_TARGET = 2.0, 0.5


def updates(pdf: bytes, count: int) -> bytes:
    """count empty incremental updates (each a cross-reference section and a %%EOF)."""
    out = bytearray(pdf)
    for _ in range(count):
        start = len(out)
        out += b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 >>\nstartxref\n"
        out += b"%d\n%%%%EOF\n" % start
    return bytes(out)


def real_updates(pdf: bytes, count: int) -> bytes:
    """count real incremental updates, each adding one object (pyHanko's writer)."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    data = pdf
    for i in range(count):
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        writer.add_object(generic.TextStringObject(f"update {i}"))
        out = io.BytesIO()
        writer.write(out)  # type: ignore[no-untyped-call]
        data = out.getvalue()
    return data


def best(data: bytes, anchors: list[bytes], parties: Parties) -> tuple[float, list[str]]:
    times, codes = [], []
    for _ in range(3):
        start = time.perf_counter()
        verdict = check_form(data, anchors, parties)
        times.append(time.perf_counter() - start)
        codes = [f.code for f in verdict.findings]
    return min(times), codes


def main() -> int:
    root = demo_pki.make_root_ca("Bench revisions DEMO", key_type="ec", key_size=256)
    signer = demo_pki.make_signer(root, "Ens de proves", "P0800000A", key_type="ec", key_size=256)
    signed = demo_pki.sign_pdf(demo_pki.make_form_pdf([("Ens", "proves")]), signer)
    parties = Parties("P0800000A", "Ens de proves", "B00000000", "Proveidor")
    load_pyhanko()
    anchors = [root.der()]
    # Updates between two signatures: the second one makes pyHanko analyse every revision.
    resigned = demo_pki.sign_pdf(
        real_updates(signed, MAX_FORM_REVISIONS - 3), signer, field_name="Final"
    )
    at_cap, cap_codes = best(resigned, anchors, parties)
    print(f"at the cap ({MAX_FORM_REVISIONS} revisions): {cap_codes}")
    rows = [(f"check a form of {MAX_FORM_REVISIONS} revisions", at_cap, AT_CAP_TARGET)]
    for count in (1_000, 10_000):
        took, codes = best(updates(signed, count), anchors, parties)
        print(f"{count} updates: {codes}")
        assert codes == ["FORM-TOO-MANY-REVISIONS"], codes
        rows.append((f"refuse a form of {count:,} incremental updates", took, REFUSED_TARGET))
    return 0 if report(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
