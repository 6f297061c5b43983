"""`ci`: the steps the GitHub workflows run, as tested commands instead of shell in YAML."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from provisioner.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    current_time,
    env_option,
    format_option,
    lang_option,
    ledger_init_names,
    repo_option,
    resolve_repo,
)
from provisioner.text import visible, workflow_data
from provisioner.vocabulary import ENVIRONMENT_NAMES

F = TypeVar("F", bound=Callable[..., Any])


def _remote_option(fn: F) -> F:
    return click.option(
        "--remote", default="origin", show_default=True, help="The git remote of the ledger."
    )(fn)


def _fetch_option(fn: F) -> F:
    return click.option(
        "--fetch",
        is_flag=True,
        help="Fetch main and provisioned/* from the remote first (CI's checkout already did).",
    )(fn)


def _refused(exc: Exception) -> NoReturn:
    from provisioner.ci.gitops import Refused

    code = EXIT_PROBLEMS if isinstance(exc, Refused) else EXIT_USAGE
    click.echo(f"{'refused' if code == EXIT_PROBLEMS else 'error'}: {exc}", err=True)
    sys.exit(code)


def _repo(root: Path, remote: str, fetch: bool) -> Any:
    from provisioner.ci import gitops

    if remote.startswith("-"):
        raise gitops.CiEnvironmentError(f"--remote {remote!r} is not a remote name")
    repo = gitops.open_repo(root)
    if fetch:
        gitops.fetch(repo, remote)
    return repo


@click.group()
def ci() -> None:
    """Steps of the GitHub workflows (ledger, freshness, review comment, issues)."""


@ci.command("fetch-ledger")
@click.option(
    "--init",
    "init",
    multiple=True,
    envvar="HESTIA_LEDGER_INIT",
    metavar="ENV",
    help="An environment never applied yet: its missing ledger is not an error (first apply). "
    "Also read from HESTIA_LEDGER_INIT (space separated).",
)
@_remote_option
@_fetch_option
@repo_option
def fetch_ledger(init: tuple[str, ...], remote: str, fetch: bool, repo: Path | None) -> None:
    """Make the local provisioned/* branches from the remote's; a missing ledger fails."""
    from provisioner.ci import gitops

    try:
        git_repo = _repo(resolve_repo(repo), remote, fetch)
        states = gitops.local_ledgers(git_repo, gitops.parse_init(init), remote)
    except (gitops.CiEnvironmentError, gitops.Refused) as exc:
        _refused(exc)
    for state in states:
        click.echo(state.note)


@ci.command("check-fresh")
@env_option
@click.option(
    "--commit",
    envvar="GITHUB_SHA",
    required=True,
    help="The commit about to be applied (default: $GITHUB_SHA).",
)
@_remote_option
@_fetch_option
@repo_option
def check_fresh(env: str, commit: str, remote: str, fetch: bool, repo: Path | None) -> None:
    """Refuse unless COMMIT is the tip of main and the ledger was applied from an ancestor."""
    from provisioner.ci import gitops

    try:
        if not gitops.is_sha(commit):
            raise gitops.CiEnvironmentError(f"--commit {commit!r} is not a full commit SHA")
        fresh = gitops.check_fresh(_repo(resolve_repo(repo), remote, fetch), env, commit, remote)
    except (gitops.CiEnvironmentError, gitops.Refused) as exc:
        _refused(exc)
    click.echo(fresh.text(env))


@ci.command("push-ledger")
@env_option
@_remote_option
@repo_option
def push_ledger(env: str, remote: str, repo: Path | None) -> None:
    """Push provisioned/ENV by compare-and-swap (never forced); prints a markdown line.

    The token comes from GITHUB_TOKEN and is handed to this one git process only.
    """
    from provisioner.ci import gitops

    try:
        git_repo = _repo(resolve_repo(repo), remote, False)
        token = os.environ.get("GITHUB_TOKEN")
        pushed = gitops.push_ledger(git_repo, env, remote, gitops.auth_environment(token))
    except (gitops.CiEnvironmentError, gitops.Refused) as exc:
        _refused(exc)
    click.echo(pushed.markdown())


def _github_output(name: str, value: str) -> None:
    """Append a multi-line step output, with a delimiter no content can forge."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        raise click.UsageError("--github-output needs GITHUB_OUTPUT (set by GitHub Actions)")
    delimiter = f"EOF_{secrets.token_hex(16)}"
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def _env_plans(root: Path, lang: str = "en") -> list[Any]:
    """PRE as planned, and PRO as if that PRE plan were applied; validation runs once."""
    from provisioner.apply.pipeline import prepare
    from provisioner.ci.report import EnvPlan
    from provisioner.cli.render import diagnostics_markdown
    from provisioner.i18n import _, language
    from provisioner.plan.render import render_markdown
    from provisioner.rules.run import validate
    from provisioner.runtime import local_edges

    out = []
    now = current_time()
    report = validate(root, edges=local_edges(root), now=now)
    for env in ENVIRONMENT_NAMES:
        prepared = prepare(
            root,
            env,  # type: ignore[arg-type]  # one of ENVIRONMENT_NAMES
            now=now,
            assume_pre_applied=True,
            report=report,
            # A first apply: the missing ledger was named by HESTIA_LEDGER_INIT, as for
            # fetch-ledger; once the ledger exists the variable changes nothing.
            init=env in ledger_init_names(),
            strict_init=False,
        )
        if prepared.problems:
            text = diagnostics_markdown(prepared.problems, report.files)
            out.append(EnvPlan(env, "**Validation failed: no plan.**\n\n" + text, True, None))
            continue
        plan = prepared.plan
        assert plan is not None  # no problems: a plan was made
        note = ""
        with language(lang):
            if env == "PRO":
                note = (
                    _(
                        "PRO is planned as if the PRE plan above were applied "
                        "(apply-pre runs first)."
                    )
                    if prepared.assumed_pre is not None
                    else _(
                        "PRO is planned against the PRE ledger as it is (the PRE plan is refused)."
                    )
                )
            markdown = render_markdown(plan)
        out.append(EnvPlan(env, markdown, plan.refused, plan.previous_tip, note))
    return out


@ci.command("review-comment")
@click.option("--head", "head", required=True, help="The pull request's head commit.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the comment here (default: standard output).",
)
@click.option(
    "--github-output",
    "output_name",
    metavar="NAME",
    help="Also set the step output NAME to the comment (for the job that posts it).",
)
@click.option(
    "--summary",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also append the comment to this file (CI: $GITHUB_STEP_SUMMARY).",
)
@lang_option
@repo_option
def review_comment(
    head: str,
    out: Path | None,
    output_name: str | None,
    summary: Path | None,
    lang: str,
    repo: Path | None,
) -> None:
    """The pull request's plan comment for PRE and PRO; exit 1 when a plan is refused."""
    from provisioner.ci.gitops import is_sha
    from provisioner.ci.report import review_comment as build

    if not is_sha(head):
        raise click.BadParameter("a full commit SHA is expected", param_hint="--head")
    from provisioner.apply.ledger import ci_run

    run_url = ci_run(os.environ).url
    plans = _env_plans(resolve_repo(repo), lang)
    from provisioner.i18n import language

    with language(lang):
        body = build(plans, head, run_url)
    if out is not None:
        out.write_text(body, encoding="utf-8")
    else:
        click.echo(body, nl=False)
    if output_name:
        _github_output(output_name, body)
    if summary is not None:
        with summary.open("a", encoding="utf-8") as handle:
            handle.write(body)
    sys.exit(EXIT_PROBLEMS if any(p.refused for p in plans) else EXIT_OK)


def _github() -> Any:
    from provisioner.ci.github import GitHub
    from provisioner.ci.gitops import CiEnvironmentError

    try:
        return GitHub.from_environ(os.environ)
    except CiEnvironmentError as exc:
        _refused(exc)


@ci.command("post-comment")
@click.option("--pull", type=click.IntRange(min=1), required=True, help="Pull request number.")
@click.option(
    "--body-file",
    type=click.File("r", encoding="utf-8"),
    required=True,
    help="The comment (from `ci review-comment`); - for standard input.",
)
def post_comment(pull: int, body_file: Any) -> None:
    """Add the plan comment to the pull request, or update the one already there."""
    from provisioner.ci.github import GitHubError, upsert_comment
    from provisioner.ci.report import PLAN_MARKER

    body = body_file.read()
    if PLAN_MARKER not in body:
        raise click.BadParameter("not a plan comment (no marker)", param_hint="--body-file")
    try:
        action, cid = upsert_comment(_github(), pull, body, PLAN_MARKER)
    except GitHubError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"plan comment {action} (id {cid}) on pull request #{pull}")


def _post(
    specs: list[Any],
    fmt: str,
    post: bool,
    resolves: Callable[[str], bool] | None = None,
    check: str = "",
) -> NoReturn:
    """Print the issues (exit 1 when there is any), or open or update them on GitHub and close
    those of `resolves` that the check no longer finds."""
    import json

    from provisioner.ci.github import GitHubError, upsert_issues
    from provisioner.ci.report import resolved_note

    if not post:
        if fmt == "json":
            click.echo(json.dumps([s.as_dict() for s in specs], indent=2, ensure_ascii=False))
        else:
            click.echo("\n\n".join(f"## {s.title}\n\n{s.body}" for s in specs) or "nothing found")
        sys.exit(EXIT_PROBLEMS if specs else EXIT_OK)
    from provisioner.apply.ledger import ci_run

    note = resolved_note(check, ci_run(os.environ).url)
    try:
        done = upsert_issues(_github(), specs, resolves=resolves, resolved_note=note)
    except GitHubError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    for action, number, title in done:
        click.echo(f"issue #{number} {action}: {visible(title)}")
    if not specs:
        click.echo("nothing found: no issue opened")
    sys.exit(EXIT_OK)


_post_option = click.option(
    "--post",
    is_flag=True,
    help="Open or update the issues on GitHub, and close those no longer found (else only "
    "print them).",
)


@ci.command("certificate-issues")
@click.option(
    "--expiring-within",
    "within",
    type=click.IntRange(min=0, max=3650),
    default=60,
    show_default=True,
    metavar="DAYS",
)
@_post_option
@format_option("markdown", "json")
@click.option(
    "--now",
    type=click.DateTime(["%Y-%m-%d"]),
    hidden=True,
    help="The day to check as (tests and what-if checks).",
)
@repo_option
def certificate_issues(
    within: int, post: bool, fmt: str, now: datetime | None, repo: Path | None
) -> None:
    """One issue per CDA or trust root that expires within DAYS (or cannot be read).

    Without --post: print them and exit 1 when there is any. With --post, the issue of a
    certificate no longer found (renewed, or no longer named) is closed with a comment.
    """
    from provisioner.ci.certificates import expiring
    from provisioner.ci.report import certificate_issue

    now = now.replace(tzinfo=UTC) if now else current_time()
    found, roots_checked = expiring(resolve_repo(repo), within, now)
    # Trust roots are only answered for when the catalog loaded and they were looked at.
    kinds = ("cda:", "trust-root:") if roots_checked else ("cda:",)
    _post(
        [certificate_issue(c, now, within) for c in found],
        fmt,
        post,
        resolves=lambda key: key.startswith(kinds),
        check="weekly certificate check",
    )


@ci.command("drift-issue")
@env_option
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The output of `drift --env ENV --format json`.",
)
@click.option(
    "--drift-exit",
    type=int,
    required=True,
    help="drift's exit code: 0 no drift, 1 drift (issues), anything else: the check failed.",
)
@click.option(
    "--summary",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also append the drift report as markdown to this file (CI: $GITHUB_STEP_SUMMARY).",
)
@_post_option
@format_option("markdown", "json")
def drift_issue(
    env: str, report_file: Path, drift_exit: int, summary: Path | None, post: bool, fmt: str
) -> None:
    """One issue per drifting folder of ENV's store: opened, or updated in place; with --post,
    the issues of folders that no longer drift are closed with a comment."""
    from provisioner.ci.report import drift_issues, drift_scope, parse_drift_json

    if drift_exit not in (0, 1):
        click.echo(f"error: the drift check itself failed (exit {drift_exit})", err=True)
        sys.exit(EXIT_USAGE)
    try:
        found = parse_drift_json(report_file.read_text(encoding="utf-8"))
        if found.environment != env:
            raise ValueError(f"the report is about {found.environment!r:.40}, not {env}")
        if bool(found.items) != (drift_exit == 1):
            raise ValueError(f"drift exited {drift_exit} but its report lists {len(found.items)}")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        click.echo(f"error: {report_file}: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if summary is not None:
        with summary.open("a", encoding="utf-8") as handle:
            handle.write(_drift_markdown(found) + "\n")
    _post(drift_issues(found), fmt, post, resolves=drift_scope(env), check="weekly drift check")


def _drift_markdown(found: Any) -> str:
    """The drift report as `drift --format markdown` writes it."""
    from provisioner.apply.drift import DriftItem, DriftReport, drift_markdown

    report = DriftReport(found.environment, found.store, found.folders_checked, found.files_checked)
    report.items = [DriftItem(i.kind, i.path, i.detail) for i in found.items]
    return drift_markdown(report)


@ci.command("restore-cache")
@click.option(
    "--name",
    default=None,
    help="The artifact's name (default: the one the ci workflow uploads).",
)
@click.option(
    "--workflow",
    default=None,
    help="The workflow file whose push runs on the default branch made it (default: ci.yml).",
)
@format_option("text", "github")
@repo_option
def restore_cache(name: str | None, workflow: str | None, fmt: str, repo: Path | None) -> None:
    """Restore the cache folder from the newest artifact of a push to the default branch.

    For the pull-request check: never from a pull request's or a fork's run. The folder is the
    one HESTIA_PROVISIONER_CACHE_DIR names (in CI it must be set, outside the checkout), else
    .provisioner/cache/; one that exists already is kept as it is. Whatever fails, it warns
    and exits 0: the check then runs cold (slower, same verdicts).
    """
    from provisioner.ci import cache_artifact as cache
    from provisioner.ci.github import GitHub
    from provisioner.ci.gitops import CiEnvironmentError
    from provisioner.runtime.settings import CACHE_DIR_ENV, Settings

    name = name or cache.CACHE_ARTIFACT
    workflow = workflow or cache.CACHE_WORKFLOW
    root = resolve_repo(repo)
    settings = Settings.read(os.environ)
    target = settings.cache_folder(root)
    try:
        if target is None:
            raise cache.CacheRestoreError(
                f"caches are off (in CI, {CACHE_DIR_ENV} names a folder outside the checkout)"
                if settings.cache
                else "caches are off"
            )
        restored, skipped = cache.restore(GitHub.from_environ(os.environ), target, name, workflow)
    except (cache.CacheRestoreError, CiEnvironmentError) as exc:
        message = f"validation cache not restored, this check runs cold: {exc}"
        if fmt == "github":
            click.echo(f"::warning title=Validation cache::{workflow_data(message)}")
        else:
            click.echo(f"warning: {visible(message)}", err=True)
        sys.exit(EXIT_OK)
    art = restored.artifact
    for why in skipped:
        click.echo(f"passed over {visible(why)}")
    click.echo(
        f"validation cache restored: {restored.files} file(s), {restored.size} bytes, from "
        f"artifact {art.id} of run {art.run_id} (commit {visible(art.head_sha[:12])}, "
        f"{visible(art.created_at)})"
    )
