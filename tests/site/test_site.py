"""The status site from a real repository: what each page says, valid HTML, no broken link,
no external asset, and every hostile string rendered as text."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree

import html5lib
from click.testing import Result

from provisioner.diagnostics import Finding
from provisioner.documents.identity import identity_from_bytes
from provisioner.history.timeline import (
    Approval,
    Change,
    Commit,
    History,
    IntegrationRef,
    LedgerCommit,
    LedgerEvent,
    Provisioning,
    Timeline,
)
from provisioner.site import render as site_render
from provisioner.site.model import (
    MONTHS_CA,
    CertificateFacts,
    DriftSummary,
    LedgerState,
    RequestedIntegration,
    SiteInputs,
    build_site,
    no_plan,
    page_name,
    show_when,
)
from provisioner.site.render import render_site, visible
from tests.site.conftest import (
    CASTELLDEFELS,
    HOSTILE_SUBJECT,
    PIRINEU_INE10,
    SOLUCIONS_CDA,
    Story,
)

NS = "{http://www.w3.org/1999/xhtml}"


# ----------------------------------------------------------------------------- reading pages


def parse(html: str) -> ElementTree.Element:
    """The page as html5lib reads it; any parse error fails the test (strict HTML)."""
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"), namespaceHTMLElements=True)
    root: ElementTree.Element = parser.parse(html)
    assert parser.errors == [], parser.errors[:5]
    return root


def tag(el: ElementTree.Element) -> str:
    return el.tag.rpartition("}")[2] if isinstance(el.tag, str) else ""


def by_id(root: ElementTree.Element, ident: str) -> ElementTree.Element:
    found = [el for el in root.iter() if el.get("id") == ident]
    assert len(found) == 1, ident
    return found[0]


def text(el: ElementTree.Element) -> str:
    return " ".join(" ".join(el.itertext()).split())


def rows(table: ElementTree.Element) -> list[list[str]]:
    body = next(el for el in table if tag(el) == "tbody")
    return [[text(td) for td in tr if tag(td) == "td"] for tr in body if tag(tr) == "tr"]


def page(story: Story, name: str) -> ElementTree.Element:
    return parse((story.out / name).read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- the story's site


def test_overview_counts_each_environment(story: Story) -> None:
    root = page(story, "index.html")
    assert root.get("lang") == "ca"
    assert text(by_id(root, "count-pre-entities")) == "2"
    assert text(by_id(root, "count-pre-integrations")) == "3"
    assert text(by_id(root, "count-pro-entities")) == "1"
    assert text(by_id(root, "count-pro-integrations")) == "1"
    assert text(by_id(root, "count-requested")) == "3"
    assert text(by_id(root, "count-expiring")) == "3"
    pre = rows(by_id(root, "taula-pre"))
    assert [r[1] for r in pre] == [CASTELLDEFELS, PIRINEU_INE10]
    castell = pre[0]
    assert castell[0] == "Ajuntament de Castelldefels"
    assert castell[2] == "Gestió Municipal Oberta SL, Solucions Socials Digitals SA"
    assert castell[3:6] == ["2", "5", "2"]  # integrations, IPs (one added by PR #7), certs
    assert castell[6:] == ["2027-01-11 09:00 +00:00", "2027-02-01 09:00 +00:00"]
    (pro,) = rows(by_id(root, "taula-pro"))
    assert pro[2] == "Solucions Socials Digitals SA"
    assert pro[6] == "2027-02-03 12:30 +00:00"
    every = rows(by_id(root, "taula-entitats"))
    assert [r[3:] for r in every] == [["2 / 2", "1 / 2"], ["1 / 1", "0 / 1"]]


def test_entity_page_tells_one_entity_story(story: Story) -> None:
    root = page(story, f"entitat-{CASTELLDEFELS}.html")
    assert text(next(el for el in root.iter() if tag(el) == "h1")) == (
        "Ajuntament de Castelldefels (0805690004)"
    )
    body = text(root)
    # The pull request: who asked (hostile subject as text), who approved, what changed.
    assert HOSTILE_SUBJECT in body
    assert "aprovat Bernat Cap <bernat@example.invalid> Merge pull request #7" in body
    assert "accés canviat a PRE bernat-cap IP afegides: 198.51.100.41/32" in body
    assert "/actions/runs/1002" in body
    assert "provisionat a PRO bernat-cap execució de CI" in body
    integrations = rows(by_id(root, "taula-integracions"))
    assert integrations[0][0] == "Solucions Socials Digitals SA"
    assert integrations[0][5:] == [
        "des del 2027-01-11 09:00 +00:00",
        "des del 2027-02-03 12:30 +00:00",
    ]
    assert integrations[1][5:] == ["des del 2027-01-11 09:00 +00:00", "no hi és"]
    ips = {r[0]: r[2:] for r in rows(by_id(root, "taula-ip"))}
    assert ips["198.51.100.41/32"] == ["sí", "sí", "no"]
    assert ips["192.0.2.20/32"] == ["sí", "sí", "sí"]
    certs = rows(by_id(root, "taula-certificats"))
    identity = identity_from_bytes((story.dir / SOLUCIONS_CDA).read_bytes())
    assert identity is not None
    solucions = next(r for r in certs if r[0] == "Solucions Socials Digitals SA")
    assert solucions[1:4] == [f"{identity.not_after:%Y-%m-%d}", "30", "caduca aviat"]
    assert solucions[-1] == "sol·licitat, PRE, PRO"
    modalities = rows(by_id(root, "taula-modalitats"))
    assert ["HESTIA_CITES", "Consulta de cites de l'agenda (màxim 7 dies)", "sí", "sí", "sí"] in (
        modalities
    )
    documents = rows(by_id(root, "taula-documents"))
    assert {(d[0], d[2]) for d in documents} >= {
        ("PRE", "solucions-socials-digitals.pem"),
        ("PRO", "solucions-socials-digitals.pem"),
        ("PRE", "FP265702-formulari-integracio.pdf"),
    }
    assert all(re.fullmatch(r"\d+", d[3]) for d in documents)


def test_certificates_page_charts_the_next_twelve_months(story: Story) -> None:
    root = page(story, "certificats.html")
    identity = identity_from_bytes((story.dir / SOLUCIONS_CDA).read_bytes())
    assert identity is not None
    month = f"{MONTHS_CA[identity.not_after.month - 1]} {identity.not_after.year}"
    svg = next(el for el in root.iter() if tag(el) == "svg")
    bars = [text(t) for t in svg.iter("{http://www.w3.org/2000/svg}title")][1:]
    assert len(bars) == 12
    assert f"{month}: 3 certificat(s)" in bars  # the three sample CDAs expire that month
    assert sum(int(b.rsplit(": ", 1)[1].split()[0]) for b in bars) == 3
    expiring = rows(by_id(root, "taula-caduquen"))
    assert len(expiring) == 3 and all(r[4] == "caduca aviat" for r in expiring)


def test_pending_page_shows_each_environment_plan(story: Story) -> None:
    root = page(story, "pendent.html")
    (change,) = rows(by_id(root, "taula-pla-pre"))
    assert change[0] == f"Consell Comarcal de l'Alta Ribagorça {PIRINEU_INE10}"
    assert change[1] == "canvis"
    assert "IP afegides: 203.0.113.11/32 (Serveis Informàtics del Pirineu SL)" in change[2]
    assert "Cap canvi pendent" in text(by_id(root, "sense-canvis-pro"))
    assert "No s'ha comprovat" in text(root)


def _links(root: ElementTree.Element) -> Iterator[str]:
    for el in root.iter():
        for attr in ("href", "src", "action", "data", "srcset", "poster"):
            if el.get(attr) is not None:
                yield el.get(attr) or ""


def test_every_page_is_valid_and_every_link_resolves(story: Story) -> None:
    pages = {p.name: parse(p.read_text(encoding="utf-8")) for p in story.out.glob("*.html")}
    assert {"index.html", "certificats.html", "pendent.html"} <= set(pages)
    assert len([n for n in pages if n.startswith("entitat-")]) == 2
    ids = {
        name: {el.get("id") for el in root.iter() if el.get("id")} for name, root in pages.items()
    }
    checked = 0
    for name, root in pages.items():
        assert tag(next(el for el in root.iter() if tag(el) == "html")) == "html"
        for link in _links(root):
            parts = urlsplit(link)
            assert not parts.scheme and not parts.netloc, f"{name}: external {link}"
            target = unquote(parts.path) or name
            assert target in pages, f"{name}: broken link {link}"
            if parts.fragment:
                assert parts.fragment in ids[target], f"{name}: no #{parts.fragment} in {target}"
            checked += 1
        scripts = [el for el in root.iter() if tag(el) == "script"]
        assert len(scripts) == 1 and scripts[0].get("src") is None
    assert checked > 20


def test_command_writes_replaces_and_refuses(
    story: Story, tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    out = tmp_path / "site"
    res = run_cli(["site", "--repo", str(story.dir), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "5 page(s) written" in res.output
    assert (out / f"entitat-{CASTELLDEFELS}.html").is_file()
    # An earlier site's stale page is removed; other files are left alone.
    (out / "entitat-0000000000.html").write_text("old", encoding="utf-8")
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    assert run_cli(["site", "--repo", str(story.dir), "--out", str(out)]).exit_code == 0
    assert not (out / "entitat-0000000000.html").exists()
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"
    # A folder that site did not make is never overwritten.
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "index.html").write_text("someone else's", encoding="utf-8")
    res = run_cli(["site", "--repo", str(story.dir), "--out", str(foreign)])
    assert res.exit_code == 2
    assert "not empty and was not made by" in res.output
    assert (foreign / "index.html").read_text(encoding="utf-8") == "someone else's"
    res = run_cli(["site", "--repo", str(story.dir), "--out", str(out / "keep.txt")])
    assert res.exit_code == 2 and "is a file" in res.output


def test_without_git_the_command_says_why(
    sample_repo: Path, run_cli: Callable[..., Result]
) -> None:
    res = run_cli(["site", "--repo", str(sample_repo), "--out", str(sample_repo / "site")])
    assert res.exit_code == 2
    assert "not a git repository" in res.output


def test_invalid_files_leave_no_plan_but_a_site(
    story: Story, tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(story.dir, repo)
    (repo / "integrations" / PIRINEU_INE10 / "broken.yaml").write_text("fp: [", encoding="utf-8")
    out = tmp_path / "site"
    res = run_cli(["site", "--repo", str(repo), "--out", str(out)])
    assert res.exit_code == 0, res.output
    root = page_at(out / "pendent.html")
    assert "Sense pla: la validació troba 1 error(s)" in text(root)
    index = page_at(out / "index.html")
    assert text(by_id(index, "count-pre-entities")) == "2"
    assert "La validació del repositori troba 1 error(s)" in text(index)
    assert "broken.yaml: no es pot llegir" in text(index)


def page_at(path: Path) -> ElementTree.Element:
    return parse(path.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- pure parts

NOW = datetime(2027, 3, 15, 12, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script> \"dq\" 'sq' & <!-- c --> a\nb \u202egnp.exe\u2066x\u2069"


def cert(sha: str, when: datetime) -> CertificateFacts:
    return CertificateFacts(sha, f"CN={sha}", sha.upper(), when)


def requested(
    n: int, certificate: CertificateFacts | None, name: str = "Ens"
) -> RequestedIntegration:
    return RequestedIntegration(
        file=f"integrations/080000000{n}/p.yaml",
        fp=str(n),
        ine10=f"080000000{n}",
        entity_name=name,
        provider_nif=f"B0000000{n}",
        provider_name=f"Proveïdor {n}",
        environment="PRE",
        ips=("192.0.2.1",),
        modalities=("HESTIA_CITES",),
        certificate=certificate,
    )


def inputs(requests: list[RequestedIntegration], **kw: Any) -> SiteInputs:
    base: dict[str, Any] = {
        "now": NOW,
        "head": None,
        "warning_days": 60,
        "modalities": {"HESTIA_CITES": "Cites"},
        "register": {},
        "requested": requests,
        "history": History((), None),
        "ledgers": {},
        "plans": [no_plan("PRE", "x"), no_plan("PRO", "x")],
    }
    base.update(kw)
    return SiteInputs(**base)


def test_chart_counts_each_month_from_the_injected_now() -> None:
    dates = [
        NOW - timedelta(days=14),  # expired
        NOW + timedelta(days=5),  # this month, within the window
        datetime(2027, 4, 30, tzinfo=UTC),  # next month, 46 days: within the window
        datetime(2027, 9, 1, tzinfo=UTC),
        datetime(2028, 2, 28, tzinfo=UTC),  # the twelfth month
        datetime(2028, 3, 1, tzinfo=UTC),  # beyond the chart
    ]
    site = build_site(inputs([requested(i, cert(f"c{i}", d)) for i, d in enumerate(dates)]))
    chart = site.chart
    assert [b.count for b in chart.bars] == [1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    assert [(b.label, b.year) for b in chart.bars][::11] == [("març", 2027), ("febr.", 2028)]
    assert [b.in_window for b in chart.bars][:3] == [True, True, False]
    assert chart.expired == 1
    assert [r.days_left for r in site.expiring] == [-14, 5, 45]
    assert [r.state for r in site.expiring] == ["caducat", "caduca aviat", "caduca aviat"]
    # Bars scale to the busiest month; an empty month has no height.
    assert {b.height for b in chart.bars if b.count} == {chart.baseline - 24}
    assert all(b.height == 0 for b in chart.bars if not b.count)


def test_chart_without_certificates_is_flat() -> None:
    site = build_site(inputs([requested(1, None)]))
    assert {b.count for b in site.chart.bars} == {0}
    assert site.chart.maximum == 0 and site.certificates == ()


def test_page_names_are_never_paths() -> None:
    assert page_name("0805690004") == "entitat-0805690004.html"
    hostile = page_name("../../etc/passwd")
    assert re.fullmatch(r"entitat-x[0-9a-f]{16}\.html", hostile)
    assert page_name("../../etc/passwd") == hostile != page_name("../../etc/shadow")


def test_times_are_shown_plainly() -> None:
    assert show_when("2027-01-05T10:15:00+01:00") == "2027-01-05 10:15 +01:00"
    assert show_when("2027-01-05T10:15:00") == "2027-01-05 10:15"
    assert show_when("not a date") == "not a date"
    assert show_when("") == ""


def test_visible_shows_controls_and_bidi_as_code_points() -> None:
    assert visible("a\nb\u202ec\u2066") == "a[U+000A]b[U+202E]c[U+2066]"
    assert visible("Lleida & <b>") == "Lleida & <b>"
    assert visible(3) == 3


def _hostile_history() -> History:
    c = Commit(
        "a" * 40, (), HOSTILE, "x@example.invalid", "2027-01-01T10:00:00+01:00",
        HOSTILE, "", "2027-01-01T10:00:00+01:00", HOSTILE,
    )  # fmt: skip
    merge = Commit(
        "b" * 40, ("0" * 40, "a" * 40), HOSTILE, "", "2027-01-02T10:00:00+01:00",
        HOSTILE, "", "2027-01-02T10:00:00+01:00", "Merge pull request #9 " + HOSTILE,
    )  # fmt: skip
    key = f"0800000001/{HOSTILE}"
    record = {"ine10": "0800000001", "entity": HOSTILE, "provider_name": HOSTILE, "ips": [HOSTILE]}
    trailers = {"CI-Run": HOSTILE, "CI-Actor": HOSTILE, "Source-Commit": HOSTILE}
    first = LedgerCommit("c" * 40, "2027-01-03T10:00:00+00:00", trailers, {key: record})
    changed = LedgerCommit("d" * 40, HOSTILE, trailers, {key: {**record, "modalities": [HOSTILE]}})
    ref = IntegrationRef(file=HOSTILE, key=key, fp=HOSTILE, ine10="0800000001")
    tl = Timeline(
        ref,
        (Change(c, (HOSTILE,), Approval("merge", merge), HOSTILE),),
        (
            Provisioning("PRE", (LedgerEvent("added", first), LedgerEvent("changed", changed))),
            Provisioning("PRO", ()),
        ),
    )
    unreadable = Timeline(IntegrationRef(file=HOSTILE, problem=HOSTILE), (), ())
    return History(
        (tl, unreadable), HOSTILE, (Finding("warning", "LEDGER-RECORDS-UNREADABLE", HOSTILE),)
    )


def test_hostile_strings_render_as_text_on_every_page() -> None:
    """Every field a file, git or the ledger fills holds markup, quotes, a comment opener, a
    newline and bidi controls: each page still has only its own script, no handler attribute,
    no comment, and shows the string as text."""
    hostile_entity = "0800000001"
    record = {
        "ine10": hostile_entity,
        "entity": HOSTILE,
        "provider": HOSTILE,
        "provider_name": HOSTILE,
        "fp": HOSTILE,
        "folder": HOSTILE,
        "file": HOSTILE,
        "certificate": HOSTILE,
        "ips": [HOSTILE],
        "modalities": [HOSTILE],
    }
    app_config = {
        "permissions": [
            {
                "ine10": hostile_entity,
                "modalities": [HOSTILE],
                "certificates": [
                    {"sha256": HOSTILE, "subject": HOSTILE, "serial": HOSTILE,
                     "not_after": "2027-04-01T00:00:00+00:00", "provider_name": HOSTILE}
                ],
            },
            {"ine10": HOSTILE, "modalities": [], "certificates": []},
        ]
    }  # fmt: skip
    ledger = LedgerState(
        HOSTILE,
        {f"{hostile_entity}/{HOSTILE}": record, f"{HOSTILE}/x": {**record, "ine10": HOSTILE}},
        app_config,
        {"folders": {HOSTILE: {HOSTILE: {"sha256": HOSTILE, "size": 3}}}},
    )
    req = RequestedIntegration(
        HOSTILE, HOSTILE, hostile_entity, HOSTILE, HOSTILE, HOSTILE, HOSTILE,
        (HOSTILE,), (HOSTILE,), cert(HOSTILE, NOW + timedelta(days=3)),
    )  # fmt: skip
    from provisioner.site.model import PendingChange, PlanSummary

    plan = PlanSummary(
        "PRE", True, True, True,
        (PendingChange(HOSTILE, HOSTILE, HOSTILE, (HOSTILE,)),),
        {"providers_added": 1}, (HOSTILE,), (HOSTILE,),
    )  # fmt: skip
    site = build_site(
        inputs(
            [req],
            head=HOSTILE,
            modalities={HOSTILE: HOSTILE},
            register={hostile_entity: HOSTILE},
            history=_hostile_history(),
            ledgers={"PRE": ledger, "PRO": ledger},
            plans=[plan, no_plan("PRO", HOSTILE)],
            drift=[DriftSummary("PRE", HOSTILE, True, (HOSTILE,))],
        )
    )
    pages = render_site(site)
    assert len(pages) == 5  # the overview, certificates, pending, two entities
    shown = visible(HOSTILE)
    assert "\n" not in shown and "\u202e" not in shown
    script = site_render._asset("filter.js")
    for name, html in pages.items():
        root = parse(html)
        elements = list(root.iter())
        scripts = [el for el in elements if tag(el) == "script"]
        assert len(scripts) == 1 and scripts[0].text == script, name
        assert not [el for el in elements if el.tag is ElementTree.Comment], name  # type: ignore[comparison-overlap]  # comments are tagged by the Comment function
        for el in elements:
            assert not [a for a in el.attrib if a.lower().startswith("on")], name
        assert shown in "".join(root.itertext()), name
        assert "\u202e" not in html and "\u2066" not in html, name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["index.html"]


def test_pages_allow_only_their_own_style_and_script() -> None:
    html = render_site(build_site(inputs([requested(1, None)])))["index.html"]
    root = parse(html)
    csp = next(el for el in root.iter() if el.get("http-equiv") == "Content-Security-Policy")
    policy = csp.get("content") or ""
    assert policy.startswith("default-src 'none'")
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]{44}'", policy)
    assert "unsafe-inline" not in policy


# ----------------------------------------------------------------------------- drift


def test_drift_is_checked_when_a_store_is_given(
    story: Story, tmp_path: Path, run_cli: Callable[..., Result]
) -> None:
    store = tmp_path / "store"
    shutil.copytree(story.dir / ".provisioner" / "sharepoint", store)
    out = tmp_path / "site"
    res = run_cli(
        ["site", "--repo", str(story.dir), "--out", str(out), "--local-store", str(store)]
    )
    assert res.exit_code == 0, res.output
    root = page_at(out / "pendent.html")
    assert text(by_id(root, "deriva-pre")) == "El magatzem coincideix amb el registre."
    assert text(by_id(root, "deriva-pro")) == "El magatzem coincideix amb el registre."
    # Someone deletes a stored document by hand: the page says which, in which environment.
    (gone,) = list(store.rglob("FP265702-formulari-integracio.pdf"))
    gone.unlink()
    assert (
        run_cli(
            [
                "site",
                "--repo",
                str(story.dir),
                "--out",
                str(out),
                "--store",
                "local",
                "--local-store",
                str(store),
            ]
        ).exit_code
        == 0
    )
    root = page_at(out / "pendent.html")
    assert "El magatzem no coincideix amb el registre (1 diferència/es)" in text(
        by_id(root, "deriva-pre")
    )
    assert "falta el document: " in text(root) and "FP265702-formulari-integracio.pdf" in text(root)
    assert text(by_id(root, "deriva-pro")) == "El magatzem coincideix amb el registre."
    # Without a store, drift is not checked, and the page says so.
    assert run_cli(["site", "--repo", str(story.dir), "--out", str(out)]).exit_code == 0
    assert "No s'ha comprovat" in text(by_id(page_at(out / "pendent.html"), "deriva-no-comprovada"))


class _UnreachableStore:
    """A document store whose every read fails, as a store behind a broken network does."""

    target = "sharepoint https://example.invalid/sites/x"

    def folder_exists(self, folder: Any) -> bool:
        from provisioner.apply.store import StoreError

        raise StoreError("connection refused")

    def lookup_file(self, folder: Any, name: str) -> None:
        self.folder_exists(folder)


def test_an_unreadable_store_is_reported_not_fatal(story: Story) -> None:
    from provisioner.site.build import collect

    site = build_site(collect(story.dir, story.now, store=_UnreachableStore()))
    assert site.drift is not None
    assert [(d.environment, d.error) for d in site.drift] == [
        ("PRE", "connection refused"),
        ("PRO", "connection refused"),
    ]
    html = render_site(site)["pendent.html"]
    assert "No s'ha pogut comprovar: connection refused" in text(parse(html))
