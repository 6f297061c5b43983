"""Catalan that reads right: articles and contractions, and every message checked for slips."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from provisioner.catalog import load_catalog
from provisioner.desk.catalan import bare_name, catalan_name, derive_article
from provisioner.desk.draft import DeskProblem, load_desk_file
from provisioner.desk.gaps import CDA_REASONS, FORM_REASONS
from provisioner.desk.messages import MessageProblem, Situation, render_for_entity, render_message
from provisioner.diagnostics import error
from provisioner.vocabulary import MESSAGE_KINDS
from tests.conftest import ROOT, edit

NOW = datetime(2030, 1, 1, tzinfo=UTC)
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "integrations").glob("*.yaml"))
SAMPLES = sorted((ROOT / "integrations").rglob("*.yaml"))
SAMPLE = "integrations/8100560009/serveis-informatics-pirineu.yaml"

_VOWEL = "AEIOUÀÈÉÍÏÒÓÚÜaeiouàèéíïòóúü"
# The slips a Catalan reader would not sign: a preposition before a vowel-initial name without
# its apostrophe or article ("de Ajuntament", "per Ajuntament", "a Ajuntament"), an uncontracted
# article ("de el", "a el", "per el"), a body named with no article ("de Consell Comarcal").
SLIPS = [
    re.compile(rf"\b[Dd]e (?:[{_VOWEL}]|[Hh][{_VOWEL}])\w*"),
    re.compile(rf"\b(?:[Pp]er|a|A) [{_VOWEL[:13]}]\w*"),
    re.compile(r"\b(?:[Dd]e|[Pp]er|a|A) (?:el|els) "),
    re.compile(
        r"\b(?:[Dd]e|[Pp]er|a|A|integració|per a) "
        r"(?:Consell|Consorci|Mancomunitat|Diputació|Comunitat|Patronat)\b"
    ),
]


def slips(text: str) -> list[str]:
    return [m.group(0) for pattern in SLIPS for m in pattern.finditer(text)]


def test_the_slip_finder_finds_the_slips_of_the_issue() -> None:
    for wrong in (
        "la integració de Ajuntament de Castelldefels",
        "signat digitalment per Ajuntament de Castelldefels",
        "a través de Altre Proveidor SL",
        "signat per el Consell Comarcal",
        "demanem a Ajuntament de Vic",
        "la integració de Consell Comarcal de l'Alta Ribagorça",
        "de el Consell",
    ):
        assert slips(wrong), wrong
    for right in (
        "la integració de l'Ajuntament de Castelldefels",
        "signat digitalment per l'Ajuntament de Castelldefels",
        "a través d'Altre Proveïdor SL",
        "signat pel Consell Comarcal de l'Alta Ribagorça",
        "a la Mancomunitat de la Plana",
    ):
        assert not slips(right), right


@pytest.mark.parametrize(
    ("name", "the", "of", "to", "by"),
    [
        (
            "Ajuntament de Vic",
            "l'Ajuntament de Vic",
            "de l'Ajuntament de Vic",
            "a l'Ajuntament de Vic",
            "per l'Ajuntament de Vic",
        ),
        (
            "Consell Comarcal de l'Alta Ribagorça",
            "el Consell Comarcal de l'Alta Ribagorça",
            "del Consell Comarcal de l'Alta Ribagorça",
            "al Consell Comarcal de l'Alta Ribagorça",
            "pel Consell Comarcal de l'Alta Ribagorça",
        ),
        (
            "Mancomunitat de la Plana",
            "la Mancomunitat de la Plana",
            "de la Mancomunitat de la Plana",
            "a la Mancomunitat de la Plana",
            "per la Mancomunitat de la Plana",
        ),
        ("Consorci de Benestar", "el Consorci de Benestar", "del", "al", "pel"),
        ("Àrea Bàsica del Ripollès", "l'Àrea Bàsica del Ripollès", "de l'", "a l'", "per l'"),
        ("Unió de Municipis", "la Unió de Municipis", "de la", "a la", "per la"),
        ("Serveis Socials de la Vall", "els Serveis Socials de la Vall", "dels", "als", "pels"),
        ("Hospitalet Social", "l'Hospitalet Social", "de l'", "a l'", "per l'"),
        ("Fundació Pública X", "la Fundació Pública X", "de la", "a la", "per la"),
    ],
)
def test_names_take_their_article(name: str, the: str, of: str, to: str, by: str) -> None:
    named = catalan_name(name)
    assert named.the == the
    assert named.of.startswith(of) and named.to.startswith(to) and named.by.startswith(by)
    assert not slips(f"{named.of}, {named.to}, {named.by}")


def test_an_override_wins_and_a_written_article_is_kept_apart() -> None:
    assert catalan_name("Ajuntament de Vic", "").the == "Ajuntament de Vic"
    assert catalan_name("Institut Municipal", "la").of == "de la Institut Municipal"
    named = catalan_name("La Mancomunitat de la Conca")
    assert (named.the, named.of) == (
        "la Mancomunitat de la Conca",
        "de la Mancomunitat de la Conca",
    )
    assert catalan_name("L'Agrupació X").by == "per l'Agrupació X"
    assert catalan_name("El Consorci X").to == "al Consorci X"
    assert catalan_name("Ajuntament de Vic").the_capitalised == "L'Ajuntament de Vic"
    assert derive_article("") == ""
    assert derive_article("Patronat X") == "el" and derive_article("Xarxa X") == "la"
    assert derive_article("Oficina X") == "l'" and derive_article("Comarca X") == "la"


def test_companies_go_bare_with_elision() -> None:
    assert bare_name("Altre Proveïdor SL").of == "d'Altre Proveïdor SL"
    assert bare_name("Gestió Oberta SL").of == "de Gestió Oberta SL"
    assert bare_name("Gestió Oberta SL").by == "per Gestió Oberta SL"
    assert bare_name("Gestió Oberta SL").the == "Gestió Oberta SL"


# ----------------------------------------------------------------------------- every message


def every_gap_situation() -> list[Situation]:
    """One situation per reason request-info can give, plus nothing received at all."""
    out = [
        Situation(
            diagnostics=(
                error(SAMPLE, 1, 1, "PATH-MISSING", "form: 'x' does not exist"),
                error(SAMPLE, 1, 1, "SCHEMA-MISSING", "required field 'cda' is missing; add it"),
            )
        ),
        Situation(
            diagnostics=(error(SAMPLE, 1, 1, "FORM-SIGNER-NOT-ENTITY", "form: signed by X"),),
            form_signers=("CN=Algú, O=Altre Proveïdor SL",),
            refused_ips=("10.0.0.1",),
        ),
    ]
    out += [Situation(diagnostics=(error(SAMPLE, 1, 1, c, "form: x"),)) for c in FORM_REASONS]
    out += [Situation(diagnostics=(error(SAMPLE, 1, 1, c, "cda: x"),)) for c in CDA_REASONS]
    return out


def rendered_for(repo: Path, rel: str) -> list[str]:
    """Every message that applies to the file at rel, in every situation that changes it."""
    try:
        desk = load_desk_file(repo / rel, repo)
    except DeskProblem:
        return []
    src = desk.source
    texts = []
    for kind in MESSAGE_KINDS:
        situations = (
            every_gap_situation()
            if kind == "request-info"
            else [
                Situation(),
                Situation(other_providers=("Altre Proveïdor SL",), form_signers=("CN=Ens",)),
                Situation(other_providers=("Altre SL", "Un Altre SA")),
            ]
        )
        for situation in situations:
            try:
                texts.append(
                    render_message(
                        kind,
                        src.integration,
                        desk.catalog,
                        folder=src.folder,
                        repo_root=repo,
                        now=NOW,
                        situation=situation,
                        file=src.rel,
                    )
                )
            except MessageProblem:
                continue
    return texts


def test_every_message_for_every_sample_reads_right(sample_repo: Path) -> None:
    seen = 0
    for sample in SAMPLES:
        rel = sample.relative_to(ROOT).as_posix()
        for text in rendered_for(sample_repo, rel):
            seen += 1
            assert not slips(text), (rel, slips(text), text)
    assert seen > 3 * len(SAMPLES)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_every_message_for_every_fixture_reads_right(sample_repo: Path, fixture: Path) -> None:
    (sample_repo / SAMPLE).write_bytes(fixture.read_bytes())
    for text in rendered_for(sample_repo, SAMPLE):
        assert not slips(text), (fixture.name, slips(text), text)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Ajuntament de Vic", "ajuntament"),
        ("Mancomunitat de la Plana", "mancomunitat"),
        ("Consorci de Benestar Social", "consorci"),
        ("Àrea Bàsica d'Exemple", "altres"),
        ("Institució Comarcal", "altres"),
    ],
)
def test_every_message_for_every_kind_of_name(sample_repo: Path, name: str, kind: str) -> None:
    """The Alta Ribagorça sample renamed, in the register and in the file."""
    edit(sample_repo, "catalog/entities.yaml", "Consell Comarcal de l'Alta Ribagorça", name)
    edit(sample_repo, "catalog/entities.yaml", "kind: consell_comarcal", f"kind: {kind}")
    edit(sample_repo, SAMPLE, "Consell Comarcal de l'Alta Ribagorça", name)
    texts = rendered_for(sample_repo, SAMPLE)
    assert len(texts) > 10
    for text in texts:
        assert not slips(text), (name, slips(text), text)
        assert name in text


def test_register_messages_read_right_for_every_row(sample_repo: Path) -> None:
    catalog, _ = load_catalog(sample_repo)
    assert catalog is not None
    texts = []
    for row in catalog.register.dependent:
        texts.append(render_for_entity("abss-redirect", catalog, ine10=row.ine10, name=row.name))
    for name in ("Ajuntament Inventat", "Agrupació de Municipis X", None):
        texts.append(
            render_for_entity(
                "not-eligible",
                catalog,
                ine10="1700000001",
                name=name,
                fp="1",
                provider_name="Altre Proveïdor SL",
            )
        )
    for text in texts:
        assert not slips(text), (slips(text), text)
    assert "l'Ajuntament Inventat (INE10 1700000001)" in texts[-3]
    assert "l'ens amb INE10 1700000001 a través del proveïdor Altre Proveïdor SL" in texts[-1]
