"""The ledger is believed only after it is checked; the safety rule measures grants over time.

Each test first does what the attacker of issue 11 did (delete the branch, move it, forge a
commit, plant a record of the wrong shape, leave a lock) on a real git repository, then checks
that plan and apply refuse it in one line naming the commit, with exit code 2.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import git
import pytest

from provisioner.apply.ledger import BOT_EMAIL, BOT_NAME, record
from provisioner.plan.desired import DesiredState
from provisioner.plan.diff import make_plan, safety_window
from provisioner.plan.ledger_format import LedgerStep, LedgerView
from tests.apply.test_plan_apply import (
    CASTELLDEFELS,
    GESTIO,
    PIRINEU,
    apply_cli,
    cli_run,
    commit_all,
    edit,
    ledger_log,
    many_ips,
)
from tests.conftest import without_form_fields

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def repo(sample_repo: Path) -> Path:
    (sample_repo / ".gitignore").write_text("build/\n.provisioner/\n", encoding="utf-8")
    without_form_fields(sample_repo)  # these tests change IPs without re-signing the forms
    git.Repo.init(sample_repo)
    commit_all(sample_repo, "samples")
    return sample_repo


def plan(repo_dir: Path, env: str = "PRE", *extra: str) -> Any:
    return cli_run(["plan", "--env", env, "--repo", str(repo_dir), *extra])


def one_line_error(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def tip(repo_dir: Path, env: str = "PRE") -> str:
    return str(git.Repo(repo_dir).commit(f"provisioned/{env}").hexsha)


def ledger_message(source: str, env: str = "PRE", extra: str = "") -> str:
    return (
        f"Provision {env}: forged\n\nSource-Commit: {source}\nApplied-At: 2027-01-01T00:00:00+00:00"
        f"\nEnvironment: {env}\nStore: local\nCI-Run: none (run outside CI)\n{extra}"
    )


def ledger_files(repo_dir: Path, env: str = "PRE") -> dict[str, bytes]:
    tree = git.Repo(repo_dir).commit(f"provisioned/{env}").tree
    return {b.name: b.data_stream.read() for b in tree.blobs}


# ----------------------------------------------------------------------------- a missing ledger


def test_a_deleted_ledger_is_refused_unless_init(repo: Path) -> None:
    assert apply_cli(repo, "PRE")[0].exit_code == 0
    git.Repo(repo).git.branch("-D", "provisioned/PRE")
    # Before: everything was planned again as new and the safety rule had nothing to compare.
    res = plan(repo)
    assert res.exit_code == 2
    line = one_line_error(res.output)
    assert "provisioned/PRE does not exist" in line and "--init" in line
    res = cli_run(["apply", "--env", "PRE", "--repo", str(repo)])
    assert res.exit_code == 2 and not ledger_log(repo, "PRE")


def test_init_is_only_for_the_first_apply(repo: Path) -> None:
    assert plan(repo, "PRE", "--init").exit_code == 0
    assert apply_cli(repo, "PRE")[0].exit_code == 0
    res = cli_run(["apply", "--env", "PRE", "--repo", str(repo), "--init"])
    assert res.exit_code == 2
    assert "already exists" in one_line_error(res.output)


def test_a_repository_without_commits_cannot_start_a_ledger(empty_repo: Path) -> None:
    git.Repo.init(empty_repo)
    res = plan(empty_repo, "PRE", "--init")
    assert res.exit_code == 2 and "no commit yet" in res.output


# ----------------------------------------------------------------------------- a moved ledger


def test_a_ledger_moved_to_an_unrelated_commit_is_refused(repo: Path) -> None:
    apply_cli(repo, "PRE")
    repo_git = git.Repo(repo)
    head = repo_git.head.commit.hexsha
    repo_git.git.branch("-f", "provisioned/PRE", head)
    res = plan(repo)
    assert res.exit_code == 2
    line = one_line_error(res.output)
    assert f"commit {head[:12]}" in line and "not written by hestia-provisioner" in line


def test_a_ledger_behind_its_remote_copy_is_refused(repo: Path) -> None:
    apply_cli(repo, "PRE")
    first = tip(repo)
    edit(repo, PIRINEU, "  - 203.0.113.10\n", "  - 203.0.113.11\n")
    commit_all(repo, "new address")
    apply_cli(repo, "PRE")
    second = tip(repo)
    repo_git = git.Repo(repo)
    repo_git.git.update_ref("refs/remotes/origin/provisioned/PRE", second)
    repo_git.git.branch("-f", "provisioned/PRE", first)  # rolled back to an older, valid tip
    res = plan(repo)
    assert res.exit_code == 2
    assert "does not contain origin/provisioned/PRE" in one_line_error(res.output)


def test_a_ref_to_a_tree_is_refused(repo: Path) -> None:
    apply_cli(repo, "PRE")
    repo_git = git.Repo(repo)
    tree = repo_git.commit("provisioned/PRE").tree.hexsha
    (repo / ".git" / "refs" / "heads" / "provisioned" / "PRE").write_text(tree + "\n")
    res = plan(repo)
    assert res.exit_code == 2
    assert "points to a tree" in one_line_error(res.output)


# ----------------------------------------------------------------------------- forged commits


def test_a_hand_made_pre_commit_does_not_open_the_pro_gate(repo: Path) -> None:
    """The attack: a commit on provisioned/PRE that claims PRE holds what PRO will get."""
    apply_cli(repo, "PRE")
    files = ledger_files(repo)
    # Someone with push access writes the next PRE state by hand, as themselves.
    repo_git = git.Repo(repo)
    head = repo_git.head.commit.hexsha
    tree = repo_git.commit("provisioned/PRE").tree.hexsha
    forged = subprocess.run(
        ["git", "commit-tree", tree, "-p", tip(repo), "-m", ledger_message(head)],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env={
            "GIT_AUTHOR_NAME": "Mallory",
            "GIT_AUTHOR_EMAIL": "m@example.invalid",
            "GIT_COMMITTER_NAME": "Mallory",
            "GIT_COMMITTER_EMAIL": "m@example.invalid",
            "PATH": "/usr/bin:/bin",
        },
    ).stdout.strip()
    repo_git.git.branch("-f", "provisioned/PRE", forged)
    res = plan(repo, "PRO", "--init")
    assert res.exit_code == 2
    line = one_line_error(res.output)
    assert f"commit {forged[:12]}" in line and "Mallory" in line
    assert files  # the forged commit even held the right files


def test_a_commit_applied_from_sources_outside_the_history_is_refused(repo: Path) -> None:
    apply_cli(repo, "PRE")
    files = ledger_files(repo)
    forged = record(
        git.Repo(repo), "PRE", tip(repo), files, ledger_message("f" * 40), NOW
    )  # the bot's identity is easy to copy; the source commit must still be ours
    res = plan(repo)
    assert res.exit_code == 2
    line = one_line_error(res.output)
    assert f"commit {forged[:12]}" in line and "not in this checkout's history" in line


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.pop("integrations.json"), "holds other files"),
        (lambda f: f.update({"extra.txt": b"x"}), "holds other files"),
        (lambda f: f.update({"integrations.json": b'{"k": {"ips": 5}}'}), "record k"),
        (lambda f: f.update({"integrations.json": b"[]"}), "records that are not an object"),
        (
            lambda f: f.update({"app-PRE.json": b'{"ip_allowlist": [{}], "permissions": []}'}),
            "cidr",
        ),
        (lambda f: f.update({"app-PRE.json": b"not json"}), "is not JSON"),
        (lambda f: f.update({"sharepoint-manifest.json": b'{"folders": {"a": 1}}'}), "manifest"),
    ],
)
def test_a_ledger_commit_of_the_wrong_shape_is_one_line_not_a_traceback(
    repo: Path, change: Any, expected: str
) -> None:
    apply_cli(repo, "PRE")
    files = ledger_files(repo)
    change(files)
    head = git.Repo(repo).head.commit.hexsha
    bad = record(git.Repo(repo), "PRE", tip(repo), files, ledger_message(head), NOW)
    for args in (["plan", "--env", "PRE"], ["apply", "--env", "PRE"], ["plan", "--env", "PRO"]):
        res = cli_run([*args, "--repo", str(repo), *(["--init"] if "PRO" in args else [])])
        assert res.exit_code == 2, res.output
        line = one_line_error(res.output)
        assert bad[:12] in line and expected in line
    history = cli_run(["history", "--repo", str(repo), "--format", "json"])
    assert history.exit_code == 0  # history shows what is there; it never trusts it for access


def test_a_merge_in_the_ledger_is_refused(repo: Path) -> None:
    apply_cli(repo, "PRE")
    files = ledger_files(repo)
    head = git.Repo(repo).head.commit.hexsha
    side = record(git.Repo(repo), "PRE", tip(repo), files, ledger_message(head), NOW)
    repo_git = git.Repo(repo)
    tree = repo_git.commit(side).tree.hexsha
    merged = subprocess.run(
        ["git", "commit-tree", tree, "-p", side, "-p", head, "-m", ledger_message(head)],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env={
            "GIT_AUTHOR_NAME": BOT_NAME,
            "GIT_AUTHOR_EMAIL": BOT_EMAIL,
            "GIT_COMMITTER_NAME": BOT_NAME,
            "GIT_COMMITTER_EMAIL": BOT_EMAIL,
            "PATH": "/usr/bin:/bin",
        },
    ).stdout.strip()
    repo_git.git.branch("-f", "provisioned/PRE", merged)
    res = plan(repo)
    assert res.exit_code == 2 and f"commit {merged[:12]} is a merge" in res.output


# ----------------------------------------------------------------------------- locks


def test_a_stale_ref_lock_is_reported_as_a_lock(repo: Path) -> None:
    apply_cli(repo, "PRE")
    edit(repo, PIRINEU, "  - 203.0.113.10\n", "  - 203.0.113.11\n")
    commit_all(repo, "new address")
    lock = repo / ".git" / "refs" / "heads" / "provisioned" / "PRE.lock"
    lock.write_text("left by a killed apply\n")
    res = cli_run(["apply", "--env", "PRE", "--repo", str(repo)])
    assert res.exit_code == 2
    assert "locked" in res.output and str(lock) in res.output
    assert "another apply" not in res.output
    lock.unlink()
    assert cli_run(["apply", "--env", "PRE", "--repo", str(repo)]).exit_code == 0


# ----------------------------------------------------------------------------- signing


def ssh_key(folder: Path, name: str) -> tuple[Path, str]:
    """A throw-away SSH key made at test time: (private key file, public key line)."""
    key = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
    )
    return key, key.with_suffix(".pub").read_text().strip()


def sign_ledgers_with(repo: Path, principal: str, public: str) -> None:
    service = repo / "catalog" / "service.yaml"
    text = service.read_text(encoding="utf-8")
    text += f'ledger_signers:\n  - {{name: "{principal}", key: "{public}"}}\n'
    service.write_text(text, encoding="utf-8")
    commit_all(repo, "sign the ledger")


def test_signed_ledger_commits_are_verified(repo: Path, tmp_path: Path) -> None:
    key, public = ssh_key(tmp_path, "ci")
    other, _ = ssh_key(tmp_path, "intruder")
    sign_ledgers_with(repo, "apply@hestia", public)
    args = ["apply", "--env", "PRE", "--repo", str(repo), "--init"]
    res = cli_run(args, env={"HESTIA_PROVISIONER_SIGNING_KEY": ""})
    assert res.exit_code == 2 and "HESTIA_PROVISIONER_SIGNING_KEY" in res.output
    res = cli_run(args, env={"HESTIA_PROVISIONER_SIGNING_KEY": str(key)})
    assert res.exit_code == 0, res.output
    signed = tip(repo)
    # git itself accepts the signature with the catalog's key as the only allowed signer.
    allowed = tmp_path / "allowed"
    allowed.write_text(f'apply@hestia namespaces="git" {public}\n')
    verify = ["verify-commit", signed]
    verified = subprocess.run(
        ["git", "-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={allowed}", *verify],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    res = plan(repo)
    assert res.exit_code == 0, res.output

    # An unsigned commit with everything else right (the bot's name is easy to copy).
    head = git.Repo(repo).head.commit.hexsha
    files = ledger_files(repo)
    forged = record(git.Repo(repo), "PRE", signed, files, ledger_message(head), NOW)
    res = plan(repo)
    assert res.exit_code == 2
    assert f"commit {forged[:12]} is not signed" in one_line_error(res.output)
    # Signed, but by a key the catalog does not list.
    git.Repo(repo).git.branch("-f", "provisioned/PRE", signed)
    intruder = record(
        git.Repo(repo), "PRE", signed, files, ledger_message(head), NOW, signing_key=other
    )
    res = plan(repo)
    assert res.exit_code == 2
    assert f"commit {intruder[:12]} has no good signature" in one_line_error(res.output)


def test_ledger_signers_must_be_usable(repo: Path) -> None:
    sign_ledgers_with(repo, "has space", "ssh-ed25519")
    res = cli_run(["validate", "--repo", str(repo), "--format", "json"])
    assert res.exit_code == 1
    found = [
        d for d in json.loads(res.output)["diagnostics"] if d["code"] == "CATALOG-LEDGER-SIGNER"
    ]
    assert len(found) == 2


# ----------------------------------------------------------------------------- the safety rule


def config(grants: dict[str, list[str]], ips_per_entity: int = 1) -> dict[str, Any]:
    """An APP configuration: ine10 -> modalities, one certificate and some IPs each."""
    perms, ips = [], []
    for n, (ine10, modalities) in enumerate(sorted(grants.items())):
        perms.append(
            {
                "ine10": ine10,
                "name": f"Ens {ine10}",
                "product": "HESTIA",
                "modalities": modalities,
                "certificates": [
                    {
                        "sha256": f"{n:064x}",
                        "subject": "CN=x",
                        "serial": "1",
                        "not_after": "2030-01-01T00:00:00+00:00",
                        "provider": "B00000000",
                    }
                ],
            }
        )
        ips += [
            {"cidr": f"203.0.{n}.{i}/32", "ine10": ine10, "provider": "B00000000", "fp": "1"}
            for i in range(ips_per_entity)
        ]
    return {"environment": "PRE", "ip_allowlist": ips, "permissions": perms}


def plan_between(
    old: dict[str, Any], new: dict[str, Any], earlier: list[tuple[str, Any]] | None = None
) -> Any:
    desired = DesiredState("PRE", new, (), {})
    view = LedgerView(tip="a" * 40, app_config=old, manifest={"folders": {}})
    return make_plan(desired, view, now=NOW, expiry_days=0, earlier_configs=earlier or ())


MODALITIES = ["M1", "M2", "M3", "M4", "M5", "M6"]
ESTATE = {f"08000000{n:02d}": MODALITIES for n in range(13)}


def test_revoking_modalities_everywhere_is_measured() -> None:
    """The attack: 13 entities keep their certificate and IPs but lose 5 of 6 modalities."""
    after = {ine10: ["M1"] for ine10 in ESTATE}
    result = plan_between(config(ESTATE), config(after))
    assert result.safety.blocks
    assert [m.describe() for m in result.safety.tripped] == [
        "revokes 65 of 78 modality grants (more than 30% and more than 3)"
    ]


def test_small_steps_cannot_empty_the_estate() -> None:
    """The attack: four steps, each under 30% of what is left, remove 12 of 14 entities."""
    names = [f"08000000{n:02d}" for n in range(14)]
    states = [config({n: ["M1"] for n in names[: 14 - 3 * step]}) for step in range(5)]
    states[4] = config({n: ["M1"] for n in names[:2]})
    earlier: list[tuple[str, Any]] = []
    blocked_at = None
    for step in range(1, 5):
        result = plan_between(states[step - 1], states[step], earlier)
        single = [m for m in result.safety.measures if m.since is None and m.tripped]
        assert not single  # each step alone is within the limit
        if result.safety.blocks and blocked_at is None:
            blocked_at = step
        earlier.append((f"step {step - 1}", states[step - 1]))
    assert blocked_at == 2
    assert any(
        m.since == "step 0" for m in plan_between(states[3], states[4], earlier).safety.tripped
    )


def test_a_small_estate_keeps_a_meaningful_limit() -> None:
    five = {f"08000000{n:02d}": ["M1"] for n in range(5)}
    one = dict(list(five.items())[:1])
    assert plan_between(config(five), config(one)).safety.blocks  # 4 of 5 entities
    four = dict(list(five.items())[:4])
    assert not plan_between(config(five), config(four)).safety.blocks  # one integration


def test_the_window_is_the_last_applies_and_the_last_week() -> None:
    old = NOW - timedelta(days=30)
    steps = [LedgerStep(f"{i:040x}", (old + timedelta(hours=i)).isoformat()) for i in range(8)]
    assert safety_window(steps, NOW) == 3  # the last five applies
    steps += [LedgerStep(f"{i:040x}", (NOW - timedelta(days=1)).isoformat()) for i in range(9, 17)]
    assert safety_window(steps, NOW) == 8  # every apply of the last seven days
    assert safety_window(steps[:2], NOW) == 0


def test_cumulative_revocations_are_read_from_the_ledger(repo: Path) -> None:
    many_ips(repo, 12)  # 16 IP allowlist entries
    commit_all(repo)
    apply_cli(repo, "PRE")
    for step, keep in enumerate((9, 6), start=1):
        ips = "".join(f"  - 203.0.113.{10 + i}\n" for i in range(12))
        kept = "".join(f"  - 203.0.113.{10 + i}\n" for i in range(keep))
        path = repo / PIRINEU
        text = path.read_text(encoding="utf-8")
        current = ips if step == 1 else "".join(f"  - 203.0.113.{10 + i}\n" for i in range(9))
        path.write_text(text.replace(current, kept), encoding="utf-8")
        commit_all(repo, f"step {step}")
        res, out = apply_cli(repo, "PRE")
        if step == 1:
            assert res.exit_code == 0, res.output  # 3 of 16
    assert res.exit_code == 1  # 3 of 13 now, but 6 of the 16 of the first apply
    warning = next(w for w in out["plan"]["warnings"] if w.startswith("SAFETY"))
    assert "revokes 6 of 16 IP allowlist entries since" in warning
    assert (repo / GESTIO).exists() and CASTELLDEFELS
