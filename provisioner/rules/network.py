"""Client IPs: parse, canonical form, the catalog's policy, and no range claimed twice."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Sequence

from provisioner.catalog import Catalog, IpNetwork
from provisioner.diagnostics import Code, Finding, error
from provisioner.rules import RuleContext, file_rule, set_rule
from provisioner.source import Facts, Source

_CATEGORY_TEST: dict[str, Callable[[IpNetwork], bool]] = {
    "unspecified": lambda n: n.is_unspecified,
    "loopback": lambda n: n.is_loopback,
    "link_local": lambda n: n.is_link_local,
    "multicast": lambda n: n.is_multicast,
    "reserved": lambda n: n.is_reserved,
    "private": lambda n: n.is_private,
    # Everything the internet cannot route to, such as carrier-grade NAT (100.64.0.0/10).
    "non_global": lambda n: not n.is_global,
}


def canonical(net: IpNetwork) -> str:
    """How an address or range is written: bare address for a single host."""
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


def parse_ip(text: str) -> tuple[IpNetwork | None, str | None, str | None]:
    """(network, problem, suggested fix)."""
    if "%" in text:  # an IPv6 zone names an interface of the reader: meaningless in APP
        return None, "has a zone index (%...), which APP cannot use; write the bare address", None
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return None, "is not an IP address or CIDR range", None
        return None, f"has host bits set: the range it names is {loose}", str(loose)
    if canonical(net) != text and str(net) != text:
        return net, "is not written canonically", canonical(net)
    return net, None, None


def policy_problem(net: IpNetwork, catalog: Catalog) -> str | None:
    policy = catalog.ip_policy
    limit = policy.max_prefix_v4 if net.version == 4 else policy.max_prefix_v6
    if net.prefixlen < limit:
        return (
            f"/{net.prefixlen} is broader than the policy allows (/{limit} at most); "
            "list the hosts or smaller ranges"
        )
    for allowed in catalog.allowed_networks:
        if net.version == allowed.version and net.subnet_of(allowed):  # type: ignore[arg-type]
            return None
    for category in policy.refuse:
        if _CATEGORY_TEST[category](net):
            return (
                f"is a {category.replace('_', '-')} address, refused by catalog/ip-policy.yaml: "
                "give the provider's public address as seen from the internet"
            )
    return None


@file_rule(
    Code(
        "IP-INVALID",
        "error",
        "an entry of ips is not an address or network",
        "write an IPv4/IPv6 address or address/prefix",
    ),
    Code(
        "IP-HOST-BITS",
        "error",
        "a network has host bits set",
        "write the network address the message suggests",
    ),
    Code(
        "IP-NOT-CANONICAL",
        "error",
        "an address is not written in its canonical form",
        "write it as the message shows",
    ),
    Code(
        "IP-POLICY",
        "error",
        "an address is refused by the IP policy (private, loopback, too broad...)",
        "ask the provider for its public addresses",
    ),
    Code("IP-DUPLICATE", "error", "an address is listed twice", "remove one"),
)
def ips_valid(src: Source, ctx: RuleContext) -> Iterator[Finding]:
    """Each IP parses, is canonical, obeys the IP policy, and is listed once."""
    seen: dict[IpNetwork, int] = {}
    for i, text in enumerate(src.integration.ips):
        where = src.at("ips", i)
        net, problem, fix = parse_ip(text)
        if problem:
            code = (
                "IP-INVALID"
                if fix is None
                else "IP-HOST-BITS"
                if net is None
                else "IP-NOT-CANONICAL"
            )
            hint = f"; write {fix!r}" if fix else ""
            yield error(src.rel, *where, code, f"ips: {text!r} {problem}{hint}")
        if net is None:
            continue
        if policy := policy_problem(net, ctx.catalog):
            yield error(src.rel, *where, "IP-POLICY", f"ips: {text} {policy}")
        if net in seen:
            yield error(src.rel, *where, "IP-DUPLICATE", f"ips: {text} is listed twice; remove one")
        seen[net] = i


@set_rule(
    Code(
        "IP-CLAIMED-TWICE",
        "error",
        "two providers of an entity claim the same address",
        "check which provider really uses it",
    ),
)
def ips_single_owner(files: Sequence[Facts], ctx: RuleContext) -> Iterator[Finding]:
    """No address is claimed by two different providers (APP keys the allowlist on it)."""
    claims: list[tuple[int, int, int, Facts, int, str]] = []  # version, first, last, file, index
    for src in files:
        for i, version, first, last in src.claims:
            claims.append((version, first, last, src, i, src.ips[i]))
    claims.sort(key=lambda c: (c[0], c[1], c[2], c[3].rel))
    open_claims: list[tuple[int, int, int, Facts, int, str]] = []
    for claim in claims:
        version, first, _, src, i, text = claim
        open_claims = [c for c in open_claims if c[0] == version and c[2] >= first]
        for other in open_claims:
            o_src = other[3]
            if o_src.provider_nif != src.provider_nif:
                yield error(
                    src.rel,
                    *src.at("ips", i),
                    "IP-CLAIMED-TWICE",
                    f"ips: {text} overlaps {other[5]} of provider "
                    f"{o_src.provider_name} in {o_src.rel}; "
                    "one address can belong to one provider only",
                )
        open_claims.append(claim)
