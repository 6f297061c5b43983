"""plan and apply on real git repositories built from the shipped samples.

Each test copies the catalog and the samples to a temporary folder, makes it a git repository
(gitpython), then plans and applies through the command line or the applying module, and checks
what a user would see: the store's files, app-<ENV>.json, the ledger branch and the exit codes.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import git
import pytest
from click.testing import CliRunner, Result

from provisioner.apply import pipeline as applying
from provisioner.apply.ledger import LedgerMoved, read_ledger
from provisioner.apply.store import (
    AlreadyExistsError,
    ConflictError,
    LocalStore,
    StoreError,
    ensure_file,
)
from provisioner.cli import cli
from provisioner.diagnostics import Finding
from provisioner.documents.identity import identity_from_bytes
from provisioner.plan.desired import canonical_json
from provisioner.plan.diff import make_plan
from provisioner.plan.ledger_format import LedgerView
from provisioner.plan.render import render_json, render_markdown, render_text
from tests.conftest import NOW, first_apply, without_form_fields
from tests.conftest import edit as edit_first

CASTELLDEFELS = "0805690004"
ALTA_RIBAGORCA = "8100560009"
GESTIO = f"integrations/{CASTELLDEFELS}/gestio-municipal-oberta.yaml"
SOLUCIONS = f"integrations/{CASTELLDEFELS}/solucions-socials-digitals.yaml"
PIRINEU = f"integrations/{ALTA_RIBAGORCA}/serveis-informatics-pirineu.yaml"
BASE = ("SUPORT_TECNIC", "SERVEIS", "Hèstia", "01 Integració", "99 Integracions")
BOT = git.Actor("Test", "test@example.invalid")


# ----------------------------------------------------------------------------- helpers


def commit_all(repo_dir: Path, message: str = "change") -> str:
    repo = git.Repo(repo_dir)
    repo.git.add("-A")
    return str(repo.index.commit(message, author=BOT, committer=BOT).hexsha)


@pytest.fixture
def repo(sample_repo: Path) -> Path:
    """The samples in a git repository with one commit; build/ and .provisioner/ ignored."""
    (sample_repo / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
    without_form_fields(sample_repo)  # these tests change IPs without re-signing the forms
    git.Repo.init(sample_repo)
    commit_all(sample_repo, "samples")
    return sample_repo


def cli_run(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def init_flag(repo_dir: Path, env: str) -> list[str]:
    """--init for the environment's first apply (tests of the refusal call the CLI directly)."""
    return ["--init"] if first_apply(repo_dir, env) else []


def apply_cli(repo_dir: Path, env: str, *extra: str) -> tuple[Result, dict[str, Any]]:
    """apply --format json; (result, parsed JSON or {} when the output is not JSON)."""
    args = ["apply", "--env", env, "--repo", str(repo_dir), "--format", "json", *extra]
    res = cli_run(args + init_flag(repo_dir, env))
    try:
        return res, json.loads(res.output)
    except ValueError:
        return res, {}


def plan_cli(repo_dir: Path, env: str, *extra: str) -> Result:
    return cli_run(
        ["plan", "--env", env, "--repo", str(repo_dir), *extra, *init_flag(repo_dir, env)]
    )


edit = functools.partial(edit_first, count=-1)  # this module replaces every occurrence


def ledger_log(repo_dir: Path, env: str) -> list[git.Commit]:
    repo = git.Repo(repo_dir)
    try:
        return list(repo.iter_commits(f"provisioned/{env}"))
    except git.GitCommandError:
        return []


def app_config(repo_dir: Path, env: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (repo_dir / "build" / "app" / f"app-{env}.json").read_text(encoding="utf-8")
    )
    return data


def stored(repo_dir: Path, folder: str) -> Path:
    return repo_dir.joinpath(".provisioner", "sharepoint", *BASE, folder)


def store_files(repo_dir: Path) -> list[str]:
    root = repo_dir / ".provisioner" / "sharepoint"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def subject_of(repo_dir: Path, rel: str) -> str:
    """The subject of a sample's certificate, as the plan shows it."""
    identity = identity_from_bytes((repo_dir / rel).read_bytes())
    assert identity is not None
    return identity.subject


def permission(cfg: dict[str, Any], ine10: str) -> dict[str, Any] | None:
    return next((p for p in cfg["permissions"] if p["ine10"] == ine10), None)


# ----------------------------------------------------------------------------- first and repeat


def test_first_apply_stores_documents_writes_config_and_ledger(repo: Path) -> None:
    head_before = git.Repo(repo).head.commit.hexsha
    res, out = apply_cli(repo, "PRE")
    assert res.exit_code == 0, res.output
    assert out["result"]["status"] == "applied"
    assert out["result"]["store_writes"]["files"] == 6
    folder = stored(repo, "FP265594 Consell Comarcal de l'Alta Ribagorça")
    assert sorted(p.name for p in folder.iterdir()) == [
        "FP265594-formulari-integracio.pdf",
        "serveis-informatics-pirineu.pem",
    ]
    pem = repo / "integrations" / ALTA_RIBAGORCA / "certs" / "serveis-informatics-pirineu.pem"
    assert (folder / "serveis-informatics-pirineu.pem").read_bytes() == pem.read_bytes()

    cfg = app_config(repo, "PRE")
    assert cfg["environment"] == "PRE"
    # Castelldefels: two providers merge into one permission with two certificates, and the
    # modalities are the union of what each was granted (all + two).
    castell = permission(cfg, CASTELLDEFELS)
    assert castell is not None
    assert {c["provider"] for c in castell["certificates"]} == {"A08123457", "B17234568"}
    assert len(castell["modalities"]) == 6
    assert {e["cidr"] for e in cfg["ip_allowlist"]} >= {"192.0.2.20/32", "2001:db8:10::/64"}
    entry = next(e for e in cfg["ip_allowlist"] if e["cidr"] == "203.0.113.10/32")
    assert entry == {
        "cidr": "203.0.113.10/32",
        "ine10": ALTA_RIBAGORCA,
        "provider": "B65432106",
        "provider_name": "Serveis Informàtics del Pirineu SL",
        "fp": "265594",
    }
    for cert in castell["certificates"]:
        assert set(cert) >= {"sha256", "subject", "serial", "not_after", "provider"}

    log = ledger_log(repo, "PRE")
    assert len(log) == 1
    tree_names = sorted(b.name for b in log[0].tree.blobs)
    assert tree_names == ["app-PRE.json", "integrations.json", "sharepoint-manifest.json"]
    assert (log[0].tree / "app-PRE.json").data_stream.read() == canonical_json(cfg)
    manifest = json.loads((log[0].tree / "sharepoint-manifest.json").data_stream.read())
    key = "/".join((*BASE, "FP265594 Consell Comarcal de l'Alta Ribagorça"))
    assert set(manifest["folders"][key]) == {
        "FP265594-formulari-integracio.pdf",
        "serveis-informatics-pirineu.pem",
    }
    # The checkout was not touched: same HEAD, clean index and working tree.
    checkout = git.Repo(repo)
    assert checkout.head.commit.hexsha == head_before
    assert checkout.active_branch.name in ("master", "main")
    assert not checkout.is_dirty(untracked_files=True)


def test_repeat_apply_writes_nothing_and_records_nothing(repo: Path) -> None:
    assert apply_cli(repo, "PRE")[0].exit_code == 0
    app = repo / "build" / "app" / "app-PRE.json"
    os.utime(app, (1_000_000, 1_000_000))
    res, out = apply_cli(repo, "PRE")
    assert res.exit_code == 0
    assert out["result"]["status"] == "unchanged"
    assert out["result"]["store_writes"] == {"folders": 0, "files": 0}
    assert out["result"]["app_config_written"] is False
    assert app.stat().st_mtime == 1_000_000
    assert len(ledger_log(repo, "PRE")) == 1
    plan = plan_cli(repo, "PRE", "--detailed-exitcode")
    assert plan.exit_code == 0
    assert "no changes in PRE" in plan.output


def test_missing_app_file_is_written_again_without_a_ledger_commit(repo: Path) -> None:
    apply_cli(repo, "PRE")
    (repo / "build" / "app" / "app-PRE.json").unlink()
    _res, out = apply_cli(repo, "PRE")
    assert out["result"]["app_config_written"] is True
    assert out["result"]["status"] == "unchanged"
    assert len(ledger_log(repo, "PRE")) == 1


def test_plan_detailed_exitcode_and_formats(repo: Path) -> None:
    res = plan_cli(repo, "PRE", "--detailed-exitcode")
    assert res.exit_code == 2
    assert "Consell Comarcal de l'Alta Ribagorça (8100560009): new entity" in res.output
    assert plan_cli(repo, "PRE").exit_code == 0
    data = json.loads(plan_cli(repo, "PRE", "--format", "json").output)
    assert data["has_changes"] is True
    assert data["counts"]["entities_new"] == 2
    assert data["counts"]["files_to_create"] == 6


# ----------------------------------------------------------------------------- changes


def test_ip_change_is_planned_and_appended_to_the_ledger(repo: Path) -> None:
    apply_cli(repo, "PRE")
    edit(repo, PIRINEU, "- 203.0.113.10", "- 203.0.113.11")
    commit_all(repo)
    res = plan_cli(repo, "PRE", "--detailed-exitcode")
    assert res.exit_code == 2
    assert "already integrated: changed" in res.output
    assert "+ IP 203.0.113.11/32" in res.output
    assert "- IP 203.0.113.10/32" in res.output
    assert "file " not in res.output  # the documents did not change
    _result, out = apply_cli(repo, "PRE")
    assert out["result"]["store_writes"] == {"folders": 0, "files": 0}
    log = ledger_log(repo, "PRE")
    assert len(log) == 2
    assert log[0].parents == (log[1],)  # appended, never rewritten
    cidrs = {e["cidr"] for e in app_config(repo, "PRE")["ip_allowlist"]}
    assert "203.0.113.11/32" in cidrs and "203.0.113.10/32" not in cidrs


def test_second_provider_for_an_integrated_entity(repo: Path) -> None:
    gestio = (repo / GESTIO).read_bytes()
    (repo / GESTIO).unlink()
    commit_all(repo, "only the first provider")
    apply_cli(repo, "PRE")
    castell = permission(app_config(repo, "PRE"), CASTELLDEFELS)
    assert castell is not None and len(castell["certificates"]) == 1

    (repo / GESTIO).write_bytes(gestio)
    commit_all(repo, "second provider")
    md = plan_cli(repo, "PRE", "--format", "markdown").output
    assert (
        "Ajuntament de Castelldefels (`0805690004`): already integrated: "
        "adds provider Gestió Municipal Oberta SL's certificate" in md
    )
    assert subject_of(repo, f"integrations/{CASTELLDEFELS}/certs/gestio-municipal-oberta.pem") in md
    assert "FP265702 Ajuntament de Castelldefels" in md
    assert "Modalities granted" not in md  # its two modalities were already granted
    _res, out = apply_cli(repo, "PRE")
    assert out["result"]["store_writes"]["files"] == 2
    castell = permission(app_config(repo, "PRE"), CASTELLDEFELS)
    assert castell is not None and len(castell["certificates"]) == 2


def test_removal_revokes_permissions_and_keeps_the_folder(repo: Path) -> None:
    apply_cli(repo, "PRE")
    (repo / GESTIO).unlink()
    commit_all(repo, "remove a provider")
    res = plan_cli(repo, "PRE")
    assert "integration removed: provider Gestió Municipal Oberta SL" in res.output
    assert "- IP 198.51.100.40/32" in res.output
    gestio_subject = subject_of(
        repo, f"integrations/{CASTELLDEFELS}/certs/gestio-municipal-oberta.pem"
    )
    assert f"- certificate {gestio_subject}" in res.output
    assert "- modalities revoked" not in res.output  # the other provider keeps them all
    res, out = apply_cli(repo, "PRE")
    assert out["result"]["status"] == "applied"
    folder = stored(repo, "FP265702 Ajuntament de Castelldefels")
    assert (folder / "gestio-municipal-oberta.pem").is_file()
    cfg = app_config(repo, "PRE")
    assert all(e["provider"] != "B17234568" for e in cfg["ip_allowlist"])
    view = read_ledger(git.Repo(repo), "PRE")
    assert view is not None
    manifest = json.loads(view.files["sharepoint-manifest.json"])
    assert "/".join((*BASE, "FP265702 Ajuntament de Castelldefels")) in manifest["folders"]
    # The next plan no longer mentions the removed integration.
    assert plan_cli(repo, "PRE", "--detailed-exitcode").exit_code == 0


def test_removing_a_whole_entity(repo: Path) -> None:
    apply_cli(repo, "PRE")
    shutil.rmtree(repo / "integrations" / ALTA_RIBAGORCA)
    commit_all(repo, "remove an entity")
    res = plan_cli(repo, "PRE")
    assert "(8100560009): removed: every permission revoked" in res.output
    assert "modalities revoked: HESTIA_CONSULTA_CIUTADA" in res.output
    # Half of a small estate: the safety rule asks for --force (6 of 12 modality grants).
    assert res.exit_code == 1 and "revokes 6 of 12 modality grants" in res.output
    apply_cli(repo, "PRE", "--force")
    assert permission(app_config(repo, "PRE"), ALTA_RIBAGORCA) is None
    assert stored(repo, "FP265594 Consell Comarcal de l'Alta Ribagorça").is_dir()


# ----------------------------------------------------------------------------- PRE and PRO


def test_pro_refuses_what_pre_never_applied(repo: Path) -> None:
    res, out = apply_cli(repo, "PRO")
    assert res.exit_code == 1
    assert out["result"]["status"] == "refused"
    assert any(e["code"] == "PRO-NOT-IN-PRE" for e in out["plan"]["errors"])
    assert ledger_log(repo, "PRO") == []
    assert not (repo / "build" / "app" / "app-PRO.json").exists()
    assert plan_cli(repo, "PRO").exit_code == 1


def test_promotion_from_pre_to_pro(repo: Path) -> None:
    # Gestió Municipal Oberta starts in PRE; PRE is applied; PRO holds only the PRO sample.
    assert apply_cli(repo, "PRE")[0].exit_code == 0
    res, out = apply_cli(repo, "PRO")
    assert res.exit_code == 0, res.output
    assert out["result"]["store_writes"] == {"folders": 0, "files": 0}  # PRE stored them
    castell = permission(app_config(repo, "PRO"), CASTELLDEFELS)
    assert castell is not None
    assert [c["provider"] for c in castell["certificates"]] == ["A08123457"]
    assert permission(app_config(repo, "PRO"), ALTA_RIBAGORCA) is None

    # Promote it with its homologation evidence (the entity's evidence folder is shared).
    edit(repo, GESTIO, "environment: PRE", "environment: PRO")
    edit(
        repo,
        GESTIO,
        "notes:",
        "homologation:\n"
        + "".join(
            f"  - evidence/HESTIA_{m}.{kind}.xml\n"
            for m in ("CONSULTA_CIUTADA", "CITES")
            for kind in ("request", "response")
        )
        + "notes:",
    )
    commit_all(repo, "promote Gestió Municipal Oberta")
    md = plan_cli(repo, "PRO", "--format", "markdown").output
    assert "already integrated: adds provider Gestió Municipal Oberta SL's certificate" in md
    pre_plan = plan_cli(repo, "PRE").output
    assert "environment PRE -> PRO" in pre_plan
    assert apply_cli(repo, "PRE")[0].exit_code == 0
    res, out = apply_cli(repo, "PRO")
    assert res.exit_code == 0, res.output
    castell = permission(app_config(repo, "PRO"), CASTELLDEFELS)
    assert castell is not None and len(castell["certificates"]) == 2
    assert len(ledger_log(repo, "PRO")) == 2


def test_pro_refuses_a_change_not_applied_in_pre(repo: Path) -> None:
    apply_cli(repo, "PRE")
    apply_cli(repo, "PRO")
    edit(repo, SOLUCIONS, "- 192.0.2.21", "- 192.0.2.22")
    commit_all(repo)
    res = plan_cli(repo, "PRO")
    assert res.exit_code == 1
    assert "PRO-PRE-OUTDATED" in res.output and "apply PRE" in res.output
    apply_cli(repo, "PRE")
    assert plan_cli(repo, "PRO").exit_code == 0


# ----------------------------------------------------------------------------- never lose a document


def test_conflict_in_the_store_stops_and_changes_nothing(repo: Path) -> None:
    folder = stored(repo, "FP265594 Consell Comarcal de l'Alta Ribagorça")
    folder.mkdir(parents=True)
    (folder / "serveis-informatics-pirineu.pem").write_bytes(b"someone else's certificate\n")
    res, out = apply_cli(repo, "PRE")
    assert res.exit_code == 1
    assert out["result"]["status"] == "conflict"
    assert "serveis-informatics-pirineu.pem" in out["result"]["error"]
    assert "left untouched" in out["result"]["error"]
    assert (folder / "serveis-informatics-pirineu.pem").read_bytes() == (
        b"someone else's certificate\n"
    )
    assert ledger_log(repo, "PRE") == []
    assert not (repo / "build" / "app" / "app-PRE.json").exists()
    text = cli_run(["apply", "--env", "PRE", "--repo", str(repo), *init_flag(repo, "PRE")])
    assert "apply stopped" in text.output and "nothing was recorded" in text.output


class FailingStore(LocalStore):
    """A local store whose disk 'fails' after a number of writes."""

    def __init__(self, root: Path, fail_after: int) -> None:
        super().__init__(root)
        self.fail_after = fail_after

    def add_file(self, folder: Sequence[str], name: str, data: bytes) -> None:
        if self.writes.files >= self.fail_after:
            raise StoreError("simulated failure: the connection dropped")
        super().add_file(folder, name, data)


def test_failure_half_way_then_rerun_finishes_without_duplicates(repo: Path) -> None:
    root = repo / ".provisioner" / "sharepoint"
    out_dir = repo / "build" / "app"
    prepared = applying.prepare(repo, "PRE", now=NOW, init=first_apply(repo, "PRE"))
    result = applying.apply(prepared, FailingStore(root, 3), out_dir)
    assert result.status == "store-failed"
    assert result.files_created == 3
    assert ledger_log(repo, "PRE") == []
    assert not (out_dir / "app-PRE.json").exists()
    assert len(store_files(repo)) == 3

    res, out = apply_cli(repo, "PRE")
    assert res.exit_code == 0
    assert out["result"]["store_writes"]["files"] == 3
    assert out["result"]["files_already_present"] == 3
    files = store_files(repo)
    assert len(files) == 6 and not any(".upload-" in f for f in files)
    assert len(ledger_log(repo, "PRE")) == 1


def test_concurrent_apply_cannot_clobber_the_ledger(repo: Path) -> None:
    store = LocalStore(repo / ".provisioner" / "sharepoint")
    first = applying.prepare(repo, "PRE", now=NOW, init=first_apply(repo, "PRE"))
    second = applying.prepare(repo, "PRE", now=NOW, init=first_apply(repo, "PRE"))
    assert applying.apply(second, store, repo / "build").status == "applied"
    tip = ledger_log(repo, "PRE")[0].hexsha
    with pytest.raises(LedgerMoved):
        applying.apply(first, store, repo / "build")
    assert ledger_log(repo, "PRE")[0].hexsha == tip


# ----------------------------------------------------------------------------- APP's schema


def test_the_app_configuration_written_conforms_to_the_published_schema(repo: Path) -> None:
    import jsonschema

    for env in ("PRE", "PRO"):
        res, _ = apply_cli(repo, env)
        assert res.exit_code == 0, res.output
        schema = json.loads((repo / "schemas" / "app-config.schema.json").read_text("utf-8"))
        written = json.loads((repo / "build" / "app" / f"app-{env}.json").read_text("utf-8"))
        jsonschema.validate(written, schema)  # raises when it does not conform
        assert written["permissions"] and written["ip_allowlist"]


@pytest.mark.parametrize(
    ("damage", "where"),
    [
        (lambda doc: doc.pop("permissions"), "'permissions' is a required property"),
        (lambda doc: doc["ip_allowlist"][0].update(ine10=805690004), "ip_allowlist/0/ine10"),
        (lambda doc: doc["permissions"][0]["certificates"][0].update(sha256="x"), "sha256"),
        (lambda doc: doc.update(environment="DEV"), "environment"),
        (lambda doc: doc.update(note="extra"), "'note' was unexpected"),
    ],
)
def test_an_app_configuration_that_does_not_conform_stops_apply_before_any_change(
    repo: Path, damage: Callable[[dict[str, Any]], object], where: str
) -> None:
    prepared = applying.prepare(repo, "PRE", now=NOW, init=first_apply(repo, "PRE"))
    assert prepared.plan is not None
    document = json.loads(prepared.plan.ledger_files["app-PRE.json"])
    damage(document)
    # The seam: the plan carries the exact bytes apply would write.
    prepared.plan.ledger_files["app-PRE.json"] = canonical_json(document)
    out_dir = repo / "build" / "app"
    store = LocalStore(repo / ".provisioner" / "sharepoint")
    result = applying.apply(prepared, store, out_dir)
    assert result.status == "output-invalid" and not result.ok
    assert result.error is not None and where in result.error
    assert "app-PRE.json does not conform to schemas/app-config.schema.json" in result.error
    assert "apply stopped: app-PRE.json does not conform" in applying.result_text(result)
    assert store_files(repo) == [] and not out_dir.exists()
    assert ledger_log(repo, "PRE") == []


def test_an_app_configuration_that_is_not_json_is_refused() -> None:
    from provisioner.apply.app_schema import app_config_problems

    (problem,) = app_config_problems(b"{not json")
    assert problem.startswith("not JSON")


# ----------------------------------------------------------------------------- safety


def many_ips(repo_dir: Path, count: int) -> None:
    ips = "".join(f"  - 203.0.113.{10 + i}\n" for i in range(count))
    edit(repo_dir, PIRINEU, "  - 203.0.113.10\n  - 198.51.100.0/29\n", ips)


def test_safety_threshold_refuses_without_force(repo: Path) -> None:
    many_ips(repo, 12)
    commit_all(repo)
    assert apply_cli(repo, "PRE")[0].exit_code == 0  # 16 IP allowlist entries
    many_ips_back = "".join(f"  - 203.0.113.{10 + i}\n" for i in range(12))
    edit(repo, PIRINEU, many_ips_back, "  - 203.0.113.10\n")
    commit_all(repo, "drop 11 of 16 addresses")
    res = plan_cli(repo, "PRE")
    assert res.exit_code == 1
    assert "SAFETY: the plan revokes 11 of 16 IP allowlist entries" in res.output
    assert "REFUSED by the safety rule" in res.output
    dry, out = apply_cli(repo, "PRE", "--dry-run")
    assert dry.exit_code == 1 and out["result"]["status"] == "refused"
    res, out = apply_cli(repo, "PRE")
    assert res.exit_code == 1
    assert len(ledger_log(repo, "PRE")) == 1
    dry, out = apply_cli(repo, "PRE", "--dry-run", "--force")
    assert dry.exit_code == 0 and out["result"]["status"] == "dry-run"
    assert len(ledger_log(repo, "PRE")) == 1
    res, out = apply_cli(repo, "PRE", "--force")
    assert res.exit_code == 0 and out["result"]["status"] == "applied"
    message = str(ledger_log(repo, "PRE")[0].message)
    assert "applied anyway because of --force" in message
    # The override is a trailer of the ledger commit: auditors find it with git log.
    assert "\nSafety-Override: --force: revokes 11 of 16 IP allowlist entries" in message
    assert len(app_config(repo, "PRE")["ip_allowlist"]) == 5


def test_small_environments_may_lose_a_few_entries_but_not_most(repo: Path) -> None:
    apply_cli(repo, "PRE")
    (repo / GESTIO).unlink()  # 2 of 6 IPs and 1 of 3 certificates: under the floor of 3
    commit_all(repo)
    assert plan_cli(repo, "PRE").exit_code == 0
    shutil.rmtree(repo / "integrations" / CASTELLDEFELS)  # half of the modality grants
    commit_all(repo)
    res = plan_cli(repo, "PRE")
    assert res.exit_code == 1 and "revokes 6 of 12 modality grants" in res.output


# ----------------------------------------------------------------------------- ledger message


def test_ledger_commit_message_names_source_time_and_ci_run(repo: Path) -> None:
    head = git.Repo(repo).head.commit.hexsha
    env = {
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "aoc/hestia-integrations",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_ACTOR": "cap-de-servei",
    }
    res = cli_run(["apply", "--env", "PRE", "--repo", str(repo), *init_flag(repo, "PRE")], env=env)
    assert res.exit_code == 0, res.output
    commit = ledger_log(repo, "PRE")[0]
    message = str(commit.message)
    assert message.startswith("Provision PRE: 2 new entities")
    assert f"Source-Commit: {head}\n" in message
    assert "CI-Run: https://github.example/aoc/hestia-integrations/actions/runs/4242" in message
    assert "CI-Actor: cap-de-servei" in message
    applied_at = re.search(r"^Applied-At: (.+)$", message, re.M)
    assert applied_at is not None
    # The injected clock (HESTIA_PROVISIONER_NOW), not the machine's.
    assert datetime.fromisoformat(applied_at.group(1)) == NOW.replace(microsecond=0)
    assert "Consell Comarcal de l'Alta Ribagorça (8100560009): new entity" in message
    store = repo / ".provisioner" / "sharepoint"
    assert f"Store: local ({store}) (8 folders, 6 files written)" in message
    assert commit.author.name == "hestia-provisioner"


def test_uncommitted_changes_are_said_in_the_ledger(repo: Path) -> None:
    edit(repo, PIRINEU, "- 203.0.113.10", "- 203.0.113.12")
    res = cli_run(
        ["apply", "--env", "PRE", "--repo", str(repo), *init_flag(repo, "PRE")],
        env={"GITHUB_RUN_ID": ""},
    )
    assert res.exit_code == 0
    message = str(ledger_log(repo, "PRE")[0].message)
    assert "with uncommitted changes" in message
    assert "CI-Run: none (run outside CI)" in message


# ----------------------------------------------------------------------------- rendering


def prepared_plan(repo_dir: Path, env: str = "PRE", now: datetime = NOW, **kwargs: Any) -> Any:
    kwargs.setdefault("init", first_apply(repo_dir, env))
    prepared = applying.prepare(repo_dir, env, now=now, **kwargs)  # type: ignore[arg-type]
    assert prepared.plan is not None, prepared.problems
    return prepared.plan


def test_markdown_shows_certificate_identity_and_expiry(repo: Path) -> None:
    plan = prepared_plan(repo)
    md = render_markdown(plan)
    assert md.startswith("### Hèstia provisioning plan: PRE\n\n**2 new entities")
    assert "#### Consell Comarcal de l'Alta Ribagorça (`8100560009`): new entity" in md
    assert (
        subject_of(repo, f"integrations/{ALTA_RIBAGORCA}/certs/serveis-informatics-pirineu.pem")
        in md
    )
    assert "valid until **" in md and "serial `" in md and "SHA-256 `" in md
    assert "**SharePoint folder to create**: `FP265594 Consell Comarcal de l'Alta Ribagorça`" in md


def test_warnings_come_first_with_expiring_certificates(repo: Path) -> None:
    later = NOW + timedelta(days=5 * 365 - 30)  # a month before the samples' CDAs expire
    plan = prepared_plan(repo, now=later)
    md = render_markdown(plan)
    warning_at = md.index("> [!WARNING]")
    # Validation judges the CDAs at the plan's moment too, so its warning is the one shown.
    assert "CDA-EXPIRING: cda: the certificate expires on " in md
    # Markdown escapes the parentheses (no link can be made of a message).
    assert f"ask the provider for the renewed certificate \\({PIRINEU}:16\\)" in md
    assert warning_at < md.index("####")
    lines = render_text(plan).splitlines()
    first_entity = next(i for i, line in enumerate(lines) if line and line[0] not in "Pw")
    warnings = [line for line in lines[1:first_entity] if line.startswith("warning: ")]
    assert any(w.startswith("warning: CDA-EXPIRING") for w in warnings), lines


def test_with_messages_adds_the_closing_message(repo: Path) -> None:
    res = plan_cli(repo, "PRE", "--format", "markdown", "--with-messages")
    assert res.exit_code == 0, res.output
    assert res.output.count("<summary>Closing message</summary>") == 2


def test_document_changed_under_the_same_name_is_an_error(repo: Path) -> None:
    apply_cli(repo, "PRE")
    view = read_ledger(git.Repo(repo), "PRE")
    assert view is not None
    manifest = json.loads(view.files["sharepoint-manifest.json"])
    for files in manifest["folders"].values():
        for entry in files.values():
            entry["sha256"] = "0" * 64
    prepared = applying.prepare(repo, "PRE", now=NOW, init=first_apply(repo, "PRE"))
    assert prepared.plan is not None
    desired_cfg = json.loads(prepared.plan.ledger_files["app-PRE.json"])
    # Same plan against a ledger whose documents had other content: every file conflicts.
    from provisioner.plan.desired import desired_state, gather

    inputs, _ = gather(prepared.report.sources)
    assert prepared.report.catalog is not None
    desired = desired_state(prepared.report.catalog, "PRE", inputs)
    assert desired.app_config == desired_cfg
    plan = make_plan(
        desired,
        LedgerView(view.tip, view.files, view.app_config, manifest, view.records),
        now=NOW,
        expiry_days=60,
    )
    assert plan.refused
    assert {p.code for p in plan.errors} == {"PLAN-DOCUMENT-CHANGED"}
    assert "never replaced" in render_text(plan)
    assert "[!CAUTION]" in render_markdown(plan)
    assert json.loads(render_json(plan))["refused"] is True


# ----------------------------------------------------------------------------- usage errors


def test_sharepoint_store_without_login_configuration_is_an_environment_error(repo: Path) -> None:
    args = ["apply", "--env", "PRE", "--repo", str(repo), "--store", "sharepoint", "--init"]
    res = cli_run(args)
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and "no SharePoint login is configured" in res.output
    assert ledger_log(repo, "PRE") == []


def test_not_a_git_repository_is_an_environment_error(sample_repo: Path) -> None:
    res = plan_cli(sample_repo, "PRE")
    assert res.exit_code == 2
    assert "not a git repository" in res.output


def test_validation_errors_come_instead_of_a_plan(repo: Path) -> None:
    edit(repo, PIRINEU, "- 203.0.113.10", "- 10.0.0.1")
    res = plan_cli(repo, "PRE", "--detailed-exitcode")
    assert res.exit_code == 1
    assert "IP-POLICY" in res.output
    assert "no plan was made" in res.output
    res, _ = apply_cli(repo, "PRE")
    assert res.exit_code == 1
    assert ledger_log(repo, "PRE") == []


def test_dry_run_changes_nothing(repo: Path) -> None:
    res = cli_run(
        ["apply", "--env", "PRE", "--repo", str(repo), "--dry-run", *init_flag(repo, "PRE")]
    )
    assert res.exit_code == 0
    assert "dry run: nothing was changed" in res.output
    assert not (repo / ".provisioner" / "sharepoint").exists()
    assert ledger_log(repo, "PRE") == []


# ----------------------------------------------------------------------------- the store


def test_local_store_never_overwrites(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    folder = ("lib", "FP1 Ajuntament d'Exemple")
    store.ensure_folder(folder)
    store.ensure_folder(folder)
    assert store.writes.folders == 2
    data = b"certificate"
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    assert ensure_file(store, folder, "a.pem", data, digest) is True
    assert ensure_file(store, folder, "a.pem", data, digest) is False
    with pytest.raises(AlreadyExistsError):
        store.add_file(folder, "a.pem", b"other")
    other = b"certificatf"  # same length, other content
    with pytest.raises(ConflictError, match="same length"):
        ensure_file(store, folder, "a.pem", other, hashlib.sha256(other).hexdigest())
    with pytest.raises(ConflictError, match="bytes stored"):
        ensure_file(store, folder, "a.pem", b"x", hashlib.sha256(b"x").hexdigest())
    assert (tmp_path / "store" / "lib" / "FP1 Ajuntament d'Exemple" / "a.pem").read_bytes() == data
    for bad in ("..", "a/b", ""):
        with pytest.raises(StoreError):
            store.ensure_folder(("lib", bad))
    (tmp_path / "store" / "lib" / "file").write_bytes(b"")
    with pytest.raises(StoreError, match="not a folder"):
        store.ensure_folder(("lib", "file", "sub"))
    with pytest.raises(StoreError, match="not a file"):
        store.lookup_file(("lib",), "FP1 Ajuntament d'Exemple")


class RacingStore(LocalStore):
    """Another writer adds the same name between our lookup and our add."""

    def __init__(self, root: Path, racer_data: bytes | None) -> None:
        super().__init__(root)
        self.racer_data = racer_data

    def add_file(self, folder: Sequence[str], name: str, data: bytes) -> None:
        if self.racer_data is not None:
            self._path(folder, name).write_bytes(self.racer_data)
        raise AlreadyExistsError(name)


@pytest.mark.parametrize(
    ("racer", "outcome"),
    [(b"same", "present"), (b"different", "conflict"), (None, "vanished")],
)
def test_add_race_is_judged_by_content(tmp_path: Path, racer: bytes | None, outcome: str) -> None:
    import hashlib

    store = RacingStore(tmp_path, racer)
    store.ensure_folder(("f",))
    check: Callable[[], bool] = lambda: ensure_file(  # noqa: E731
        store, ("f",), "a", b"same", hashlib.sha256(b"same").hexdigest()
    )
    if outcome == "present":
        assert check() is False
    elif outcome == "conflict":
        with pytest.raises(ConflictError):
            check()
    else:
        with pytest.raises(StoreError, match="then not found"):
            check()


def test_a_damaged_ledger_is_an_environment_error(repo: Path) -> None:
    from provisioner.apply.ledger import record

    files = {"sharepoint-manifest.json": b'{"folders": []}'}
    record(git.Repo(repo), "PRE", None, files, "hand-made\n", NOW)
    res = plan_cli(repo, "PRE")
    assert res.exit_code == 2
    assert "lacks the trailer(s) Source-Commit" in res.output
    assert res.output.count("\n") == 1  # one line, naming the commit


def test_unwritable_output_stops_before_the_ledger(repo: Path) -> None:
    (repo / "build").write_text("a file where the output folder should be", encoding="utf-8")
    res, out = apply_cli(repo, "PRE")
    assert res.exit_code == 1
    assert out["result"]["status"] == "output-failed"
    assert ledger_log(repo, "PRE") == []
    res, out = apply_cli(repo, "PRE", "--out", str(repo / "elsewhere"))
    assert out["result"]["status"] == "applied"
    assert out["result"]["store_writes"]["files"] == 0  # stored by the first attempt
    assert (repo / "elsewhere" / "app-PRE.json").is_file()


@pytest.mark.slow
def test_demo_runs_twice_and_leaves_the_checkout_clean(repo: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    demo = [sys.executable, str(ROOT / "scripts" / "demo.py"), "--repo", str(repo)]
    first = subprocess.run(demo, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "ledger commit:" in first.stdout
    assert "APP configuration PRO:" in first.stdout
    second = subprocess.run(demo, capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "no changes in PRE" in second.stdout and "no changes in PRO" in second.stdout
    assert "ledger commit:" not in second.stdout
    assert git.Repo(repo).git.status("--porcelain") == ""
    assert len(ledger_log(repo, "PRE")) == 1 and len(ledger_log(repo, "PRO")) == 1


def test_expiry_warned_by_validation_is_not_repeated(repo: Path) -> None:
    from provisioner.plan.desired import desired_state, gather

    prepared = applying.prepare(repo, "PRE", now=NOW, init=first_apply(repo, "PRE"))
    assert prepared.report.catalog is not None
    inputs, _ = gather(prepared.report.sources)
    desired = desired_state(prepared.report.catalog, "PRE", inputs)
    later = NOW + timedelta(days=5 * 365 - 30)  # a month before the samples' CDAs expire
    both = make_plan(desired, LedgerView(), now=later, expiry_days=60)
    assert sum(w.code == "CDA-EXPIRING" for w in both.warnings) == 3
    once = make_plan(
        desired,
        LedgerView(),
        now=later,
        expiry_days=60,
        warnings=[Finding("warning", "CDA-EXPIRING", "from validation")],
        expiry_warned=frozenset({PIRINEU}),
    )
    assert sum(w.code == "CDA-EXPIRING" for w in once.warnings) == 3
    assert not any("Serveis Informàtics del Pirineu" in w.message for w in once.warnings)


def test_plan_shows_who_signed_each_form_and_the_ledger_keeps_it(repo: Path) -> None:
    result = plan_cli(repo, "PRE", "--format", "markdown")
    provider_lines = [line for line in result.output.splitlines() if "**Provider**" in line]
    alta = next(line for line in provider_lines if "Serveis Informàtics del Pirineu" in line)
    assert "form signed by" in alta and "VATES-P7500001H" in alta
    apply_cli(repo, "PRE")
    records = json.loads(
        git.Repo(repo).git.show("provisioned/PRE:integrations.json")  # the ledger's copy
    )
    signers = records["8100560009/B65432106"]["form_signed_by"]
    assert any("VATES-P7500001H" in signer for signer in signers)


def test_plan_uses_what_validation_read_and_reads_no_document_again(repo: Path) -> None:
    """The identities and hashes come from validation: gather opens no CDA and no form."""
    from provisioner.plan.desired import gather
    from provisioner.rules.run import validate

    report = validate(repo)
    assert report.ok and set(report.documents) == {s.rel for s in report.sources}
    fresh, problems = gather(report.sources, report.form_signers)  # reads every document
    assert not problems
    for src in report.sources:  # nothing left to read: only validation's record can answer
        for written in (src.integration.cda, src.integration.form):
            (src.folder / written).unlink()
    reused, problems = gather(report.sources, report.form_signers, read=report.documents)
    assert not problems
    assert reused == fresh
    _, problems = gather(report.sources, report.form_signers)
    assert {p.code for p in problems} == {"PLAN-DOCUMENTS"}
