"""The facts of a loaded file that the checks across files compare (provisioner.source.Facts).

Taken once its file rules and batched rules ran (they read its CDA and form); kept between runs
with its result, so a file that did not change is not loaded again for the checks across files.
"""

from __future__ import annotations

from provisioner.rules import RuleContext
from provisioner.rules.documents import READ_MEMO, cda_fingerprint
from provisioner.rules.network import parse_ip
from provisioner.source import Claim, Facts, Source


def claims(ips: tuple[str, ...] | list[str]) -> tuple[Claim, ...]:
    """The address ranges a file claims: (index in ips, IP version, first, last address)."""
    out: list[Claim] = []
    for i, text in enumerate(ips):
        net, _, _ = parse_ip(text)
        if net is not None:
            out.append((i, net.version, int(net.network_address), int(net.broadcast_address)))
    return tuple(out)


def facts_of(src: Source, ctx: RuleContext) -> Facts:
    """What the checks across files know of src, once its file rules and batched rules ran."""
    read = ctx.memo.get(READ_MEMO, {}).get(src.rel)
    form = read.form if read is not None else None
    return Facts.of(
        src,
        cda_fingerprint(src, ctx),
        form.sha256 if form is not None else None,
        claims(src.integration.ips),
    )
