"""The support desk's commands: `message KIND FILE` and `sample-request FILE`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from provisioner.catalog import load_catalog
from provisioner.cli import cli
from provisioner.desk.messages import (
    FIELDS,
    MessageProblem,
    Situation,
    render_message,
)
from provisioner.diagnostics import error
from provisioner.documents.evidence import Expectations, check_request, request_facts
from provisioner.documents.identity import identity_from_bytes
from provisioner.documents.scsp import HESTIA_NS, SCSP_NS, SOAP_NS, SPECIFIC_DATA
from provisioner.errors import FatalError
from provisioner.model import Integration
from provisioner.rules.run import validate
from provisioner.vocabulary import MESSAGE_KINDS
from tests.conftest import NOW

PRO = "integrations/0805690004/solucions-socials-digitals.yaml"
PRE = "integrations/8100560009/serveis-informatics-pirineu.yaml"
AOC = "9821920002"
ALL_MODALITIES = (
    "HESTIA_CONSULTA_CIUTADA",
    "HESTIA_EXPEDIENT",
    "HESTIA_RECURSOS",
    "HESTIA_TRAMITS",
    "HESTIA_CITES",
    "HESTIA_RESOLUCIORECURS",
)

Run = Callable[..., Result]


def split_run(args: list[str]) -> Result:
    """Like run_cli, with stderr apart from stdout (the message itself must stay clean)."""
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:  # click >= 8.2 always keeps them apart
        runner = CliRunner()
    return runner.invoke(cli, args, catch_exceptions=False)


def write_integration(repo: Path, rel: str, text: str) -> Path:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def dependent_request(repo: Path) -> Path:
    """A request from an entity that depends on the Alta Ribagorça ABSS (neutral data)."""
    return write_integration(
        repo,
        "integrations/2506130005/proveidor-de-proves.yaml",
        'fp: "270001"\n'
        'entity: {ine10: "2506130005", name: "Ajuntament del Pont de Suert", nif: P2500000A}\n'
        'provider: {name: "Proveïdor de Proves SL", nif: B00000000}\n'
        "environment: PRE\nmodalities: all\nips: [192.0.2.30]\n"
        "cda: certs/proves.pem\nform: forms/formulari.pdf\n",
    )


def incomplete_request(repo: Path) -> Path:
    """The Alta Ribagorça sample without its form and its IPs (its CDA is there)."""
    text = (repo / PRE).read_text(encoding="utf-8")
    lines = [
        line
        for line in text.splitlines()
        if not line.startswith("form:")
        and "203.0.113.10" not in line
        and "198.51.100.0/29" not in line
    ]
    text = "\n".join(lines).replace("ips:", "ips: []") + "\n"
    return write_integration(repo, "integrations/8100560009/incomplete.yaml", text)


# ----------------------------------------------------------------------------- messages


def test_request_info_lists_what_is_missing(sample_repo: Path, run_cli: Run) -> None:
    path = incomplete_request(sample_repo)
    result = run_cli(["message", "request-info", str(path)])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "FP#265594" in text and "del Consell Comarcal de l'Alta Ribagorça" in text
    assert "- el formulari d'integració signat digitalment pel Consell Comarcal" in text
    assert "encara no l'hem rebut" in text
    assert "- les IPs" in text
    assert "certificat d'aplicació (CDA) amb" not in text  # the CDA is there
    assert "Benvolguts" in text and "Salutacions" in text


def test_request_info_for_an_unreadable_cda(sample_repo: Path, run_cli: Run) -> None:
    path = incomplete_request(sample_repo)
    (sample_repo / "integrations/8100560009/certs/serveis-informatics-pirineu.pem").write_text(
        "not a certificate"
    )
    result = run_cli(["message", "request-info", str(path)])
    assert "un nou certificat d'aplicació (CDA)" in result.output
    assert "no és un certificat llegible" in result.output


def test_request_info_when_nothing_is_missing_is_refused(sample_repo: Path) -> None:
    result = split_run(["message", "request-info", str(sample_repo / PRE)])
    assert result.exit_code == 2
    assert "nothing is missing" in result.stderr and "head-of-service" in result.stderr
    assert result.stdout == ""


def test_abss_redirect_names_the_abss_from_the_register(sample_repo: Path, run_cli: Run) -> None:
    path = dependent_request(sample_repo)
    report = validate(sample_repo, now=NOW)
    (diag,) = [d for d in report.diagnostics if d.code == "ENTITY-DEPENDS-ON-ABSS"]
    rel = "integrations/2506130005/proveidor-de-proves.yaml"
    assert f"hestia-provisioner message abss-redirect {rel}" in diag.message
    result = run_cli(["message", "abss-redirect", str(path)])
    assert result.exit_code == 0, result.output
    assert "l'Ajuntament del Pont de Suert (INE10 2506130005)" in result.output
    assert "el Consell Comarcal de l'Alta Ribagorça (INE10 8100560009)" in result.output
    assert "no us podeu integrar directament" in result.output


def test_not_eligible_escalates_to_the_head_of_service(sample_repo: Path, run_cli: Run) -> None:
    path = write_integration(
        sample_repo,
        "integrations/1700000001/proveidor.yaml",
        (sample_repo / PRE)
        .read_text(encoding="utf-8")
        .replace('ine10: "8100560009"', 'ine10: "1700000001"')
        .replace("Consell Comarcal de l'Alta Ribagorça", "Ajuntament Inventat"),
    )
    report = validate(sample_repo, now=NOW)
    (diag,) = [d for d in report.diagnostics if d.code == "ENTITY-NOT-ELIGIBLE"]
    assert "hestia-provisioner message not-eligible integrations/1700000001/" in diag.message
    result = run_cli(["message", "not-eligible", str(path)])
    assert result.exit_code == 0
    assert "Ajuntament Inventat (INE10 1700000001" in result.output
    assert "Serveis Informàtics del Pirineu SL" in result.output
    assert "no surt al llistat" in result.output


def test_messages_that_do_not_apply_are_refused(sample_repo: Path, run_cli: Run) -> None:
    for kind in ("not-eligible", "abss-redirect"):
        result = run_cli(["message", kind, str(sample_repo / PRE)])
        assert result.exit_code == 2
        assert "Consell Comarcal" in result.output
    result = run_cli(["message", "not-eligible", str(dependent_request(sample_repo))])
    assert result.exit_code == 2 and "abss-redirect" in result.output
    result = run_cli(["message", "pro-ready", str(sample_repo / PRE)])
    assert result.exit_code == 2 and "PRE" in result.output


def test_head_of_service_shows_the_certificate_identity(sample_repo: Path, run_cli: Run) -> None:
    result = run_cli(["message", "head-of-service", str(sample_repo / PRE)])
    assert result.exit_code == 0, result.output
    identity = identity_from_bytes(
        (sample_repo / "integrations/8100560009/certs/serveis-informatics-pirineu.pem").read_bytes()
    )
    assert identity is not None
    text = result.output
    assert "FP#265594" in text and "Serveis Informàtics del Pirineu SL" in text
    assert identity.subject in text and identity.serial in text and identity.sha256 in text
    assert f"vàlid fins: {identity.not_after:%Y-%m-%d} (queden " in text
    # The form's signer, as its certificate names it; `validate` verified the signature.
    assert "signat digitalment per CN=" in text and "VATES-P7500001H" in text
    assert "(signatura verificada)" in text
    assert "configurarem a PRE" in text
    # The documents are in the pull request; the folder exists only once applied.
    assert "pull request d'aquesta integració (" + PRE + ")" in text
    assert "99 Integracions/FP265594 Consell Comarcal de l'Alta Ribagorça" in text
    assert "quan s'hagi aprovat i aplicat" in text
    assert "És la primera integració del Consell Comarcal" in text
    assert "hestia-provisioner" not in text and "`" not in text


def test_head_of_service_for_pro_lists_the_evidence(sample_repo: Path, run_cli: Run) -> None:
    result = run_cli(["message", "head-of-service", str(sample_repo / PRO)])
    assert result.exit_code == 0, result.output
    assert "passar a Producció" in result.output
    assert "  - evidence/HESTIA_CITES.request.xml" in result.output
    assert "que no utilitzen: HESTIA_RESOLUCIORECURS" in result.output


def test_checked_messages_need_a_valid_file(sample_repo: Path) -> None:
    (sample_repo / "integrations/0805690004/evidence/HESTIA_CITES.response.xml").write_text(
        "<Resultat><CodiResultat>-2</CodiResultat></Resultat>"
    )
    for kind in ("head-of-service", "pro-ready"):
        result = split_run(["message", kind, str(sample_repo / PRO)])
        assert result.exit_code == 1
        assert "HOMOLOGATION-RESULT" in result.stderr and "--force" in result.stderr
        assert result.stdout == ""
    forced = split_run(["message", "pro-ready", str(sample_repo / PRO), "--force"])
    assert forced.exit_code == 0 and "Producció" in forced.stdout


def test_pre_ready_states_the_pre_rule(sample_repo: Path, run_cli: Run) -> None:
    result = run_cli(["message", "pre-ready", str(sample_repo / PRE)])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "https://serveis3-pre.app.aoc.cat/siri-proxy/services/Sincron" in text
    assert (
        "DatosAutorizacion/IdentificadorSolicitante informeu l'INE10 de l'ens: 8100560009" in text
    )
    assert f"l'INE10 de l'AOC: {AOC}" in text
    assert "203.0.113.10, 198.51.100.0/29" in text
    assert "HESTIA_RESOLUCIORECURS" in text


def test_pro_ready_gives_the_pro_front_end(sample_repo: Path, run_cli: Run) -> None:
    result = run_cli(["message", "pro-ready", str(sample_repo / PRO)])
    assert result.exit_code == 0, result.output
    assert "https://serveis3.app.aoc.cat/siri-proxy/services/Sincron" in result.output
    assert "Ajuntament de Castelldefels" in result.output and "FP#265610" in result.output


def test_templates_are_edited_without_touching_code(sample_repo: Path, run_cli: Run) -> None:
    messages = sample_repo / "catalog/messages"
    (messages / "pre-ready.PRE.txt").write_text("Hola $entity_name, $$5 i ${fp}.\n")
    result = run_cli(["message", "pre-ready", str(sample_repo / PRE)])
    assert result.output == "Hola Consell Comarcal de l'Alta Ribagorça, $5 i 265594.\n"
    (messages / "pre-ready.PRE.txt").write_text("Hola $entity_name.__class__ $secret\n")
    result = run_cli(["message", "pre-ready", str(sample_repo / PRE)])
    assert result.exit_code == 2 and "$secret" in result.output
    (messages / "pre-ready.PRE.txt").write_text("Preu: 5 $ per petició\n")
    result = run_cli(["message", "pre-ready", str(sample_repo / PRE)])
    assert result.exit_code == 2 and "$$" in result.output
    (messages / "pre-ready.PRE.txt").unlink()
    (messages / "pre-ready.txt").unlink()
    result = run_cli(["message", "pre-ready", str(sample_repo / PRE)])
    assert result.exit_code == 2 and "cannot read the template" in result.output


def test_render_message_knows_every_field(sample_repo: Path) -> None:
    catalog, _ = load_catalog(sample_repo)
    assert catalog is not None
    (sample_repo / "catalog/messages/abss-redirect.txt").write_text(
        "||".join(f"{name}=${name}" for name in FIELDS)
    )
    text = dependent_request(sample_repo).read_text(encoding="utf-8")
    integration = Integration.model_validate(yaml.safe_load(text))
    situation = Situation(
        diagnostics=(error("f", 1, 1, "PATH-MISSING", "form: 'x' does not exist"),)
    )
    rendered = render_message(
        "abss-redirect",
        integration,
        catalog,
        now=datetime(2030, 1, 1, tzinfo=UTC),
        situation=situation,
    )
    values = dict(part.split("=", 1) for part in rendered.split("||"))
    assert set(values) == set(FIELDS)
    assert values["abss_ine10"] == "8100560009"
    assert values["cda_subject"] == "(no s'ha pogut llegir)"  # no folder given
    assert values["entity_ine10"] == "2506130005"
    assert values["entity_of"] == "de l'Ajuntament del Pont de Suert"
    assert values["abss_by"] == "pel Consell Comarcal de l'Alta Ribagorça"
    # Without the rules' findings nothing is known to be missing but the (present) IPs.
    with pytest.raises(MessageProblem):
        render_message("farewell", integration, catalog, now=NOW)


def test_every_kind_renders_through_render_message(sample_repo: Path) -> None:
    catalog, _ = load_catalog(sample_repo)
    assert catalog is not None
    report = validate(sample_repo, now=NOW)
    pro = next(s for s in report.sources if s.rel == PRO)
    rendered = {}
    for kind in MESSAGE_KINDS:
        try:
            rendered[kind] = render_message(
                kind, pro.integration, catalog, folder=pro.folder, repo_root=sample_repo, now=NOW
            )
        except FatalError:
            continue
    # request-info: nothing was found missing, so there is nothing to ask for.
    assert set(rendered) == set(MESSAGE_KINDS) - {"abss-redirect", "not-eligible", "request-info"}
    assert all("Ajuntament de Castelldefels" in text for text in rendered.values())


def test_unreadable_files_exit_2_without_traceback(sample_repo: Path, run_cli: Run) -> None:
    bad = write_integration(sample_repo, "integrations/x/bad.yaml", "fp: [unclosed\n")
    result = run_cli(["message", "request-info", str(bad)])
    assert result.exit_code == 2 and "error:" in result.output
    no_entity = write_integration(sample_repo, "integrations/x/none.yaml", 'fp: "1"\n')
    result = run_cli(["message", "request-info", str(no_entity)])
    assert result.exit_code == 2 and "entity" in result.output
    (sample_repo / "catalog/service.yaml").write_text("product: [\n")
    result = run_cli(["message", "request-info", str(sample_repo / PRE)])
    assert result.exit_code == 2 and "catalog" in result.output


# ----------------------------------------------------------------------------- sample requests


def want_for(ine10: str, granted: tuple[str, ...] = ALL_MODALITIES) -> Expectations:
    return Expectations(ine10, AOC, "HESTIA", granted)


@pytest.mark.parametrize("modality", ALL_MODALITIES)
def test_sample_request_follows_the_pre_rule(
    sample_repo: Path, run_cli: Run, modality: str
) -> None:
    result = run_cli(["sample-request", str(sample_repo / PRE), "--modality", modality])
    assert result.exit_code == 0, result.output
    root = ET.fromstring(result.output.encode())
    assert root.tag == f"{{{SCSP_NS}}}Peticion"
    facts = request_facts(root)
    assert facts.modality == modality
    assert facts.authorised == "8100560009"
    assert facts.transmissions == ((AOC, modality, (AOC,)),)
    # Only the values left to fill in ('?') keep it from being evidence.
    findings = check_request(facts, want_for("8100560009"))
    assert findings and {f.code for f in findings} == {"HOMOLOGATION-PLACEHOLDER"}
    ns = {"p": SCSP_NS, "h": HESTIA_NS}
    assert root.findtext("p:Atributos/p:CodigoProducto", namespaces=ns) == "HESTIA"
    assert root.findtext("p:Atributos/p:DatosAutorizacion/p:Finalidad", namespaces=ns) == "PROVES"
    shape = SPECIFIC_DATA[modality]
    specific = root.find(
        f"p:Solicitudes/p:SolicitudTransmision/p:DatosEspecificos/h:{shape.element}", ns
    )
    assert specific is not None
    assert specific.findtext(f"h:{shape.ine_field}", namespaces=ns) == AOC
    assert [_local(c.tag) for c in specific][1:] == [name for name, _ in shape.fields]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def test_seed_shapes_for_consulta_and_cites(sample_repo: Path, run_cli: Run) -> None:
    consulta = run_cli(
        ["sample-request", str(sample_repo / PRE), "--modality", "HESTIA_CONSULTA_CIUTADA"]
    ).output
    assert "PCIConsultaCiutada" in consulta and "<hes:codiINE>9821920002<" in consulta
    assert "<hes:idInternCiutada>?</hes:idInternCiutada>" in consulta
    cites = run_cli(
        [
            "sample-request",
            str(sample_repo / PRE),
            "--modality",
            "HESTIA_CITES",
            "--set",
            "IdCites=42",
        ]
    ).output
    assert "<hes:DadesEspecifiques>" in cites and "<hes:CodINE>9821920002<" in cites
    assert "<hes:IdCites>42</hes:IdCites>" in cites


def test_sample_request_soap_envelope(sample_repo: Path, run_cli: Run) -> None:
    result = run_cli(
        ["sample-request", str(sample_repo / PRE), "--modality", "HESTIA_CITES", "--soap"]
    )
    root = ET.fromstring(result.output.encode())
    assert root.tag == f"{{{SOAP_NS}}}Envelope"
    assert [f.code for f in check_request(request_facts(root), want_for("8100560009"))] == [
        "HOMOLOGATION-PLACEHOLDER"
    ]


def test_sample_request_all_writes_one_per_granted_modality(
    sample_repo: Path, run_cli: Run, tmp_path: Path
) -> None:
    out = tmp_path / "requests"
    result = run_cli(["sample-request", str(sample_repo / PRE), "--all", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{m}.request.xml" for m in ALL_MODALITIES)
    ids = set()
    for path in out.iterdir():
        facts = request_facts(ET.fromstring(path.read_bytes()))
        assert {f.code for f in check_request(facts, want_for("8100560009"))} == {
            "HOMOLOGATION-PLACEHOLDER"
        }
        ids.add(
            ET.fromstring(path.read_bytes()).findtext(
                f"{{{SCSP_NS}}}Atributos/{{{SCSP_NS}}}IdPeticion"
            )
        )
    assert len(ids) == len(ALL_MODALITIES)  # request ids are unique


# Made-up test values for every specific-data field of every modality.
FILLED = [
    arg
    for pair in (
        "idInternCiutada=900001",
        "IdExpedient=900002",
        "IdRecurs=900003",
        "IdTramits=900004",
        "IdCites=900005",
        "EstatNou=RESOLT",
        "IdUsuariModificacio=proves",
        "DataModificacio=2030-01-01",
    )
    for arg in ("--set", pair)
]


def test_generated_requests_and_good_responses_open_pro(sample_repo: Path, run_cli: Run) -> None:
    """The workflow end to end: PRE integration, generated tests, evidence, then PRO."""
    folder = sample_repo / "integrations/8100560009"
    path = folder / "serveis-informatics-pirineu.yaml"
    result = run_cli(
        [
            "sample-request",
            str(path),
            "--all",
            "--out",
            str(folder / "evidence"),
            *FILLED,
            "--fill-generic",
        ]
    )
    assert result.exit_code == 0
    listing = []
    for request in sorted((folder / "evidence").glob("*.request.xml")):
        response = request.with_name(request.name.replace(".request.", ".response."))
        response.write_text("<resultat><codiResultat>0</codiResultat></resultat>")
        listing += [f"evidence/{request.name}", f"evidence/{response.name}"]
    text = path.read_text(encoding="utf-8").replace("environment: PRE", "environment: PRO")
    path.write_text(text, encoding="utf-8")
    assert not validate(sample_repo, now=NOW).ok  # PRO without evidence is blocked
    path.write_text(
        text + "homologation:\n" + "".join(f"  - {e}\n" for e in listing), encoding="utf-8"
    )
    report = validate(sample_repo, now=NOW)
    assert report.ok, report.diagnostics


def test_sample_request_usage_errors(sample_repo: Path, run_cli: Run, tmp_path: Path) -> None:
    pre = str(sample_repo / PRE)
    cases = [
        ([pre], "exactly one"),
        ([pre, "--modality", "HESTIA_CITES", "--all", "--out", str(tmp_path)], "exactly one"),
        ([pre, "--all"], "--out"),
        ([pre, "--modality", "HESTIA_CITES", "--out", str(tmp_path)], "--out is for --all"),
        ([pre, "--modality", "HESTIA_NOPE"], "not granted"),
        ([pre, "--modality", "HESTIA_CITES", "--set", "IdRecurs=1"], "IdCites"),
        ([pre, "--modality", "HESTIA_CITES", "--set", "IdCites"], "NAME=VALUE"),
        ([pre, "--modality", "HESTIA_CITES", "--set", "IdCites=1\x01"], "control character"),
    ]
    for args, expected in cases:
        result = run_cli(["sample-request", *args])
        assert result.exit_code == 2, args
        assert expected in result.output, (args, result.output)


def test_sample_request_for_listed_modalities_only(sample_repo: Path, run_cli: Run) -> None:
    other = "integrations/0805690004/gestio-municipal-oberta.yaml"
    result = run_cli(["sample-request", str(sample_repo / other), "--modality", "HESTIA_TRAMITS"])
    assert result.exit_code == 2
    assert "HESTIA_CONSULTA_CIUTADA, HESTIA_CITES" in result.output


def test_unreadable_form_falls_back_to_the_entity(sample_repo: Path) -> None:
    (sample_repo / "integrations/8100560009/forms/FP265594-formulari-integracio.pdf").write_bytes(
        b"%PDF-1.7 damaged"
    )
    result = split_run(["message", "head-of-service", str(sample_repo / PRE), "--force"])
    assert result.exit_code == 0
    assert "signat digitalment pel Consell Comarcal de l'Alta Ribagorça (signatura verificada)" in (
        result.stdout
    )
    catalog, _ = load_catalog(sample_repo)
    assert catalog is not None
    src = next(s for s in validate(sample_repo, now=NOW).sources if s.rel == PRE)
    text = render_message(
        "head-of-service", src.integration, catalog, form_signer="la secretaria de l'ens", now=NOW
    )
    assert "(forms/FP265594-formulari-integracio.pdf): la secretaria de l'ens" in text


def test_expired_cda_and_templates_asking_for_what_is_not_there(
    sample_repo: Path, run_cli: Run, tmp_path: Path
) -> None:
    catalog, _ = load_catalog(sample_repo)
    assert catalog is not None
    src = next(s for s in validate(sample_repo, now=NOW).sources if s.rel == PRE)
    text = render_message(
        "head-of-service",
        src.integration,
        catalog,
        folder=src.folder,
        repo_root=sample_repo,
        now=datetime(2100, 1, 1, tzinfo=UTC),
    )
    assert "CADUCAT fa " in text
    (sample_repo / "catalog/messages/request-info.txt").write_text("ABSS: $abss_name\n")
    result = run_cli(["message", "request-info", str(incomplete_request(sample_repo))])
    assert result.exit_code == 2 and "depends on none" in result.output
    # A file outside the repository: its documents are not read, the message still works.
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text((sample_repo / PRE).read_text(encoding="utf-8"), encoding="utf-8")
    (sample_repo / "catalog/messages/request-info.txt").write_text("$missing\n")
    result = run_cli(["message", "request-info", str(outside), "--repo", str(sample_repo)])
    assert result.exit_code == 0
    assert "- la clau pública" in result.output and "encara no l'hem rebuda" in result.output


def test_closing_messages_list_what_app_grants_the_entity(sample_repo: Path, run_cli: Run) -> None:
    """A second provider asked for two modalities; APP grants the entity the union."""
    second = "integrations/0805690004/gestio-municipal-oberta.yaml"
    result = run_cli(["message", "pre-ready", str(sample_repo / second)])
    assert result.exit_code == 0, result.output
    assert "Modalitats autoritzades a l'ens: " + ", ".join(ALL_MODALITIES) in result.output
    head = run_cli(["message", "head-of-service", str(sample_repo / second)]).output
    assert "L'Ajuntament de Castelldefels ja està integrat" in head
    assert "a través del proveïdor Solucions Socials Digitals SA" in head
    assert "només hi afegeix el certificat (CDA) i les IPs del proveïdor Gestió" in head
    # In PRO only the PRO integration counts.
    pro = run_cli(["message", "pro-ready", str(sample_repo / PRO)]).output
    assert "Modalitats autoritzades a l'ens: " + ", ".join(ALL_MODALITIES) in pro


def test_unfilled_or_foreign_evidence_is_refused(sample_repo: Path, run_cli: Run) -> None:
    """A '?' left in, an empty required value, or another entity's name: not evidence."""
    evidence = sample_repo / "integrations/0805690004/evidence"
    cites = evidence / "HESTIA_CITES.request.xml"
    good = cites.read_text(encoding="utf-8")
    cites.write_text(good.replace(">500000001<", ">?<"), encoding="utf-8")
    consulta = evidence / "HESTIA_CONSULTA_CIUTADA.request.xml"
    text = consulta.read_text(encoding="utf-8")
    consulta.write_text(
        text.replace(
            "<pet:NombreSolicitante>Ajuntament de Castelldefels<",
            "<pet:NombreSolicitante>Ajuntament de Vic<",
            1,
        ).replace("<pet:Finalidad>PROVES</pet:Finalidad>", "<pet:Finalidad />", 1),
        encoding="utf-8",
    )
    report = validate(sample_repo)
    mine = {d.code: d.message for d in report.diagnostics if d.file.endswith(PRO.split("/")[-1])}
    assert "still holds '?' in" in mine["HOMOLOGATION-PLACEHOLDER"]
    assert "IdCites" in mine["HOMOLOGATION-PLACEHOLDER"]
    assert "DatosAutorizacion/Finalidad" in mine["HOMOLOGATION-EMPTY"]
    assert "'Ajuntament de Vic'" in mine["HOMOLOGATION-ENTITY-NAME"]
    assert not report.ok
    # Appointments read by a date range need no ids.
    cites.write_text(
        good.replace("<pet:IdCites>500000001</pet:IdCites>", "<pet:IdCites />")
        .replace("<hes:IdCites>500000001</hes:IdCites>", "<hes:IdCites />")
        .replace("<hes:DataInici />", "<hes:DataInici>2030-01-01</hes:DataInici>")
        .replace("<hes:DataFi />", "<hes:DataFi>2030-01-07</hes:DataFi>"),
        encoding="utf-8",
    )
    consulta.write_text(text, encoding="utf-8")
    assert validate(sample_repo).ok
    cites.write_text(good.replace(">500000001<", "><"), encoding="utf-8")
    codes = {d.code for d in validate(sample_repo).diagnostics}
    assert "HOMOLOGATION-EMPTY" in codes


def test_sample_request_fills_the_generic_data_with_made_up_people(
    sample_repo: Path, run_cli: Run
) -> None:
    result = run_cli(
        [
            "sample-request",
            str(sample_repo / PRE),
            "--modality",
            "HESTIA_CONSULTA_CIUTADA",
            "--fill-generic",
            "--set",
            "idInternCiutada=900001",
        ]
    )
    assert result.exit_code == 0, result.output
    root = ET.fromstring(result.output.encode())
    ns = {"p": SCSP_NS}
    generic = "p:Solicitudes/p:SolicitudTransmision/p:DatosGenericos"
    assert root.findtext(f"{generic}/p:Solicitante/p:Funcionario/p:NifFuncionario", namespaces=ns)
    assert root.findtext(f"{generic}/p:Titular/p:NombreCompleto", namespaces=ns) == (
        "Persona Titular de Proves"
    )
    assert check_request(request_facts(root), want_for("8100560009")) == []
