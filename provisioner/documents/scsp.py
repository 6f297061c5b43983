"""SCSP requests to Hèstia as the PCI carries them: names, namespaces, and PRE test requests.

The PRE rule (procedure step 6): the entity is *authorised* with its own INE10
(`Atributos/DatosAutorizacion/IdentificadorSolicitante`) but *authenticates as AOC*: the requester
(`DatosGenericos/Solicitante/IdentificadorSolicitante`) and the INE code of the specific data
carry AOC's INE10 (catalog `service.aoc_ine10`).

Requests are built with ElementTree, never by pasting strings, so names and values are always
escaped. `xml.etree` is in the standard library and cheap to import.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provisioner.catalog import Catalog
    from provisioner.model import Integration

SCSP_NS = "http://gencat.net/scsp/esquemes/peticion"
HESTIA_NS = "http://www.aoc.cat/hestia/"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OPENURI_NS = "http://www.openuri.org/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

# ElementTree reserves the prefixes ns0, ns1... for itself, so the seed's ns1/ns2 become these.
PREFIXES = {"pet": SCSP_NS, "hes": HESTIA_NS, "soapenv": SOAP_NS, "open": OPENURI_NS, "xsi": XSI_NS}

PURPOSE = "PROVES"  # Finalidad of every PRE test request
PLACEHOLDER = "?"  # what soapUI users expect in a value still to fill in

# Made-up people for the generic data the procedure's examples carry (Funcionario, Titular):
# never real personal data. The NIFs are well-formed (check letter right) and obviously fake.
TEST_OFFICIAL = ("Persona Funcionària de Proves", "00000000T")
TEST_HOLDER = ("NIF", "00000001R", "Persona Titular de Proves")


@dataclass(frozen=True)
class SpecificData:
    """The `DatosEspecificos` content of one modality: its element, its INE field, its inputs."""

    element: str
    ine_field: str
    fields: tuple[tuple[str, str], ...]  # (child element, default value) after the INE field


# The one table of specific-data shapes. HESTIA_CONSULTA_CIUTADA and HESTIA_CITES are as in the
# procedure's examples; the others follow the public Hèstia request schemas (DadesEspecifiques
# with CodINE and the identifier the operation reads). All live in namespace HESTIA_NS.
# A modality added to the catalog but not to this table gets DEFAULT_SPECIFIC_DATA.
SPECIFIC_DATA: dict[str, SpecificData] = {
    "HESTIA_CONSULTA_CIUTADA": SpecificData(
        "PCIConsultaCiutada", "codiINE", (("idInternCiutada", PLACEHOLDER),)
    ),
    "HESTIA_EXPEDIENT": SpecificData(
        "DadesEspecifiques", "CodINE", (("IdExpedient", PLACEHOLDER),)
    ),
    "HESTIA_RECURSOS": SpecificData("DadesEspecifiques", "CodINE", (("IdRecurs", PLACEHOLDER),)),
    "HESTIA_TRAMITS": SpecificData("DadesEspecifiques", "CodINE", (("IdTramits", PLACEHOLDER),)),
    # Appointments are read by ids or by a date range (at most 7 days): the dates stay empty.
    "HESTIA_CITES": SpecificData(
        "DadesEspecifiques",
        "CodINE",
        (("IdCites", PLACEHOLDER), ("DataInici", ""), ("DataFi", "")),
    ),
    "HESTIA_RESOLUCIORECURS": SpecificData(
        "DadesEspecifiques",
        "CodINE",
        (
            ("IdRecurs", PLACEHOLDER),
            ("EstatNou", PLACEHOLDER),
            ("IdUsuariModificacio", PLACEHOLDER),
            ("DataModificacio", PLACEHOLDER),
        ),
    ),
}
DEFAULT_SPECIFIC_DATA = SpecificData("DadesEspecifiques", "CodINE", ())

# Local names (lower case) under which a request carries the INE code in its specific data.
INE_FIELD_NAMES = frozenset({"codiine", "codine"})


def specific_data(modality: str) -> SpecificData:
    return SPECIFIC_DATA.get(modality, DEFAULT_SPECIFIC_DATA)


def fillable_fields(modalities: tuple[str, ...] | list[str]) -> set[str]:
    """The specific-data fields that `values` may fill for these modalities."""
    return {name for m in modalities for name, _ in specific_data(m).fields}


def _register_prefixes() -> None:
    for prefix, uri in PREFIXES.items():
        ET.register_namespace(prefix, uri)


def _sub(parent: ET.Element, name: str, text: str | None = None, ns: str = SCSP_NS) -> ET.Element:
    child = ET.SubElement(parent, f"{{{ns}}}{name}")
    if text is not None:
        child.text = text
    return child


def build_request(
    integration: Integration,
    catalog: Catalog,
    modality: str,
    *,
    now: datetime,
    values: Mapping[str, str] | None = None,
    sequence: int = 1,
    people: bool = False,
) -> ET.Element:
    """A PRE test `Peticion` for one modality, following the PRE rule.

    `values` fills specific-data fields by element name (e.g. {"IdCites": "1001"}); unknown
    names are ignored here (the caller checks them). Never pass real personal data.
    `people` adds the official (Funcionario) and the data subject (Titular) with made-up
    test values, as the procedure's examples carry them.
    """
    service = catalog.service
    entity = integration.entity
    values = values or {}
    with_people = people
    stamp = now.strftime("%Y%m%d%H%M%S")
    request_id = f"{PURPOSE}-{entity.ine10}-{stamp}-{sequence:02d}"

    peticion = ET.Element(f"{{{SCSP_NS}}}Peticion")
    atributos = _sub(peticion, "Atributos")
    _sub(atributos, "IdPeticion", request_id)
    _sub(atributos, "NumElementos", "1")
    _sub(
        atributos,
        "TimeStamp",
        now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}",
    )
    _sub(atributos, "CodigoCertificado", modality)
    _sub(atributos, "CodigoProducto", service.product)
    authorisation = _sub(atributos, "DatosAutorizacion")
    _sub(authorisation, "IdentificadorSolicitante", entity.ine10)  # the entity's own INE10
    _sub(authorisation, "NombreSolicitante", entity.name)
    _sub(authorisation, "Finalidad", PURPOSE)
    issuer = _sub(atributos, "Emisor")
    _sub(issuer, "NifEmisor", service.aoc_nif)
    _sub(issuer, "NombreEmisor", service.aoc_name)

    transmission_request = _sub(_sub(peticion, "Solicitudes"), "SolicitudTransmision")
    generic = _sub(transmission_request, "DatosGenericos")
    generic_issuer = _sub(generic, "Emisor")
    _sub(generic_issuer, "NifEmisor", service.aoc_nif)
    _sub(generic_issuer, "NombreEmisor", service.aoc_name)
    requester = _sub(generic, "Solicitante")
    _sub(requester, "IdentificadorSolicitante", service.aoc_ine10)  # PRE: authenticate as AOC
    _sub(requester, "NombreSolicitante", entity.name)
    _sub(requester, "Finalidad", PURPOSE)
    _sub(requester, "Consentimiento", "Si")
    if with_people:
        official = _sub(requester, "Funcionario")
        _sub(official, "NombreCompletoFuncionario", TEST_OFFICIAL[0])
        _sub(official, "NifFuncionario", TEST_OFFICIAL[1])
        holder = _sub(generic, "Titular")
        _sub(holder, "TipoDocumentacion", TEST_HOLDER[0])
        _sub(holder, "Documentacion", TEST_HOLDER[1])
        _sub(holder, "NombreCompleto", TEST_HOLDER[2])
    transmission = _sub(generic, "Transmision")
    _sub(transmission, "CodigoCertificado", modality)
    _sub(transmission, "IdSolicitud", request_id)
    _sub(transmission, "FechaGeneracion", now.strftime("%Y-%m-%d"))

    shape = specific_data(modality)
    specific = _sub(_sub(transmission_request, "DatosEspecificos"), shape.element, ns=HESTIA_NS)
    _sub(specific, shape.ine_field, service.aoc_ine10, ns=HESTIA_NS)  # PRE: AOC again
    for name, default in shape.fields:
        _sub(specific, name, values.get(name, default), ns=HESTIA_NS)
    return peticion


def soap_envelope(peticion: ET.Element) -> ET.Element:
    """Wrap a request the way the PCI's SOAP front end receives it (`open:procesa`)."""
    envelope = ET.Element(f"{{{SOAP_NS}}}Envelope")
    _sub(envelope, "Header", ns=SOAP_NS)
    body = _sub(envelope, "Body", ns=SOAP_NS)
    _sub(body, "procesa", ns=OPENURI_NS).append(peticion)
    return envelope


def to_xml(element: ET.Element) -> bytes:
    """Indented UTF-8 XML with the project's prefixes, ending in a newline."""
    _register_prefixes()
    tree = ET.ElementTree(element)
    ET.indent(tree, space="  ")
    xml: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"
