"""No input file, however broken, makes any command end in a traceback.

Every bad fixture is put in place of a sample, then every command that reads integration files
runs on the repository. Each must end with exit code 0, 1 or 2 and a message, never an exception.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.vocabulary import MESSAGE_KINDS
from tests.conftest import git_init

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "integrations").glob("*.yaml"))
SAMPLE = "integrations/8100560009/serveis-informatics-pirineu.yaml"

HOSTILE = {
    "binary": bytes(range(256)) * 8,
    "latin1": 'fp: "1"\nnotes: Ribagor\xe7a\n'.encode("latin-1"),
    "deep": b"a: " + b"[" * 10_000 + b"]" * 10_000,
    "bomb": b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
    "empty": b"",
    "huge": b"notes: '" + b"x" * (1024 * 1024 + 10) + b"'\n",
}


def commands(repo: Path, target: Path) -> list[list[str]]:
    r = ["--repo", str(repo)]
    out = [
        ["validate", *r],
        ["validate", *r, "--format", "github", str(target)],
        ["certs", *r, "--format", "json"],
        ["plan", *r, "--env", "PRE", "--format", "markdown"],
        ["apply", *r, "--env", "PRE", "--dry-run"],
        ["sample-request", *r, str(target), "--modality", "HESTIA_CITES"],
        ["history", *r],
        ["history", *r, str(target)],
    ]
    out += [["message", *r, kind, str(target)] for kind in MESSAGE_KINDS]
    return out


@pytest.mark.parametrize(
    "content",
    [f.read_bytes() for f in FIXTURES] + list(HOSTILE.values()),
    ids=[f.stem for f in FIXTURES] + list(HOSTILE),
)
def test_every_command_survives_every_bad_file(tmp_path: Path, content: bytes) -> None:
    repo = tmp_path / "repo"
    for folder in ("catalog", "schemas", "integrations"):
        shutil.copytree(Path(__file__).resolve().parents[2] / folder, repo / folder)
    git_init(repo)
    target = repo / SAMPLE
    target.write_bytes(content)
    runner = CliRunner()
    for args in commands(repo, target):
        result = runner.invoke(cli, args, catch_exceptions=True)
        assert result.exit_code in (0, 1, 2), (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            args,
            result.exception,
        )
        assert "Traceback" not in result.output


CATALOG_FILES = [
    "catalog/service.yaml",
    "catalog/ip-policy.yaml",
    "catalog/entities.yaml",
    "catalog/messages/pre-ready.txt",
    "catalog/trust/demo-root-ca.pem",
]
CATALOG_BREAKAGE = {
    **HOSTILE,
    "a-list": b"- a\n- b\n",
    "wrong-types": b"product: [1]\nmodalities: {}\nmax_prefix_v4: x\neligible: 3\n",
    "template-code": b"${__import__('os').system('true')} $unknown_field {0.__class__}\n",
}


@pytest.mark.parametrize("catalog_file", CATALOG_FILES)
@pytest.mark.parametrize("content", list(CATALOG_BREAKAGE.values()), ids=list(CATALOG_BREAKAGE))
def test_every_command_survives_a_broken_catalog(
    tmp_path: Path, catalog_file: str, content: bytes
) -> None:
    repo = tmp_path / "repo"
    for folder in ("catalog", "schemas", "integrations"):
        shutil.copytree(Path(__file__).resolve().parents[2] / folder, repo / folder)
    git_init(repo)
    (repo / catalog_file).write_bytes(content)
    runner = CliRunner()
    if not catalog_file.endswith(".txt"):  # a broken catalog is a problem found, not a pass
        assert runner.invoke(cli, ["validate", "--repo", str(repo)]).exit_code == 1
    for args in commands(repo, repo / SAMPLE):
        result = runner.invoke(cli, args, catch_exceptions=True)
        assert result.exit_code in (0, 1, 2), (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            args,
            result.exception,
        )
