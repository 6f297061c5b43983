"""Every hostile string of issue 11 through every output format of every command.

Two ways in: the integration file (validate refuses it, and every command must say so without
echoing it raw), and the ledger (a record planted with the bot's copied identity, so plan, apply
and history render names no validation ever saw). Either way no output may hold a raw control
character, a forged workflow command, an unescaped `<!--`, or a line break inside a trailer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import git
import pytest
from click.testing import CliRunner, Result

from provisioner.apply.ledger import record
from provisioner.cli import cli
from tests.apply.test_plan_apply import commit_all
from tests.conftest import edit, first_apply

ALTA = "integrations/8100560009/serveis-informatics-pirineu.yaml"
PROVIDER_LINE = 'name: "Serveis Informàtics del Pirineu SL"'

#: The issue's hostile strings, as Python text.
HOSTILE = {
    "workflow": "X\n::error ::APPROVED\n::add-mask::secret",
    "comment": "X\n\n<!--",
    "trailer": "X\nSource-Commit: 0123456789abcdef0123456789abcdef01234567\nCI-Actor: boss",
    "separators": "X\x1eY\x1fZ",
    "nul": "X\x00Y",
    "bidi": "Serveis \u202eLS",
    "mention": "@octocat [click](http://evil.invalid) ![i](http://evil.invalid/i.png) | x",
}
FORMATS = {
    "validate": ("text", "github", "json", "markdown"),
    "plan": ("text", "markdown", "json"),
    "history": ("text", "markdown", "json"),
    "certs": ("text", "json", "markdown"),
}
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")
_RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b]")


def run(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, catch_exceptions=True)


def inert(result: Result, fmt: str) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    out = result.output
    assert not _RAW.search(out), repr(out[:300])
    for line in out.splitlines():
        if line.startswith("::"):
            assert fmt == "github" and re.match(r"^::(error|warning) file=[^:]*::", line), line
            assert "::add-mask::" not in line and "::error ::" not in line
    if fmt == "markdown":
        # Code spans show their text verbatim (no markup, links or mentions): the rest may not
        # hold any markup from the names.
        prose = _CODE_SPAN.sub("", out)
        assert "<!--" not in prose and "](http" not in prose and "@octocat" not in prose
    if fmt == "json":
        json.loads(result.stdout)


def yaml_escape(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii").replace('"', '\\"')


@pytest.fixture
def repo(sample_repo: Path) -> Path:
    (sample_repo / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
    git.Repo.init(sample_repo)
    commit_all(sample_repo, "samples")
    return sample_repo


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
def test_from_the_integration_file(repo: Path, hostile: str) -> None:
    edit(repo, ALTA, PROVIDER_LINE, f'name: "{yaml_escape(hostile)}"')
    edit(repo, ALTA, 'notes: "', f'notes: "{yaml_escape(hostile)} ')
    r = ["--repo", str(repo)]
    for command, formats in FORMATS.items():
        for fmt in formats:
            extra = ["--env", "PRE", "--init"] if command == "plan" else []
            result = run([command, *r, *extra, "--format", fmt])
            inert(result, fmt)
    inert(run(["apply", *r, "--env", "PRE", "--init", "--dry-run"]), "text")
    inert(run(["apply", *r, "--env", "PRE", "--init", "--format", "json"]), "json")
    inert(run(["history", *r, "--controls"]), "text")
    for kind in ("request-info", "head-of-service"):
        inert(run(["message", *r, kind, str(repo / ALTA)]), "text")


def test_from_a_planted_ledger_record(repo: Path) -> None:
    """Names no validation saw: a removed integration whose ledger record an attacker wrote."""
    assert run(["apply", "--repo", str(repo), "--env", "PRE", "--init"]).exit_code == 0
    repo_git = git.Repo(repo)
    tree = repo_git.commit("provisioned/PRE").tree
    files = {b.name: b.data_stream.read() for b in tree.blobs}
    records = json.loads(files["integrations.json"])
    app = json.loads(files["app-PRE.json"])
    name = " ".join(HOSTILE.values()).replace("\x00", "")
    planted = {
        "ine10": "0810130006",
        "entity": name,
        "provider": "B00000000",
        "provider_name": name,
        "fp": "1",
        "environment": "PRE",
        "file": "integrations/0810130006/x.yaml",
        "folder": name,
        "certificate": "0" * 64,
        "ips": ["192.0.2.200/32"],
        "modalities": ["HESTIA_CITES"],
    }
    records["0810130006/B00000000"] = planted
    app["permissions"].append(
        {
            "ine10": "0810130006",
            "name": name,
            "product": "HESTIA",
            "modalities": ["HESTIA_CITES"],
            "certificates": [
                {
                    "sha256": "0" * 64,
                    "subject": name,
                    "serial": name,
                    "not_after": "2030-01-01T00:00:00+00:00",
                    "provider": "B00000000",
                    "provider_name": name,
                }
            ],
        }
    )
    app["ip_allowlist"].append(
        {"cidr": "192.0.2.200/32", "ine10": "0810130006", "provider": "B00000000", "fp": "1"}
    )
    files["integrations.json"] = json.dumps(records).encode()
    files["app-PRE.json"] = json.dumps(app).encode()
    head = repo_git.head.commit.hexsha
    message = (
        "Provision PRE: planted\n\n"
        f"Source-Commit: {head}\nApplied-At: 2027-01-01T00:00:00+00:00\nEnvironment: PRE\n"
        "Store: local\nCI-Run: none (run outside CI)\n"
    )
    from datetime import UTC, datetime

    tip = repo_git.commit("provisioned/PRE").hexsha
    record(repo_git, "PRE", tip, files, message, datetime(2027, 1, 1, tzinfo=UTC))
    r = ["--repo", str(repo)]
    for fmt in FORMATS["plan"]:
        result = run(["plan", *r, "--env", "PRE", "--format", fmt])
        assert result.exit_code == 0, result.output  # the plan removes the planted entry
        inert(result, fmt)
    for fmt in FORMATS["history"]:
        inert(run(["history", *r, "--format", fmt]), fmt)
        inert(run(["history", *r, "--controls", "--format", fmt]), fmt)
    assert not first_apply(repo, "PRE")
    applied = run(["apply", *r, "--env", "PRE"])
    inert(applied, "text")
    message = str(repo_git.commit("provisioned/PRE").message)
    _body, _, trailers = message.rstrip("\n").rpartition("\n\n")
    assert not _RAW.search(message)
    # The trailers are the tool's own, each once; the names stayed in the body, on one line each.
    names = [line.split(": ", 1)[0] for line in trailers.splitlines()]
    assert names == ["Source-Commit", "Applied-At", "Environment", "Store", "CI-Run"]
    assert "boss" not in trailers and "0123456789abcdef" not in trailers
    done = __import__("subprocess").run(
        ["git", "fsck", "--no-progress"], cwd=repo, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
