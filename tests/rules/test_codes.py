"""The registry of codes: every code declared once, documented in the README, and produced.

A code is produced by a fixture in tests/fixtures/integrations/ (its `# expect:` header) or, when
a YAML file cannot produce it, by the named test in TESTED_ELSEWHERE.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from provisioner.diagnostics import CODES, Code, DuplicateCode, Finding, register_codes
from provisioner.formats import Formats
from provisioner.loading.sources import load_sources
from provisioner.plan.desired import gather
from provisioner.rules import RuleContext, all_codes, file_rule
from provisioner.rules.reference import README_BEGIN, readme_with_codes
from provisioner.rules.run import validate
from provisioner.source import Source
from tests.conftest import ROOT, edit
from tests.rules.test_fixtures import FIXTURES, SAMPLE, header

# Codes a fixture cannot produce, and the test that does. Why not a fixture:
#   documents (CDA-, FORM-, HOMOLOGATION-, PATH-UNREADABLE): made at test time with real
#     cryptography, or need files a fixture cannot bring; YAML-ENCODING/-EMPTY/-TOO-*, FILE-:
#     a fixture must be UTF-8 text with a header; CATALOG-: a broken catalog, not an integration;
#     set rules (DUPLICATE-, FOLDER-DUPLICATE, IP-CLAIMED-TWICE, LAYOUT-FOLDER): two files;
#     PLAN-, PRO-, SAFETY, LEDGER-: a ledger in git.
TESTED_ELSEWHERE = {
    "CATALOG-LEDGER-SIGNER": "tests/apply/test_ledger_trust.py::test_ledger_signers_must_be_usable",
    "FILE-OUTSIDE": "tests/apply/test_leftovers.py::test_a_yaml_file_linked_outside_the_repository_is_refused",
    "FORM-FIELD-MISMATCH": "tests/documents/test_form_binding.py::test_fields_of_the_signed_form_must_match_the_file",
    "FORM-FIELD-MISSING": "tests/documents/test_form_binding.py::test_a_form_without_the_declared_fields_is_refused",
    "FORM-REUSED": "tests/documents/test_form_binding.py::test_one_form_for_two_integrations_is_refused",
    "FORM-TOO-MANY-REVISIONS": "tests/documents/test_form_binding.py::test_a_form_with_too_many_revisions_is_refused_quickly",
    "TEXT-BIDI": "tests/rules/test_text.py::test_document_paths_and_keys_are_checked",
    "TEXT-CONTROL": "tests/rules/test_text.py::test_free_text_may_hold_line_breaks_but_not_controls",
    "TEXT-INVISIBLE": "tests/rules/test_text.py::test_document_paths_and_keys_are_checked",
    "TEXT-MIXED-SCRIPT": "tests/rules/test_text.py::test_entity_names_in_the_register_are_checked_too",
    "CATALOG-ABSS-UNKNOWN": "tests/cli/test_validate.py::test_broken_catalog_is_reported_with_positions",
    "CATALOG-NIF": "tests/cli/test_validate.py::test_broken_catalog_is_reported_with_positions",
    "CATALOG-CIDR": "tests/rules/test_codes.py::test_catalog_problems_have_codes",
    "CATALOG-DUPLICATE": "tests/rules/test_codes.py::test_catalog_problems_have_codes",
    "CATALOG-INE10": "tests/rules/test_codes.py::test_catalog_problems_have_codes",
    "CATALOG-INVALID": "tests/rules/test_codes.py::test_an_unloadable_catalog_is_one_problem",
    "CATALOG-FOLDER-PATTERN": "tests/test_review_findings.py::test_an_unusable_folder_pattern_is_a_catalog_problem",
    "CATALOG-SHAREPOINT": "tests/rules/test_sharepoint_names.py::test_an_unusable_sharepoint_target_is_a_catalog_problem",
    "CATALOG-TRUST-ROOT": "tests/documents/test_documents.py::test_trusted_roots_problems_are_reported_on_the_catalog",
    "CDA-CA": "tests/documents/test_documents.py::test_each_bad_certificate_is_refused",
    "CDA-EXPIRED": "tests/documents/test_documents.py::test_each_bad_certificate_is_refused",
    "CDA-KEY-USAGE": "tests/documents/test_documents.py::test_each_bad_certificate_is_refused",
    "CDA-MULTIPLE": "tests/documents/test_documents.py::test_each_bad_certificate_is_refused",
    "CDA-NOT-YET-VALID": "tests/documents/test_documents.py::test_each_bad_certificate_is_refused",
    "CDA-WEAK-HASH": "tests/documents/test_documents.py::test_each_bad_certificate_is_refused",
    "CDA-WEAK-KEY": "tests/documents/test_documents.py::test_each_bad_certificate_is_refused",
    "CDA-DUPLICATE": "tests/documents/test_documents.py::test_one_certificate_for_two_providers_is_an_error",
    "CDA-EXPIRING": "tests/apply/test_plan_apply.py::test_expiry_warned_by_validation_is_not_repeated",
    "CDA-NOT-CERTIFICATE": "tests/documents/test_documents.py::test_a_huge_file_is_not_read",
    "CDA-PRIVATE-KEY": "tests/documents/test_documents.py::test_a_private_key_is_refused_and_called_exposed",
    "CDA-UNTRUSTED-ISSUER": "tests/documents/test_documents.py::test_no_trusted_roots_means_no_certificate_is_trusted",
    "DUPLICATE-FP": "tests/cli/test_validate.py::test_same_fp_twice_and_same_folder",
    "DUPLICATE-INTEGRATION": "tests/cli/test_validate.py::test_same_entity_and_provider_twice",
    "FILE-UNREADABLE": "tests/test_review_findings.py::test_a_fifo_named_yaml_is_refused_without_hanging",
    "FOLDER-DUPLICATE": "tests/cli/test_validate.py::test_same_fp_twice_and_same_folder",
    "FORM-DATA-APPENDED": "tests/documents/test_documents.py::test_each_bad_form_is_refused",
    "FORM-ENCRYPTED": "tests/documents/test_documents.py::test_each_bad_form_is_refused",
    "FORM-MODIFIED": "tests/documents/test_documents.py::test_each_bad_form_is_refused",
    "FORM-NOT-PDF": "tests/documents/test_documents.py::test_many_forms_are_checked_in_a_pool_with_the_same_verdicts",
    "FORM-SIGNATURE-BROKEN": "tests/documents/test_documents.py::test_a_signature_that_cannot_be_parsed_is_broken",
    "FORM-SIGNER-NOT-ENTITY": "tests/documents/test_documents.py::test_verdicts_are_cached_and_a_corrupt_cache_is_a_miss",
    "FORM-SIGNER-UNTRUSTED": "tests/documents/test_documents.py::test_no_trusted_roots_means_no_certificate_is_trusted",
    "FORM-UNREADABLE": "tests/documents/test_documents.py::test_a_huge_file_is_not_read",
    "FORM-UNSIGNED": "tests/documents/test_documents.py::test_many_forms_are_checked_in_a_pool_with_the_same_verdicts",
    "HOMOLOGATION-DUPLICATE": "tests/documents/test_evidence.py::test_pairing_by_name",
    "HOMOLOGATION-EMPTY": "tests/desk/test_desk.py::test_unfilled_or_foreign_evidence_is_refused",
    "HOMOLOGATION-ENTITY-NAME": "tests/desk/test_desk.py::test_unfilled_or_foreign_evidence_is_refused",
    "HOMOLOGATION-PLACEHOLDER": "tests/desk/test_desk.py::test_unfilled_or_foreign_evidence_is_refused",
    "HOMOLOGATION-ENTITY": "tests/documents/test_evidence.py::test_request_for_another_entity_blocks_pro_and_names_the_modality",
    "HOMOLOGATION-INE10-LEADING-ZERO": "tests/documents/test_evidence.py::test_leading_zero_lost_is_a_warning_only",
    "HOMOLOGATION-MISSING": "tests/documents/test_evidence.py::test_request_for_another_entity_blocks_pro_and_names_the_modality",
    "HOMOLOGATION-MODALITY": "tests/documents/test_evidence.py::test_modality_not_authorised_is_refused",
    "HOMOLOGATION-NAME": "tests/documents/test_evidence.py::test_pairing_by_name",
    "HOMOLOGATION-NOT-REQUEST": "tests/documents/test_evidence.py::test_swapped_or_foreign_documents_are_named",
    "HOMOLOGATION-NOT-RESPONSE": "tests/documents/test_evidence.py::test_swapped_or_foreign_documents_are_named",
    "HOMOLOGATION-PRODUCT": "tests/documents/test_evidence.py::test_transmission_and_product_must_agree",
    "HOMOLOGATION-REQUESTER": "tests/documents/test_evidence.py::test_entity_ine10_as_requester_is_refused",
    "HOMOLOGATION-RESULT": "tests/desk/test_desk.py::test_checked_messages_need_a_valid_file",
    "HOMOLOGATION-SPECIFIC-INE": "tests/documents/test_evidence.py::test_wrong_ine_code_in_specific_data_is_refused",
    "HOMOLOGATION-UNPAIRED": "tests/documents/test_evidence.py::test_pairing_by_name",
    "HOMOLOGATION-XML": "tests/documents/test_evidence.py::test_xml_bomb_is_refused",
    "IP-CLAIMED-TWICE": "tests/cli/test_validate.py::test_same_ip_claimed_by_two_providers",
    "LAYOUT-FOLDER": "tests/cli/test_validate.py::test_same_provider_may_reuse_its_ips_for_another_entity",
    "LEDGER-RECORDS-UNREADABLE": "tests/history/test_history.py::test_ledger_events_and_unreadable_records",
    "PATH-UNREADABLE": "tests/test_review_findings.py::test_a_nul_character_in_a_document_path_is_a_path_problem",
    "PLAN-DOCUMENT-CHANGED": "tests/apply/test_plan_apply.py::test_document_changed_under_the_same_name_is_an_error",
    "PLAN-DOCUMENTS": "tests/rules/test_codes.py::test_planning_problems_with_documents",
    "PLAN-SAME-NAME": "tests/rules/test_codes.py::test_planning_problems_with_documents",
    "PRO-NOT-IN-PRE": "tests/apply/test_plan_apply.py::test_pro_refuses_what_pre_never_applied",
    "PRO-PRE-OUTDATED": "tests/apply/test_plan_apply.py::test_pro_refuses_a_change_not_applied_in_pre",
    "SAFETY": "tests/apply/test_plan_apply.py::test_safety_threshold_refuses_without_force",
    "YAML-ALIAS": "tests/loading/test_strict_yaml.py::test_refusals",
    "YAML-COMPLEX-KEY": "tests/loading/test_strict_yaml.py::test_refusals",
    "YAML-EMPTY": "tests/loading/test_strict_yaml.py::test_refusals",
    "YAML-ENCODING": "tests/loading/test_strict_yaml.py::test_non_utf8_names_the_line_of_the_bad_byte",
    "YAML-TOO-DEEP": "tests/loading/test_strict_yaml.py::test_deep_nesting_is_refused",
    "YAML-TOO-LARGE": "tests/loading/test_strict_yaml.py::test_file_over_one_mebibyte_is_refused_without_parsing",
}


def _fixture_codes() -> set[str]:
    return {c for f in FIXTURES for c in (header(f, "expect") or "").split() if c != "none"}


def _test_source(target: str) -> str:
    """The source of the named test function, decorators and module-level cases included."""
    module, name = target.split("::")
    source = (ROOT / module).read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body), target
    return source


def test_every_code_has_a_fixture_or_a_named_test() -> None:
    codes = {c.code for c in all_codes()}
    by_fixture = _fixture_codes()
    assert by_fixture <= codes, f"fixtures expect undeclared codes: {sorted(by_fixture - codes)}"
    assert set(TESTED_ELSEWHERE) <= codes, sorted(set(TESTED_ELSEWHERE) - codes)
    uncovered = codes - by_fixture - set(TESTED_ELSEWHERE)
    assert not uncovered, f"no fixture or named test produces {sorted(uncovered)}"
    both = by_fixture & set(TESTED_ELSEWHERE)
    assert not both, f"{sorted(both)} have a fixture: remove them from TESTED_ELSEWHERE"
    for code, target in TESTED_ELSEWHERE.items():
        assert re.search(rf'"{re.escape(code)}[" :]', _test_source(target)), (code, target)


def test_every_code_in_the_source_is_declared() -> None:
    """A code written in provisioner/ but never declared would be missing from `rules`."""
    declared = {c.code for c in all_codes()}
    pattern = re.compile(r'"([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+)"')
    written: set[str] = set()
    for path in (ROOT / "provisioner").rglob("*.py"):
        if "demo" not in path.parts:
            written |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert written - declared == set()


def test_the_readme_lists_every_code(run_cli: Callable[..., Result]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_with_codes(readme, all_codes()) == readme, "README is stale: run `make readme`"
    table = run_cli(["rules", "--format", "markdown"]).output
    assert f"{README_BEGIN}\n{table}" in readme


def test_rules_lists_every_code_in_each_format(run_cli: Callable[..., Result]) -> None:
    codes = all_codes()
    data = json.loads(run_cli(["rules", "--format", "json"]).output)
    assert [d["code"] for d in data] == [c.code for c in codes]
    assert all(d["severity"] in ("error", "warning") and d["summary"] and d["fix"] for d in data)
    text = run_cli(["rules"])
    assert text.exit_code == 0
    assert "CDA-EXPIRING (warning, cda_certificate):" in text.output
    assert text.output.rstrip().endswith(f"{len(codes)} code(s)")


def test_a_code_declared_twice_is_refused_at_import() -> None:
    before = dict(CODES)
    with pytest.raises(DuplicateCode, match="IP-INVALID is declared by a_new_rule and already"):

        @file_rule(Code("IP-INVALID", "error", "again", "no"))
        def a_new_rule(src: Source, ctx: RuleContext) -> list[Finding]:  # pragma: no cover
            return []

    assert before == CODES
    with pytest.raises(DuplicateCode):
        register_codes("plan", Code("SAFETY", "warning", "again", "no"))


def test_a_format_registered_twice_is_refused() -> None:
    formats: Formats[Callable[[int], str]] = Formats("numbers")
    formats.register("text")(str)
    assert formats.names == ("text",) and "text" in formats and formats["text"](1) == "1"
    with pytest.raises(ValueError, match="'text' is registered twice"):
        formats.register("text")(repr)


def test_format_choices_come_from_the_registry(run_cli: Callable[..., Result]) -> None:
    from provisioner.plan.render import FORMATS

    help_text = run_cli(["plan", "--help"]).output
    assert "[" + "|".join(FORMATS.names) + "]" in help_text
    refused = run_cli(["certs", "--format", "nope"])
    assert refused.exit_code == 2 and "'nope' is not one of" in refused.output


def test_a_readme_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        readme_with_codes("# no table here\n", all_codes())


def test_catalog_problems_have_codes(empty_repo: Path) -> None:
    edit(empty_repo, "catalog/entities.yaml", 'ine10: "0829890005"', 'ine10: "0805690004"')
    edit(empty_repo, "catalog/entities.yaml", 'ine10: "0810130006"', 'ine10: "081013000"')
    edit(empty_repo, "catalog/ip-policy.yaml", "cidr: 192.0.2.0/24", "cidr: 192.0.2.1/33")
    codes = {(d.file, d.code) for d in validate(empty_repo).diagnostics}
    assert ("catalog/entities.yaml", "CATALOG-DUPLICATE") in codes
    assert ("catalog/entities.yaml", "CATALOG-INE10") in codes
    assert ("catalog/ip-policy.yaml", "CATALOG-CIDR") in codes


def test_an_unloadable_catalog_is_one_problem(
    empty_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A catalog that fails to load always says why; should a future loader fail silently,
    # validate must still refuse to run the rules without one.
    monkeypatch.setattr("provisioner.catalog.load_catalog", lambda root, memory=None: (None, []))
    report = validate(empty_repo)
    assert [(d.file, d.code) for d in report.diagnostics] == [("catalog", "CATALOG-INVALID")]


def test_planning_problems_with_documents(sample_repo: Path) -> None:
    sources, _ = load_sources(sample_repo, [sample_repo / SAMPLE])
    assert not gather(sources)[1]
    folder = (sample_repo / SAMPLE).parent
    form = next(p for p in folder.rglob("*.pdf"))
    cda = next(p for p in folder.rglob("*.pem"))
    (folder / "certs" / "same.pdf").write_bytes(cda.read_bytes())
    (folder / "forms" / "same.pdf").write_bytes(form.read_bytes())
    edit(sample_repo, SAMPLE, cda.relative_to(folder).as_posix(), "certs/same.pdf")
    edit(sample_repo, SAMPLE, form.relative_to(folder).as_posix(), "forms/same.pdf")
    sources, _ = load_sources(sample_repo, [sample_repo / SAMPLE])
    assert [d.code for d in gather(sources)[1]] == ["PLAN-SAME-NAME"]
    (folder / "certs" / "same.pdf").unlink()
    assert [d.code for d in gather(sources)[1]] == ["PLAN-DOCUMENTS"]
