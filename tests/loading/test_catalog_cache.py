"""The catalog kept between runs: the same catalog and findings as parsing, while the bytes hold.

load_catalog keeps what it read (the models dumped to JSON, and the findings) keyed by the three
files' bytes; the next run rebuilds the models without validating them again. A kept state that
does not match, or does not have the expected shape, is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from provisioner.catalog import CATALOG_FILES, catalog_key, load_catalog
from provisioner.cli.common import EXIT_OK
from provisioner.loading.sources import integration_files, load_sources
from provisioner.model import SCHEMA_MODELS, Integration, trusted
from provisioner.runtime.results import CATALOG_CACHE
from tests.conftest import ROOT, edit

SIGNER = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3c2FtcGxlLW5vdC1hLXJlYWwta2V5LWZvci10ZXN0cw ci"


class Memory:
    """A CatalogMemory in memory; what it keeps goes through JSON, as the file does."""

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        self.state = state
        self.saves = 0

    def load(self) -> Mapping[str, Any] | None:
        return self.state

    def save(self, state: Mapping[str, Any]) -> None:
        self.saves += 1
        self.state = json.loads(json.dumps(state))


def _no_parsing_of_the_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the catalog was parsed although it was kept")

    monkeypatch.setattr("provisioner.catalog._parse_catalog", refuse)


@pytest.fixture
def full_catalog(empty_repo: Path) -> Path:
    """The shipped catalog with every optional part present (signers, a dependent's NIF...)."""
    service = empty_repo / "catalog" / "service.yaml"
    service.write_text(
        service.read_text(encoding="utf-8")
        + f'ledger_signers:\n  - {{name: apply@hestia, key: "{SIGNER}"}}\n',
        encoding="utf-8",
    )
    edit(
        empty_repo,
        "catalog/entities.yaml",
        'name: "Ajuntament de Barruera", abss',
        'name: "Ajuntament de Barruera", nif: P2502900J, article: "", abss',
    )
    return empty_repo


def test_a_kept_catalog_is_the_parsed_one(
    full_catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed, findings = load_catalog(full_catalog)
    assert parsed is not None and not findings
    assert parsed.service.ledger_signers and parsed.register.dependent[1].nif == "P2502900J"
    memory = Memory()
    assert load_catalog(full_catalog, memory) == (parsed, findings)
    assert memory.saves == 1
    _no_parsing_of_the_catalog(monkeypatch)
    kept, again = load_catalog(full_catalog, memory)
    assert (kept, again) == (parsed, findings)
    assert kept is not None
    assert kept.allowed_networks == parsed.allowed_networks
    assert kept.service.form_fields == parsed.service.form_fields
    assert kept.modality_codes == parsed.modality_codes
    assert memory.saves == 1  # nothing changed: nothing written


def test_a_broken_catalog_s_findings_are_kept_too(
    empty_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit(empty_repo, "catalog/entities.yaml", "nif: P0801900B", "nif: P0801900C")
    memory = Memory()
    catalog, findings = load_catalog(empty_repo, memory)
    assert catalog is None
    assert [(d.file, d.code) for d in findings] == [("catalog/entities.yaml", "CATALOG-NIF")]
    _no_parsing_of_the_catalog(monkeypatch)
    assert load_catalog(empty_repo, memory) == (None, findings)


@pytest.mark.parametrize("name", CATALOG_FILES)
def test_a_changed_byte_in_any_file_reads_the_catalog_again(empty_repo: Path, name: str) -> None:
    memory = Memory()
    before, _ = load_catalog(empty_repo, memory)
    path = empty_repo / "catalog" / name
    path.write_text(path.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
    assert load_catalog(empty_repo, memory) == (before, [])
    assert memory.saves == 2
    if name == "entities.yaml":  # and what changed is seen
        edit(empty_repo, "catalog/entities.yaml", "Ajuntament de Vic", "Ajuntament de Vic (Osona)")
        after, _ = load_catalog(empty_repo, memory)
        assert after is not None
        assert "Ajuntament de Vic (Osona)" in {e.name for e in after.register.eligible}


_finding = {"file": "catalog/service.yaml", "line": 1, "column": 1, "code": "X", "message": "m"}


@pytest.mark.parametrize(
    "damage",
    [
        lambda state: {**state, "catalog": {"service": 5}},
        lambda state: {**state, "diags": [{"severity": "error"}]},
        lambda state: {**state, "diags": [{**_finding, "severity": "fatal"}]},
        lambda state: {**state, "diags": [{**_finding, "line": "1"}]},
        lambda state: {**state, "catalog": {**state["catalog"], "ip_policy": {"allow": [{}]}}},
        lambda state: {"key": state["key"]},
    ],
)
def test_a_damaged_state_is_ignored(empty_repo: Path, damage: Any) -> None:
    memory = Memory()
    expected = load_catalog(empty_repo, memory)
    assert memory.state is not None
    memory.state = damage(memory.state)
    assert load_catalog(empty_repo, memory) == expected
    assert memory.saves == 2  # and replaced


def test_an_unreadable_file_is_reported_and_nothing_is_kept(empty_repo: Path) -> None:
    (empty_repo / "catalog" / "ip-policy.yaml").unlink()
    memory = Memory()
    catalog, findings = load_catalog(empty_repo, memory)
    assert catalog is None
    assert [(d.file, d.code) for d in findings] == [("catalog/ip-policy.yaml", "FILE-UNREADABLE")]
    assert memory.saves == 0


def test_the_key_covers_each_file_s_bytes() -> None:
    raws = {name: (ROOT / "catalog" / name).read_bytes() for name in CATALOG_FILES}
    keys = {catalog_key(raws)}
    for name in CATALOG_FILES:
        keys.add(catalog_key({**raws, name: raws[name] + b"\n"}))
    assert len(keys) == 1 + len(CATALOG_FILES)


@pytest.mark.parametrize("name", sorted(SCHEMA_MODELS))
def test_every_model_can_be_rebuilt(name: str) -> None:
    model = SCHEMA_MODELS[name]
    assert trusted(model, {}) == model.model_construct()  # no union of models it cannot rebuild


def test_an_integration_is_rebuilt_from_its_dump(sample_repo: Path) -> None:
    sources, _ = load_sources(sample_repo, integration_files(sample_repo))
    assert sources
    for src in sources:
        dump = json.loads(json.dumps(src.integration.model_dump()))
        assert trusted(Integration, dump) == src.integration


def test_validate_keeps_the_catalog_under_provisioner_cache(empty_repo: Path, run_cli: Any) -> None:
    result = run_cli(["validate", "--repo", str(empty_repo), "--no-cache"])
    assert result.exit_code == EXIT_OK
    assert not (empty_repo / CATALOG_CACHE).exists()
    assert run_cli(["validate", "--repo", str(empty_repo)]).output == result.output
    assert (empty_repo / CATALOG_CACHE).is_file()
    assert run_cli(["validate", "--repo", str(empty_repo)]).output == result.output


@pytest.mark.parametrize(
    "args",
    [
        ["entity", "Castelldefels"],
        ["message", "pre-ready", "integrations/0805690004/solucions-socials-digitals.yaml"],
    ],
)
def test_the_desk_commands_use_the_kept_catalog(
    sample_repo: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(sample_repo)
    monkeypatch.setenv("HESTIA_PROVISIONER_NO_CACHE", "1")
    uncached = run_cli(args)
    assert not (sample_repo / CATALOG_CACHE).exists()
    monkeypatch.delenv("HESTIA_PROVISIONER_NO_CACHE")
    assert run_cli(args).output == uncached.output
    assert (sample_repo / CATALOG_CACHE).is_file()
    _no_parsing_of_the_catalog(monkeypatch)
    again = run_cli(args)
    assert (again.exit_code, again.output) == (uncached.exit_code, uncached.output)
