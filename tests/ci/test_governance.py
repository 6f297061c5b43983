"""The workflows and the repository's rules keep their promises: pinned actions, least
privilege, no stored credentials, the apply order, and the rulesets that protect main and the
ledger. (zizmor, check-jsonschema and actionlint lint them too; these are the project's own.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_workflow_is_least_privilege_and_pinned(path: Path) -> None:
    wf = load(path)
    assert wf["permissions"] == {}, "no permission at the top: each job asks for its own"
    for name, job in wf["jobs"].items():
        assert job.get("name"), f"{name} has no name"
        assert 0 < job["timeout-minutes"] <= 60, f"{name} has no timeout"
        assert "permissions" in job, f"{name} does not state its permissions"
        for step in steps(job):
            uses = step.get("uses")
            if uses:
                assert PINNED.match(uses), f"{uses} is not pinned by commit"
            if uses and uses.startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            env = step.get("env", {})
            if "GITHUB_TOKEN" in env:  # only steps that post, push, or read main's cache
                assert re.search(r"post|push|restore-cache", step.get("name", "") + step["run"])
            run = step.get("run", "")
            if re.search(r"\bpip install\b", run):
                assert run.count("--require-hashes") == len(re.findall(r"\bpip install\b", run))


def test_actions_are_the_node24_releases() -> None:
    pins = {
        "actions/checkout": "v7.0.1",
        "actions/setup-python": "v7.0.0",
        "actions/upload-artifact": "v7.0.0",
    }
    for path in WORKFLOWS:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.search(r"uses: ([\w/-]+)@[0-9a-f]{40} # (v[\d.]+)", line)
            if match:
                assert pins[match.group(1)] == match.group(2), line


def test_apply_runs_pre_then_pro_behind_their_environments() -> None:
    jobs = load(ROOT / ".github" / "workflows" / "apply.yml")["jobs"]
    assert jobs["apply-pre"]["environment"].startswith("PRE")
    assert jobs["apply-pro"]["environment"].startswith("PRO")
    assert jobs["apply-pro"]["needs"] == "apply-pre"
    for env, name in (("PRE", "apply-pre"), ("PRO", "apply-pro")):
        runs = [s.get("run", "") for s in steps(jobs[name])]
        order = [
            next(i for i, r in enumerate(runs) if marker in r)
            for marker in (
                "ci fetch-ledger",
                f"ci check-fresh --env {env}",
                f"apply --env {env}",
                f"ci push-ledger --env {env}",
            )
        ]
        assert order == sorted(order)
        assert jobs[name]["permissions"]["id-token"] == "write"
        token_steps = [s for s in steps(jobs[name]) if "GITHUB_TOKEN" in s.get("env", {})]
        assert len(token_steps) == 1 and "push-ledger" in token_steps[0]["run"]
    assert "id-token" not in jobs["plan"]["permissions"]
    text = (ROOT / ".github" / "workflows" / "apply.yml").read_text(encoding="utf-8")
    assert "secrets." not in text  # environment secrets or federation, never repository ones
    assert "|| true" not in text


def test_only_the_comment_job_may_write_to_the_pull_request() -> None:
    jobs = load(ROOT / ".github" / "workflows" / "review.yml")["jobs"]
    writers = [n for n, j in jobs.items() if "pull-requests" in j["permissions"]]
    assert writers == ["comment"]
    checkout = steps(jobs["comment"])[0]
    assert checkout["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    # Nothing the plan job (the pull request's code) may have cached reaches the write token.
    assert not [s for s in steps(jobs["comment"]) if "cache" in s.get("with", {})]


def test_the_pull_request_check_restores_only_what_main_leaves() -> None:
    """review.yml reads main's validation cache (actions: read, nothing more) before it
    validates; ci.yml's push runs on main upload it under the name restore-cache looks for."""
    from provisioner.ci.cache_artifact import CACHE_ARTIFACT, CACHE_WORKFLOW

    plan = load(ROOT / ".github" / "workflows" / "review.yml")["jobs"]["plan"]
    assert plan["permissions"] == {"contents": "read", "actions": "read"}
    runs = [s.get("run", "") for s in steps(plan)]
    restore = next(i for i, r in enumerate(runs) if "ci restore-cache" in r)
    assert restore < next(i for i, r in enumerate(runs) if "provisioner validate" in r)
    assert "continue-on-error" not in steps(plan)[restore]  # it never fails: it warns
    producer: dict[Any, Any] = dict(load(ROOT / ".github" / "workflows" / CACHE_WORKFLOW))
    triggers = producer[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"]["branches"] == ["main"]
    job = producer["jobs"]["warm-cache"]
    assert job["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert job["permissions"] == {"contents": "read"}
    [upload] = [s for s in steps(job) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["with"]["name"] == CACHE_ARTIFACT
    # The same pip cache key on both sides: main's scope holds what pull requests restore.
    keys = [
        (s["with"]["cache"], s["with"]["cache-dependency-path"])
        for s in steps(plan) + steps(job)
        if s.get("uses", "").startswith("actions/setup-python@")
    ]
    assert keys == [("pip", "requirements/installer.txt")] * 2


def test_ci_keeps_caches_only_in_the_runners_temporary_folder() -> None:
    """The tool reads no cache from a CI checkout (a pull request could commit a forged one):
    the steps that restore, read or produce one name a folder under runner.temp, the same one,
    and the upload copies from it. Every other job (apply, certificates) runs cold."""
    from provisioner.runtime.settings import CACHE_DIR_ENV

    folder = "${{ runner.temp }}/hestia-cache"
    plan = load(ROOT / ".github" / "workflows" / "review.yml")["jobs"]["plan"]
    cached = [s for s in steps(plan) if "provisioner" in s.get("run", "")]
    named = [s for s in cached if s.get("env", {}).get(CACHE_DIR_ENV) == folder]
    assert [s["run"] for s in named] == [
        s["run"]
        for s in cached
        if any(c in s["run"] for c in ("restore-cache", "validate", "review"))
    ] and len(named) == 3
    job = load(ROOT / ".github" / "workflows" / "ci.yml")["jobs"]["warm-cache"]
    [producer] = [s for s in steps(job) if "provisioner validate" in s.get("run", "")]
    assert producer["env"][CACHE_DIR_ENV] == folder
    assert '"$HESTIA_PROVISIONER_CACHE_DIR" build/validation-cache' in producer["run"]
    assert ".provisioner" not in producer["run"]


def test_the_locks_pin_every_requirement_with_hashes() -> None:
    for lock in ("runtime.txt", "installer.txt"):
        text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
        pins = [b for b in blocks if re.match(r"[A-Za-z0-9][\w.-]*==", b)]
        assert pins and all("--hash=sha256:" in b for b in pins), lock


def test_rulesets_protect_main_and_the_ledger() -> None:
    rules = {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in (ROOT / ".github" / "rulesets").glob("*.json")
    }
    main = {r["type"]: r.get("parameters", {}) for r in rules["main"]["rules"]}
    assert main["pull_request"]["require_code_owner_review"] is True
    assert main["pull_request"]["allowed_merge_methods"] == ["merge"]
    checks = {c["context"] for c in main["required_status_checks"]["required_status_checks"]}
    job_names = {j["name"] for p in WORKFLOWS for j in load(p)["jobs"].values()}
    assert checks <= job_names and "Validate and plan" in checks
    append = rules["ledger-append-only"]
    assert append["conditions"]["ref_name"]["include"] == ["refs/heads/provisioned/*"]
    assert {r["type"] for r in append["rules"]} == {"deletion", "non_fast_forward"}
    assert append["bypass_actors"] == []
    writers = rules["ledger-writers"]
    assert {r["type"] for r in writers["rules"]} == {"creation", "update"}


def test_codeowners_cover_what_is_provisioned() -> None:
    owners = (ROOT / ".github" / "CODEOWNERS").read_text(encoding="utf-8")
    for folder in ("/integrations/", "/catalog/", "/schemas/", "/provisioner/", "/.github/"):
        assert re.search(rf"^{re.escape(folder)}\s+@\S+/\S+", owners, re.MULTILINE), folder


def test_the_status_site_is_built_after_the_applies_and_published_only_when_enabled() -> None:
    jobs = load(ROOT / ".github" / "workflows" / "apply.yml")["jobs"]
    site, pages = jobs["site"], jobs["pages"]
    assert site["needs"] == "apply-pro"
    assert site["permissions"] == {"contents": "read"}
    runs = [s.get("run", "") for s in steps(site)]
    assert any("provisioner site --out build/site" in r for r in runs)
    uploads = [s for s in steps(site) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert [u["with"]["path"] for u in uploads] == ["build/site", "build/artifact.tar"]
    assert uploads[1]["with"]["name"] == "github-pages"
    assert uploads[1]["if"] == "vars.HESTIA_PAGES == 'true'"
    # Pages: its own job, gated on the repository variable, with only what a deployment needs.
    assert pages["needs"] == "site" and pages["if"] == "vars.HESTIA_PAGES == 'true'"
    assert pages["permissions"] == {"pages": "write", "id-token": "write"}
    assert pages["environment"] == "github-pages"
    others = [n for n, j in jobs.items() if n != "pages"]
    assert not [n for n in others if "pages" in j_perms(jobs[n])]


def j_perms(job: dict[str, Any]) -> dict[str, Any]:
    permissions: dict[str, Any] = job.get("permissions", {})
    return permissions
