"""Homologation: the PRE test evidence that opens the way to PRO (procedure step 7).

An integration lists its evidence in `homologation:`, as request/response pairs captured in PRE.

Pairing is by file name: `X.request.xml` is answered by `X.response.xml` (same folder, both
listed). Any other name is refused, so a reviewer never has to guess which response signs off
which request.

A request passes when it was made for this entity: its INE10 in
`Atributos/DatosAutorizacion/IdentificadorSolicitante`, AOC's INE10 as requester
(`DatosGenericos/Solicitante/IdentificadorSolicitante`) and as the specific data's INE code
(`codiINE`/`CodINE`), for a modality the integration is granted, product HESTIA. Its response
passes with result code 0 (`codiResultat`/`CodiResultat`, any case). Requests may be bare
`Peticion` documents or wrapped in a SOAP envelope.

In PRO every granted modality not listed in `unused_modalities` needs at least one passing pair.

Evidence comes from outside: it is read with a size limit and parsed with defusedxml, which
refuses DTDs, entity declarations and external references (XML bombs, XXE).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from provisioner.diagnostics import Finding, Severity
from provisioner.documents.scsp import INE_FIELD_NAMES, PLACEHOLDER, SCSP_NS, specific_data
from provisioner.loading.paths import TooLarge

MAX_EVIDENCE_BYTES = 1024 * 1024
REQUEST_SUFFIX = ".request.xml"
RESPONSE_SUFFIX = ".response.xml"
SUCCESS = "0"

# The result codes the Hèstia documentation names, to explain a failed test.
RESULT_MEANINGS = {
    "-1": "request invalid or not schema-valid",
    "-2": "not found",
    "-6": "Hèstia unavailable, retry later",
    "-9": "only the requesting ABSS's own data may be read",
}


def _found(code: str, message: str, severity: Severity) -> Finding:
    return Finding(severity, code, message)


def _at(index: int, code: str, message: str) -> Finding:
    """An error about the index-th entry of `homologation:`."""
    return Finding("error", code, message, where=("homologation", index))


class EvidenceProblem(Exception):
    """An evidence file that cannot be read as the XML it should be."""

    def __init__(self, message: str, code: str = "HOMOLOGATION-XML") -> None:
        super().__init__(message)
        self.code = code


# ----------------------------------------------------------------------------- reading XML


#: Reads a file with a size limit: OSError when it cannot, TooLarge (an OSError) past the limit.
Reader = Callable[[Path, int], bytes]


def read_xml(path: Path, read: Reader, limit: int = MAX_EVIDENCE_BYTES) -> Element:
    """The root element of an evidence file, read by `read` and parsed safely.

    Raises EvidenceProblem.
    """
    try:
        data = read(path, limit)
    except TooLarge:
        raise EvidenceProblem(
            f"is larger than {limit // 1024} KiB; an evidence file holds one request or one "
            "response as exchanged in PRE"
        ) from None
    except OSError as exc:
        raise EvidenceProblem(f"cannot be read: {exc.strerror}") from None
    return parse_xml(data)


def parse_xml(data: bytes) -> Element:
    """The root element of evidence bytes, parsed safely. Raises EvidenceProblem."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException, DTDForbidden  # type: ignore[import-untyped]
    from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

    try:
        root: Element = fromstring(data, forbid_dtd=True)
    except DTDForbidden:
        raise EvidenceProblem(
            "contains a DTD (<!DOCTYPE ...>), which is refused because it can expand entities "
            "or fetch external files; save the XML exactly as exchanged, without a DOCTYPE"
        ) from None
    except (DefusedXmlException, ValueError) as exc:  # entities, external references
        raise EvidenceProblem(
            f"is refused by the safe XML parser ({exc}); save the XML exactly as exchanged"
        ) from None
    except ParseError as exc:
        raise EvidenceProblem(
            f"is not well-formed XML ({exc}); attach the request or response as exchanged"
        ) from None
    return root


def _local(tag: Any) -> str:
    if not isinstance(tag, str):  # comments and processing instructions
        return ""
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _text(element: Element | None) -> str | None:
    if element is None:
        return None
    return (element.text or "").strip()


def _path(element: Element, *names: str) -> Element | None:
    current: Element | None = element
    for name in names:
        if current is None:
            return None
        current = current.find(f"{{{SCSP_NS}}}{name}")
    return current


def _find_local(root: Element, wanted: frozenset[str]) -> Iterator[Element]:
    """Elements whose local name, in lower case, is one of `wanted` (any namespace)."""
    for element in root.iter():
        if _local(element.tag).lower() in wanted:
            yield element


# ----------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class RequestFacts:
    modality: str | None  # Atributos/CodigoCertificado
    product: str | None
    authorised: str | None  # Atributos/DatosAutorizacion/IdentificadorSolicitante
    transmissions: tuple[tuple[str | None, str | None, tuple[str, ...]], ...] = field(
        default=()
    )  # per SolicitudTransmision: (requester, Transmision/CodigoCertificado, INE codes)
    placeholders: tuple[str, ...] = ()  # paths of values left as '?'
    empty: tuple[str, ...] = ()  # paths of required values that are empty or absent
    names: tuple[str, ...] = ()  # every NombreSolicitante: the entity's name, as sent


@dataclass(frozen=True)
class ResponseFacts:
    result: str | None
    description: str | None


def request_facts(root: Element) -> RequestFacts:
    """What a request says. Raises EvidenceProblem if it is not an SCSP Peticion."""
    found = next(_find_local(root, frozenset({"peticion"})), None)
    if found is None:
        raise EvidenceProblem(
            f"holds no SCSP Peticion (found <{_local(root.tag)}>); is it the request?",
            "HOMOLOGATION-NOT-REQUEST",
        )
    if _namespace(found.tag) != SCSP_NS:
        raise EvidenceProblem(
            f"has a Peticion outside the SCSP namespace {SCSP_NS} "
            f"(namespace {_namespace(found.tag) or 'none'}); attach the request as sent",
            "HOMOLOGATION-NOT-REQUEST",
        )
    transmissions = []
    empty: list[str] = []
    for path in _REQUIRED_ATTRIBUTES:
        if not _text(_path(found, *path)):
            empty.append("/".join(path))
    for request in found.iterfind(f"{{{SCSP_NS}}}Solicitudes/{{{SCSP_NS}}}SolicitudTransmision"):
        for path in _REQUIRED_GENERIC:
            if not _text(_path(request, "DatosGenericos", *path)):
                empty.append("DatosGenericos/" + "/".join(path))
        requester = _text(
            _path(request, "DatosGenericos", "Solicitante", "IdentificadorSolicitante")
        )
        modality = _text(_path(request, "DatosGenericos", "Transmision", "CodigoCertificado"))
        specific = _path(request, "DatosEspecificos")
        ines = (
            tuple(_text(e) or "" for e in _find_local(specific, INE_FIELD_NAMES))
            if specific is not None
            else ()
        )
        transmissions.append((requester, modality, ines))
        if specific is not None and modality:
            empty += _empty_specific(specific, modality)
    placeholders = tuple(
        _where(root, element)
        for element in root.iter()
        if isinstance(element.tag, str) and _text(element) == PLACEHOLDER and len(element) == 0
    )
    names = tuple(
        _text(e) or ""
        for e in found.iter()
        if _local(e.tag) == "NombreSolicitante" and _namespace(e.tag) == SCSP_NS
    )
    return RequestFacts(
        modality=_text(_path(found, "Atributos", "CodigoCertificado")),
        product=_text(_path(found, "Atributos", "CodigoProducto")),
        authorised=_text(
            _path(found, "Atributos", "DatosAutorizacion", "IdentificadorSolicitante")
        ),
        transmissions=tuple(transmissions),
        placeholders=placeholders,
        empty=tuple(dict.fromkeys(empty)),
        names=names,
    )


# Values every test request carries: without them Hèstia refuses it (result -1).
_REQUIRED_ATTRIBUTES = (
    ("Atributos", "IdPeticion"),
    ("Atributos", "TimeStamp"),
    ("Atributos", "DatosAutorizacion", "NombreSolicitante"),
    ("Atributos", "DatosAutorizacion", "Finalidad"),
)
_REQUIRED_GENERIC = (
    ("Solicitante", "NombreSolicitante"),
    ("Solicitante", "Finalidad"),
    ("Transmision", "IdSolicitud"),
)


def _empty_specific(specific: Element, modality: str) -> list[str]:
    """The operation's own inputs that are empty (appointments: ids, or both dates)."""
    shape = specific_data(modality)
    values = {_local(e.tag): _text(e) or "" for e in specific.iter()}
    wanted = [name for name, default in shape.fields if default == PLACEHOLDER]
    if modality == "HESTIA_CITES":
        if values.get("IdCites") or (values.get("DataInici") and values.get("DataFi")):
            return []
        return ["DatosEspecificos/IdCites (or DataInici and DataFi)"]
    return [f"DatosEspecificos/{name}" for name in wanted if not values.get(name)]


def _where(root: Element, target: Element) -> str:
    """The local-name path of target under root, for a message."""
    parents = {child: parent for parent in root.iter() for child in parent}
    names = []
    current: Element | None = target
    while current is not None and current is not root:
        names.append(_local(current.tag))
        current = parents.get(current)
    return "/".join(reversed(names))


def response_facts(root: Element) -> ResponseFacts:
    """The result code and description of a response. Raises EvidenceProblem if it has none."""
    codes = list(_find_local(root, frozenset({"codiresultat"})))
    # A response may carry several results (one per transmission): any failure fails it.
    code = next((c for c in codes if _text(c) != "0"), codes[0] if codes else None)
    if code is None:
        if next(_find_local(root, frozenset({"peticion"})), None) is not None:
            raise EvidenceProblem(
                "is a request (Peticion), not a response", "HOMOLOGATION-NOT-RESPONSE"
            )
        raise EvidenceProblem(
            f"has no result code (codiResultat/CodiResultat) in <{_local(root.tag)}>; "
            "attach Hèstia's response to the paired request",
            "HOMOLOGATION-NOT-RESPONSE",
        )
    description = next(_find_local(root, frozenset({"descripcio"})), None)
    return ResponseFacts(_text(code), _text(description) or None)


# ----------------------------------------------------------------------------- the checks


@dataclass(frozen=True)
class Expectations:
    entity_ine10: str
    aoc_ine10: str
    product: str
    granted: tuple[str, ...]  # modalities the integration is granted
    unused: tuple[str, ...] = ()
    required: bool = False  # True in PRO: every used modality needs a passing pair
    entity_name: str | None = None  # every NombreSolicitante names the entity


def check_request(facts: RequestFacts, want: Expectations) -> list[Finding]:
    """Findings (messages without the file name) for one request; none for a valid PRE test."""
    out: list[Finding] = []
    if not facts.modality:
        out.append(_found("HOMOLOGATION-MODALITY", "has no Atributos/CodigoCertificado", "error"))
    elif facts.modality not in want.granted:
        out.append(
            _found(
                "HOMOLOGATION-MODALITY",
                f"tests modality {facts.modality}, which this integration is not granted "
                f"(granted: {', '.join(want.granted) or 'none'})",
                "error",
            )
        )
    if facts.product != want.product:
        out.append(
            _found(
                "HOMOLOGATION-PRODUCT",
                f"has CodigoProducto {facts.product or '(none)'}, not {want.product}",
                "error",
            )
        )
    authorised = facts.authorised or ""
    if authorised != want.entity_ine10:
        if authorised.isdigit() and authorised.zfill(10) == want.entity_ine10:
            out.append(
                _found(
                    "HOMOLOGATION-INE10-LEADING-ZERO",
                    f"DatosAutorizacion carries {authorised}, the entity's INE10 without its "
                    f"leading zero; accepted, but the integrator should send {want.entity_ine10}",
                    "warning",
                )
            )
        else:
            hint = (
                ": AOC's INE10 goes in DatosGenericos/Solicitante, while DatosAutorizacion "
                "carries the entity's own"
                if authorised == want.aoc_ine10
                else "; the tests must carry the entity's own data"
            )
            out.append(
                _found(
                    "HOMOLOGATION-ENTITY",
                    f"was not made for this entity: DatosAutorizacion/IdentificadorSolicitante "
                    f"is {authorised or '(none)'}, expected {want.entity_ine10}{hint}",
                    "error",
                )
            )
    if not facts.transmissions:
        out.append(
            _found("HOMOLOGATION-NOT-REQUEST", "has no Solicitudes/SolicitudTransmision", "error")
        )
    for where in facts.placeholders:
        out.append(
            _found(
                "HOMOLOGATION-PLACEHOLDER",
                f"still holds '?' in {where}: the request was not filled in, so it cannot be "
                "the one sent; attach the request exactly as sent in PRE",
                "error",
            )
        )
    for where in facts.empty:
        out.append(
            _found(
                "HOMOLOGATION-EMPTY",
                f"has no value in {where}; attach a complete request, exactly as sent in PRE",
                "error",
            )
        )
    if want.entity_name is not None:
        for name in dict.fromkeys(facts.names):
            if name and _folded(name) != _folded(want.entity_name):
                out.append(
                    _found(
                        "HOMOLOGATION-ENTITY-NAME",
                        f"names {name!r} as NombreSolicitante, not the entity "
                        f"{want.entity_name!r}; the tests must carry the entity's own data",
                        "error",
                    )
                )
    for requester, modality, ines in facts.transmissions:
        if requester != want.aoc_ine10:
            hint = (
                " (the entity's own INE10 belongs in DatosAutorizacion)"
                if requester == want.entity_ine10
                else ""
            )
            out.append(
                _found(
                    "HOMOLOGATION-REQUESTER",
                    f"DatosGenericos/Solicitante/IdentificadorSolicitante is "
                    f"{requester or '(none)'}; in PRE it must be AOC's INE10 {want.aoc_ine10}"
                    f"{hint}",
                    "error",
                )
            )
        if modality is not None and modality != facts.modality:
            out.append(
                _found(
                    "HOMOLOGATION-MODALITY",
                    f"Transmision/CodigoCertificado {modality or '(none)'} differs from "
                    f"Atributos/CodigoCertificado {facts.modality or '(none)'}",
                    "error",
                )
            )
        if not ines:
            out.append(
                _found(
                    "HOMOLOGATION-SPECIFIC-INE",
                    "has no INE code (codiINE/CodINE) in DatosEspecificos; in PRE it carries "
                    f"AOC's INE10 {want.aoc_ine10}",
                    "error",
                )
            )
        for ine in ines:
            if ine != want.aoc_ine10:
                out.append(
                    _found(
                        "HOMOLOGATION-SPECIFIC-INE",
                        f"the INE code in DatosEspecificos is {ine or '(empty)'}; in PRE it "
                        f"must be AOC's INE10 {want.aoc_ine10}",
                        "error",
                    )
                )
    return out


def _folded(text: str) -> str:
    from provisioner.catalog import fold

    return fold(text)


def _result_problem(facts: ResponseFacts) -> str | None:
    if facts.result == SUCCESS:
        return None
    meaning = RESULT_MEANINGS.get(facts.result or "", "")
    said = f": {facts.description}" if facts.description else ""
    return (
        f"reports result code {facts.result or '(empty)'}"
        + (f" ({meaning})" if meaning else "")
        + f"{said}; the test failed: repeat it in PRE until Hèstia answers 0"
    )


def _normal(written: str) -> str:
    return posixpath.normpath(written.strip())


def check_evidence(
    evidence: Sequence[tuple[str, Path | None]], want: Expectations, read: Reader
) -> list[Finding]:
    """Every finding about the listed evidence.

    `evidence` is the `homologation:` list as (written path, usable file or None); None means
    a path rule already refused the path, so it is neither read nor reported again. `read`
    reads a usable file (the run's RepositoryFiles.read).
    """
    findings: list[Finding] = []
    requests: dict[str, int] = {}
    responses: dict[str, int] = {}
    for i, (written, _) in enumerate(evidence):
        name = _normal(written)
        if name.endswith(REQUEST_SUFFIX):
            table, key = requests, name[: -len(REQUEST_SUFFIX)]
        elif name.endswith(RESPONSE_SUFFIX):
            table, key = responses, name[: -len(RESPONSE_SUFFIX)]
        else:
            findings.append(
                _at(
                    i,
                    "HOMOLOGATION-NAME",
                    f"{written!r}: name evidence files X{REQUEST_SUFFIX} (the request) and "
                    f"X{RESPONSE_SUFFIX} (its response) so they pair",
                )
            )
            continue
        if key in table:
            findings.append(
                _at(i, "HOMOLOGATION-DUPLICATE", f"{written!r} is listed twice; remove one")
            )
            continue
        table[key] = i

    passed: set[str] = set()
    for key, i in requests.items():
        written, path = evidence[i]
        j = responses.get(key)
        if j is None:
            findings.append(
                _at(
                    i,
                    "HOMOLOGATION-UNPAIRED",
                    f"{written!r} has no response: add {key}{RESPONSE_SUFFIX} (Hèstia's answer "
                    "to this request) to the folder and to homologation",
                )
            )
        ok = False
        modality: str | None = None
        if path is not None:
            try:
                facts = request_facts(read_xml(path, read))
            except EvidenceProblem as exc:
                findings.append(_at(i, exc.code, f"{written!r} {exc}"))
            else:
                problems = check_request(facts, want)
                where = ("homologation", i)
                findings += [
                    replace(f, message=f"{written!r} {f.message}", where=where) for f in problems
                ]
                ok = not any(f.is_error for f in problems)
                modality = facts.modality
        if j is None:
            continue
        response_ok = False
        r_written, r_path = evidence[j]
        if r_path is not None:
            try:
                result = response_facts(read_xml(r_path, read))
            except EvidenceProblem as exc:
                findings.append(_at(j, exc.code, f"{r_written!r} {exc}"))
            else:
                problem = _result_problem(result)
                if problem:
                    findings.append(_at(j, "HOMOLOGATION-RESULT", f"{r_written!r} {problem}"))
                response_ok = problem is None
        if ok and response_ok and modality:
            passed.add(modality)

    for key, j in responses.items():
        if key not in requests:
            findings.append(
                _at(
                    j,
                    "HOMOLOGATION-UNPAIRED",
                    f"{evidence[j][0]!r} answers no listed request: add {key}{REQUEST_SUFFIX} "
                    "to homologation, or remove this response",
                )
            )

    if want.required:
        for modality in want.granted:
            if modality in want.unused or modality in passed:
                continue
            findings.append(
                Finding(
                    "error",
                    "HOMOLOGATION-MISSING",
                    f"PRO needs a successful PRE test of {modality} for this entity: add "
                    f"evidence/{modality}{REQUEST_SUFFIX} and {modality}{RESPONSE_SUFFIX} to "
                    f"homologation (`hestia-provisioner sample-request FILE --modality "
                    f"{modality}` prints a request to start from), or list {modality} in "
                    "unused_modalities if the integrator does not use it",
                )
            )
    return findings
