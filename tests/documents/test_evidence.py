"""The gate to PRO: PRE test evidence, checked by `validate` (provisioner.documents.evidence).

Requests and responses are shaped like the procedure's two examples (a SOAP-wrapped
HESTIA_CONSULTA_CIUTADA, a bare HESTIA_CITES), with neutral, made-up data.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.diagnostics import Finding
from provisioner.documents.evidence import Expectations, check_evidence
from provisioner.loading.paths import RepositoryFiles
from provisioner.rules.run import validate
from tests.conftest import NOW, edit

PRO = "integrations/0805690004/solucions-socials-digitals.yaml"
PRE = "integrations/8100560009/serveis-informatics-pirineu.yaml"
EVIDENCE = "integrations/0805690004/evidence"
ENTITY = "0805690004"
AOC = "9821920002"

CONSULTA_SOAP = """\
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:open="http://www.openuri.org/" xmlns:pet="http://gencat.net/scsp/esquemes/peticion">
   <soapenv:Header/>
   <soapenv:Body>
      <open:procesa>
         <ns1:Peticion xmlns:ns1="http://gencat.net/scsp/esquemes/peticion">
            <ns1:Atributos>
               <ns1:IdPeticion>TEST_HESTIA_CONSULTA_{authorised}-0001</ns1:IdPeticion>
               <ns1:NumElementos>1</ns1:NumElementos>
               <ns1:TimeStamp>2024-01-15T10:00:00.00</ns1:TimeStamp>
               <ns1:CodigoCertificado>{modality}</ns1:CodigoCertificado>
               <ns1:CodigoProducto>{product}</ns1:CodigoProducto>
               <ns1:DatosAutorizacion>
                  <ns1:IdentificadorSolicitante>{authorised}</ns1:IdentificadorSolicitante>
                  <ns1:NombreSolicitante>Ajuntament de Castelldefels</ns1:NombreSolicitante>
                  <ns1:Finalidad>PROVES</ns1:Finalidad>
               </ns1:DatosAutorizacion>
               <ns1:Emisor>
                  <ns1:NifEmisor>Q0801175A</ns1:NifEmisor>
                  <ns1:NombreEmisor>Consorci AOC</ns1:NombreEmisor>
               </ns1:Emisor>
            </ns1:Atributos>
            <ns1:Solicitudes>
               <ns1:SolicitudTransmision>
                  <ns1:DatosGenericos>
                     <ns1:Solicitante>
                        <ns1:IdentificadorSolicitante>{requester}</ns1:IdentificadorSolicitante>
                        <ns1:NombreSolicitante>Ajuntament de Castelldefels</ns1:NombreSolicitante>
                        <ns1:Finalidad>PROVES</ns1:Finalidad>
                        <ns1:Consentimiento>Si</ns1:Consentimiento>
                        <ns1:Funcionario>
                           <ns1:NombreCompletoFuncionario>Persona de Proves</ns1:NombreCompletoFuncionario>
                           <ns1:NifFuncionario>00000000T</ns1:NifFuncionario>
                        </ns1:Funcionario>
                     </ns1:Solicitante>
                     <ns1:Transmision>
                        <ns1:CodigoCertificado>{modality}</ns1:CodigoCertificado>
                        <ns1:IdSolicitud>TEST-2024/000000001</ns1:IdSolicitud>
                        <ns1:FechaGeneracion>2024-01-15</ns1:FechaGeneracion>
                     </ns1:Transmision>
                  </ns1:DatosGenericos>
                  <ns1:DatosEspecificos>
                     <ns2:PCIConsultaCiutada xmlns:ns2="http://www.aoc.cat/hestia/" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
                        <ns2:codiINE>{specific}</ns2:codiINE>
                        <ns2:idInternCiutada>100000001</ns2:idInternCiutada>
                     </ns2:PCIConsultaCiutada>
                  </ns1:DatosEspecificos>
               </ns1:SolicitudTransmision>
            </ns1:Solicitudes>
         </ns1:Peticion>
      </open:procesa>
   </soapenv:Body>
</soapenv:Envelope>
"""

CITES_BARE = """\
<ns1:Peticion xmlns:ns1="http://gencat.net/scsp/esquemes/peticion">
\t<ns1:Atributos>
\t\t<ns1:IdPeticion>PROVES-{authorised}-20240115100000</ns1:IdPeticion>
\t\t<ns1:NumElementos>1</ns1:NumElementos>
\t\t<ns1:TimeStamp>2024-01-15 10:00:00.000</ns1:TimeStamp>
\t\t<ns1:CodigoCertificado>{modality}</ns1:CodigoCertificado>
\t\t<ns1:CodigoProducto>{product}</ns1:CodigoProducto>
\t\t<ns1:DatosAutorizacion>
\t\t\t<ns1:IdentificadorSolicitante>{authorised}</ns1:IdentificadorSolicitante>
\t\t\t<ns1:NombreSolicitante>{name}</ns1:NombreSolicitante>
\t\t\t<ns1:Finalidad>PROVES</ns1:Finalidad>
\t\t</ns1:DatosAutorizacion>
\t</ns1:Atributos>
\t<ns1:Solicitudes>
\t\t<ns1:SolicitudTransmision>
\t\t\t<ns1:DatosGenericos>
\t\t\t\t<ns1:Solicitante>
\t\t\t\t\t<ns1:IdentificadorSolicitante>{requester}</ns1:IdentificadorSolicitante>
\t\t\t\t\t<ns1:NombreSolicitante>{name}</ns1:NombreSolicitante>
\t\t\t\t\t<ns1:Finalidad>PROVES</ns1:Finalidad>
\t\t\t\t</ns1:Solicitante>
\t\t\t\t<ns1:Transmision>
\t\t\t\t\t<ns1:CodigoCertificado>{transmission}</ns1:CodigoCertificado>
\t\t\t\t\t<ns1:IdSolicitud>PROVES-{authorised}-20240115100000</ns1:IdSolicitud>
\t\t\t\t</ns1:Transmision>
\t\t\t</ns1:DatosGenericos>
\t\t\t<ns1:DatosEspecificos>
\t\t\t\t<ns2:DadesEspecifiques xmlns:ns2="http://www.aoc.cat/hestia/">
\t\t\t\t\t<ns2:CodINE>{specific}</ns2:CodINE>
\t\t\t\t\t<ns2:IdCites>500000001</ns2:IdCites>
\t\t\t\t\t<ns2:DataInici/>
\t\t\t\t\t<ns2:DataFi/>
\t\t\t\t</ns2:DadesEspecifiques>
\t\t\t</ns1:DatosEspecificos>
\t\t</ns1:SolicitudTransmision>
\t</ns1:Solicitudes>
</ns1:Peticion>
"""

RESPONSE_LOWER = "<resultat>\n\t<codiResultat>{code}</codiResultat>\n\t<descripcio>{text}</descripcio>\n</resultat>\n"
RESPONSE_UPPER = "<Resultat>\n\t<CodiResultat>{code}</CodiResultat>\n\t<Descripcio>{text}</Descripcio>\n</Resultat>\n"

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<resultat><codiResultat>&lol9;</codiResultat></resultat>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE resultat [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<resultat><codiResultat>0</codiResultat><descripcio>&xxe;</descripcio></resultat>
"""


def consulta(
    authorised: str = ENTITY,
    requester: str = AOC,
    specific: str = AOC,
    modality: str = "HESTIA_CONSULTA_CIUTADA",
    product: str = "HESTIA",
) -> str:
    return CONSULTA_SOAP.format(
        authorised=authorised,
        requester=requester,
        specific=specific,
        modality=modality,
        product=product,
    )


def cites(
    authorised: str = ENTITY,
    requester: str = AOC,
    specific: str = AOC,
    modality: str = "HESTIA_CITES",
    transmission: str | None = None,
    product: str = "HESTIA",
    name: str = "Ajuntament de Castelldefels",
) -> str:
    return CITES_BARE.format(
        name=name,
        authorised=authorised,
        requester=requester,
        specific=specific,
        modality=modality,
        transmission=transmission or modality,
        product=product,
    )


def put(repo: Path, name: str, text: str | bytes) -> None:
    path = repo / EVIDENCE / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def homologation(repo: Path, rel: str = PRO) -> list[Finding]:
    report = validate(repo, now=NOW)
    return [d for d in report.diagnostics if d.file == rel and d.code.startswith("HOMOLOGATION")]


def codes(diags: list[Finding]) -> set[str]:
    return {d.code for d in diags}


def line_of(repo: Path, rel: str, text: str) -> int:
    lines = (repo / rel).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


# ----------------------------------------------------------------------------- passing evidence


def test_shipped_samples_pass_the_gate(sample_repo: Path) -> None:
    report = validate(sample_repo, now=NOW)
    assert report.ok, report.diagnostics
    assert not [d for d in report.diagnostics if d.code.startswith("HOMOLOGATION")]


def test_requests_shaped_like_the_procedures_examples_pass(sample_repo: Path) -> None:
    put(sample_repo, "HESTIA_CONSULTA_CIUTADA.request.xml", consulta())
    put(
        sample_repo,
        "HESTIA_CONSULTA_CIUTADA.response.xml",
        RESPONSE_LOWER.format(code="0", text="El ciutadà s'ha localitzat correctament"),
    )
    put(sample_repo, "HESTIA_CITES.request.xml", cites())
    put(
        sample_repo,
        "HESTIA_CITES.response.xml",
        RESPONSE_UPPER.format(code=" 0 ", text="Les cites s'han localitzat correctament"),
    )
    assert homologation(sample_repo) == []
    assert validate(sample_repo, now=NOW).ok


# ----------------------------------------------------------------------------- wrong data


def test_request_for_another_entity_blocks_pro_and_names_the_modality(sample_repo: Path) -> None:
    put(sample_repo, "HESTIA_CITES.request.xml", cites(authorised="0801930008"))
    diags = homologation(sample_repo)
    entity = [d for d in diags if d.code == "HOMOLOGATION-ENTITY"]
    assert len(entity) == 1
    assert "0801930008" in entity[0].message and ENTITY in entity[0].message
    assert entity[0].line == line_of(sample_repo, PRO, "evidence/HESTIA_CITES.request.xml")
    missing = [d for d in diags if d.code == "HOMOLOGATION-MISSING"]
    assert [("HESTIA_CITES" in d.message) for d in missing] == [True]
    assert not validate(sample_repo, now=NOW).ok


def test_aoc_ine10_in_authorisation_gets_the_pre_rule_explained(sample_repo: Path) -> None:
    put(sample_repo, "HESTIA_CITES.request.xml", cites(authorised=AOC))
    (entity,) = [d for d in homologation(sample_repo) if d.code == "HOMOLOGATION-ENTITY"]
    assert "DatosGenericos/Solicitante" in entity.message


def test_entity_ine10_as_requester_is_refused(sample_repo: Path) -> None:
    put(sample_repo, "HESTIA_CONSULTA_CIUTADA.request.xml", consulta(requester=ENTITY))
    diags = homologation(sample_repo)
    (requester,) = [d for d in diags if d.code == "HOMOLOGATION-REQUESTER"]
    assert AOC in requester.message and "DatosAutorizacion" in requester.message
    assert "HOMOLOGATION-MISSING" in codes(diags)


def test_wrong_ine_code_in_specific_data_is_refused(sample_repo: Path) -> None:
    put(sample_repo, "HESTIA_CITES.request.xml", cites(specific=ENTITY))
    (specific,) = [d for d in homologation(sample_repo) if d.code == "HOMOLOGATION-SPECIFIC-INE"]
    assert ENTITY in specific.message and AOC in specific.message


def test_request_without_specific_ine_code_is_refused(sample_repo: Path) -> None:
    put(
        sample_repo,
        "HESTIA_CITES.request.xml",
        cites().replace(f"<ns2:CodINE>{AOC}</ns2:CodINE>", ""),
    )
    assert "HOMOLOGATION-SPECIFIC-INE" in codes(homologation(sample_repo))


def test_leading_zero_lost_is_a_warning_only(sample_repo: Path) -> None:
    put(sample_repo, "HESTIA_CITES.request.xml", cites(authorised=ENTITY[1:]))
    diags = homologation(sample_repo)
    assert [(d.code, d.severity) for d in diags] == [("HOMOLOGATION-INE10-LEADING-ZERO", "warning")]
    assert validate(sample_repo, now=NOW).ok


def test_failed_result_codes_are_explained(sample_repo: Path) -> None:
    put(
        sample_repo,
        "HESTIA_CITES.response.xml",
        RESPONSE_UPPER.format(code="-9", text="Dades d'una altra ABSS"),
    )
    put(sample_repo, "HESTIA_TRAMITS.response.xml", RESPONSE_LOWER.format(code="-1", text="KO"))
    diags = homologation(sample_repo)
    results = sorted(d.message for d in diags if d.code == "HOMOLOGATION-RESULT")
    assert len(results) == 2
    assert "-9" in results[0] and "ABSS" in results[0] and "Dades d'una altra ABSS" in results[0]
    assert "-1" in results[1] and "schema" in results[1]
    missing = " ".join(d.message for d in diags if d.code == "HOMOLOGATION-MISSING")
    assert "HESTIA_CITES" in missing and "HESTIA_TRAMITS" in missing


def test_modality_not_authorised_is_refused(sample_repo: Path) -> None:
    edit(
        sample_repo,
        PRO,
        "modalities: all\nunused_modalities: [HESTIA_RESOLUCIORECURS]",
        "modalities: [HESTIA_CONSULTA_CIUTADA, HESTIA_EXPEDIENT, HESTIA_RECURSOS, HESTIA_TRAMITS]",
    )
    diags = homologation(sample_repo)
    (modality,) = [d for d in diags if d.code == "HOMOLOGATION-MODALITY"]
    assert "HESTIA_CITES" in modality.message and "not granted" in modality.message
    assert "HOMOLOGATION-MISSING" not in codes(diags)


def test_transmission_and_product_must_agree(sample_repo: Path) -> None:
    put(
        sample_repo,
        "HESTIA_CITES.request.xml",
        cites(transmission="HESTIA_TRAMITS", product="OTHER"),
    )
    found = codes(homologation(sample_repo))
    assert {"HOMOLOGATION-MODALITY", "HOMOLOGATION-PRODUCT"} <= found


# ----------------------------------------------------------------------------- hostile files


def test_xml_bomb_is_refused(sample_repo: Path) -> None:
    put(sample_repo, "HESTIA_CITES.response.xml", BILLION_LAUGHS)
    diags = homologation(sample_repo)
    (bomb,) = [d for d in diags if d.code == "HOMOLOGATION-XML"]
    assert "DTD" in bomb.message
    assert bomb.line == line_of(sample_repo, PRO, "evidence/HESTIA_CITES.response.xml")


def test_external_entity_is_refused_and_never_read(sample_repo: Path) -> None:
    put(sample_repo, "HESTIA_CITES.response.xml", EXTERNAL_ENTITY)
    diags = homologation(sample_repo)
    (xxe,) = [d for d in diags if d.code == "HOMOLOGATION-XML"]
    assert "DTD" in xxe.message
    assert "root:" not in " ".join(d.message for d in diags)


def test_non_xml_and_huge_files_are_refused(sample_repo: Path) -> None:
    put(sample_repo, "HESTIA_EXPEDIENT.request.xml", b"%PDF-1.7\n\x00\xff\xfe binary")
    put(sample_repo, "HESTIA_RECURSOS.response.xml", b"<resultat>" + b" " * (1024 * 1024 + 1))
    put(sample_repo, "HESTIA_TRAMITS.response.xml", b"")
    diags = [d for d in homologation(sample_repo) if d.code == "HOMOLOGATION-XML"]
    by_file = {d.message.split("'")[1]: d.message for d in diags}
    assert "not well-formed" in by_file["evidence/HESTIA_EXPEDIENT.request.xml"]
    assert "larger than 1024 KiB" in by_file["evidence/HESTIA_RECURSOS.response.xml"]
    assert "not well-formed" in by_file["evidence/HESTIA_TRAMITS.response.xml"]


def test_swapped_or_foreign_documents_are_named(sample_repo: Path) -> None:
    put(sample_repo, "HESTIA_CITES.response.xml", cites())
    put(sample_repo, "HESTIA_TRAMITS.request.xml", RESPONSE_LOWER.format(code="0", text="ok"))
    put(
        sample_repo,
        "HESTIA_EXPEDIENT.request.xml",
        '<Peticion xmlns="urn:other"><Atributos/></Peticion>',
    )
    put(sample_repo, "HESTIA_RECURSOS.response.xml", "<html><body>Error 500</body></html>")
    diags = homologation(sample_repo)
    messages = {(d.code, d.message.split("'")[1]) for d in diags if "'" in d.message}
    assert ("HOMOLOGATION-NOT-RESPONSE", "evidence/HESTIA_CITES.response.xml") in messages
    assert ("HOMOLOGATION-NOT-REQUEST", "evidence/HESTIA_TRAMITS.request.xml") in messages
    assert ("HOMOLOGATION-NOT-REQUEST", "evidence/HESTIA_EXPEDIENT.request.xml") in messages
    assert ("HOMOLOGATION-NOT-RESPONSE", "evidence/HESTIA_RECURSOS.response.xml") in messages
    assert any("urn:other" in d.message for d in diags)


def test_request_without_transmissions_or_modality(sample_repo: Path) -> None:
    put(
        sample_repo,
        "HESTIA_CITES.request.xml",
        '<Peticion xmlns="http://gencat.net/scsp/esquemes/peticion"><Atributos>'
        "<CodigoProducto>HESTIA</CodigoProducto></Atributos></Peticion>",
    )
    found = codes(homologation(sample_repo))
    assert {"HOMOLOGATION-NOT-REQUEST", "HOMOLOGATION-MODALITY", "HOMOLOGATION-ENTITY"} <= found


# ----------------------------------------------------------------------------- the listing


def test_missing_modality_blocks_pro_until_declared_unused(sample_repo: Path) -> None:
    edit(sample_repo, PRO, "  - evidence/HESTIA_TRAMITS.request.xml\n", "")
    edit(sample_repo, PRO, "  - evidence/HESTIA_TRAMITS.response.xml\n", "")
    diags = homologation(sample_repo)
    (missing,) = diags
    assert missing.code == "HOMOLOGATION-MISSING" and "HESTIA_TRAMITS" in missing.message
    assert "unused_modalities" in missing.message
    edit(
        sample_repo,
        PRO,
        "unused_modalities: [HESTIA_RESOLUCIORECURS]",
        "unused_modalities: [HESTIA_RESOLUCIORECURS, HESTIA_TRAMITS]",
    )
    assert homologation(sample_repo) == []


def test_pro_without_any_evidence_names_every_used_modality(sample_repo: Path) -> None:
    path = sample_repo / PRO
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(
        "".join(line for line in lines if "evidence/" not in line and "homologation" not in line),
        encoding="utf-8",
    )
    diags = homologation(sample_repo)
    assert {d.code for d in diags} == {"HOMOLOGATION-MISSING"}
    named = {m for d in diags for m in d.message.split() if m.startswith("HESTIA_")}
    assert {
        "HESTIA_CONSULTA_CIUTADA",
        "HESTIA_EXPEDIENT",
        "HESTIA_RECURSOS",
        "HESTIA_TRAMITS",
        "HESTIA_CITES",
    } <= named
    assert not any("HESTIA_RESOLUCIORECURS" in d.message for d in diags)
    assert {d.line for d in diags} == {line_of(sample_repo, PRO, "environment: PRO")}


def test_pre_integration_is_checked_only_when_it_lists_evidence(sample_repo: Path) -> None:
    assert homologation(sample_repo, PRE) == []
    folder = sample_repo / "integrations/8100560009/evidence"
    folder.mkdir()
    request = cites(
        authorised="8100560009",
        requester="8100560009",
        name="Consell Comarcal de l'Alta Ribagorça",
    )
    (folder / "cites.request.xml").write_text(request, encoding="utf-8")
    (folder / "cites.response.xml").write_text(
        RESPONSE_UPPER.format(code="0", text="ok"), encoding="utf-8"
    )
    edit(
        sample_repo,
        PRE,
        "modalities: all\n",
        "modalities: all\nhomologation:\n"
        "  - evidence/cites.request.xml\n  - evidence/cites.response.xml\n",
    )
    assert codes(homologation(sample_repo, PRE)) == {"HOMOLOGATION-REQUESTER"}


def test_pairing_by_name(sample_repo: Path) -> None:
    put(sample_repo, "extra.request.xml", cites())
    put(sample_repo, "orphan.response.xml", RESPONSE_LOWER.format(code="0", text="ok"))
    put(sample_repo, "notes.txt", "captured on the 15th")
    edit(
        sample_repo,
        PRO,
        "  - evidence/HESTIA_CITES.response.xml\n",
        "  - evidence/HESTIA_CITES.response.xml\n"
        "  - evidence/extra.request.xml\n"
        "  - evidence/orphan.response.xml\n"
        "  - evidence/notes.txt\n"
        "  - evidence/./HESTIA_CITES.request.xml\n",
    )
    diags = homologation(sample_repo)
    found = {(d.code, d.line) for d in diags}
    assert ("HOMOLOGATION-UNPAIRED", line_of(sample_repo, PRO, "extra.request")) in found
    assert ("HOMOLOGATION-UNPAIRED", line_of(sample_repo, PRO, "orphan.response")) in found
    assert ("HOMOLOGATION-NAME", line_of(sample_repo, PRO, "notes.txt")) in found
    assert ("HOMOLOGATION-DUPLICATE", line_of(sample_repo, PRO, "./HESTIA_CITES")) in found
    assert "HOMOLOGATION-MISSING" not in codes(diags)


def test_missing_evidence_file_is_reported_once_by_the_path_rule(sample_repo: Path) -> None:
    (sample_repo / EVIDENCE / "HESTIA_CITES.response.xml").unlink()
    report = validate(sample_repo, now=NOW)
    mine = [d.code for d in report.diagnostics if d.file == PRO]
    assert mine.count("PATH-MISSING") == 1
    assert "HOMOLOGATION-XML" not in mine
    assert "HOMOLOGATION-MISSING" in mine  # the gate still names the untested modality


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(request=st.binary(max_size=400), response=st.binary(max_size=400))
def test_any_bytes_give_findings_never_a_traceback(
    tmp_path: Path, request: bytes, response: bytes
) -> None:
    (tmp_path / "x.request.xml").write_bytes(request)
    (tmp_path / "x.response.xml").write_bytes(response)
    want = Expectations(ENTITY, AOC, "HESTIA", ("HESTIA_CITES",), required=True)
    findings = check_evidence(
        [
            ("x.request.xml", tmp_path / "x.request.xml"),
            ("x.response.xml", tmp_path / "x.response.xml"),
        ],
        want,
        RepositoryFiles.read,
    )
    assert any(f.code == "HOMOLOGATION-MISSING" for f in findings)
    assert all(f.message for f in findings)


def test_unreadable_evidence_and_invalid_ine10(sample_repo: Path, tmp_path: Path) -> None:
    want = Expectations(ENTITY, AOC, "HESTIA", ("HESTIA_CITES",))
    findings = check_evidence(
        [("gone.request.xml", tmp_path / "gone.request.xml"), ("gone.response.xml", None)],
        want,
        RepositoryFiles.read,
    )
    assert [(f.code, "cannot be read" in f.message) for f in findings] == [
        ("HOMOLOGATION-XML", True)
    ]
    # An INE10 that is not ten digits is reported once, by INE10-LEADING-ZERO, not per request.
    edit(sample_repo, PRO, f'ine10: "{ENTITY}"', f'ine10: "{ENTITY[1:]}"')
    assert homologation(sample_repo) == []
    assert "INE10-LEADING-ZERO" in {d.code for d in validate(sample_repo, now=NOW).diagnostics}


def test_any_failed_result_in_a_response_fails_it(sample_repo: Path) -> None:
    several = (
        "<Resultats><Resultat><CodiResultat>0</CodiResultat><Descripcio>OK</Descripcio>"
        "</Resultat><Resultat><CodiResultat>-9</CodiResultat>"
        "<Descripcio>Dades d'una altra ABSS</Descripcio></Resultat></Resultats>"
    )
    put(sample_repo, "HESTIA_CITES.response.xml", several)
    diags = homologation(sample_repo)
    results = [d for d in diags if d.code == "HOMOLOGATION-RESULT"]
    assert len(results) == 1 and "-9" in results[0].message
