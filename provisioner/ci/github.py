"""A small GitHub REST client (urllib) for the two things the workflows post: the sticky review
comment and one issue per finding. The base URL is injectable (tests use a local fake).

Credentials only from the environment: GITHUB_TOKEN (or GH_TOKEN), GITHUB_REPOSITORY and
GITHUB_API_URL, which GitHub Actions sets.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from provisioner.ci.gitops import CiEnvironmentError
from provisioner.ci.report import IssueSpec
from provisioner.errors import FatalError

DEFAULT_API = "https://api.github.com"
BOT_LOGIN = "github-actions[bot]"
ISSUE_LABEL = "hestia-provisioner"
MAX_PAGES = 50  # 5,000 comments or issues: far beyond any real pull request
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")

Action = Literal["created", "updated", "unchanged"]


class GitHubError(FatalError):
    """The API answered with an error, or could not be reached (exit 2)."""


@dataclass(frozen=True)
class GitHub:
    api_url: str
    repository: str  # owner/name
    token: str
    timeout: float = 30.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> GitHub:
        token = environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN")
        repository = environ.get("GITHUB_REPOSITORY", "")
        if not token:
            raise CiEnvironmentError("GITHUB_TOKEN is not set: give the step the job's token")
        if not _REPO.fullmatch(repository):
            raise CiEnvironmentError("GITHUB_REPOSITORY is not set to owner/name")
        api = environ.get("GITHUB_API_URL") or DEFAULT_API
        if urllib.parse.urlsplit(api).scheme not in ("https", "http"):
            raise CiEnvironmentError(f"GITHUB_API_URL {api!r} is not an http(s) URL")
        return cls(api.rstrip("/"), repository, token)

    def _url(self, path: str) -> str:
        return f"{self.api_url}/repos/{self.repository}/{path}"

    def request(
        self, method: str, url: str, data: Mapping[str, Any] | None = None
    ) -> tuple[Any, str]:
        """(decoded JSON, Link header)."""
        body = None if data is None else json.dumps(data).encode()
        req = urllib.request.Request(url, data=body, method=method)  # noqa: S310 (http(s) only)
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        req.add_header("User-Agent", "hestia-provisioner")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                raw = resp.read()
                link = resp.headers.get("Link", "")
        except urllib.error.HTTPError as exc:
            detail = exc.read(2000).decode("utf-8", "replace")
            raise GitHubError(f"{method} {url}: HTTP {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise GitHubError(f"{method} {url}: {exc}") from None
        try:
            return (json.loads(raw) if raw else None), link
        except ValueError:
            raise GitHubError(f"{method} {url}: the answer is not JSON") from None

    def pages(self, path: str) -> Iterator[dict[str, Any]]:
        """Every item of a listed resource, following the Link header."""
        sep = "&" if "?" in path else "?"
        url: str | None = self._url(f"{path}{sep}per_page=100")
        for _ in range(MAX_PAGES):
            if url is None:
                return
            if not url.startswith(self.api_url + "/"):
                raise GitHubError(f"the API pointed to {url}, outside {self.api_url}")
            items, link = self.request("GET", url)
            if not isinstance(items, list):
                raise GitHubError(f"GET {url}: expected a list")
            yield from (i for i in items if isinstance(i, dict))
            match = _NEXT.search(link)
            url = match.group(1) if match else None


def _number(value: Any) -> int:
    if not isinstance(value, int):
        raise GitHubError("the API answered without an id")
    return value


def upsert_comment(
    gh: GitHub, pull: int, body: str, marker: str, author: str = BOT_LOGIN
) -> tuple[Action, int]:
    """Update the pull request's comment that holds marker (written by author), or add one."""
    if marker not in body:
        raise ValueError("the body must hold the marker, or the next run adds another comment")
    for comment in gh.pages(f"issues/{pull}/comments"):
        login = (comment.get("user") or {}).get("login")
        if login == author and marker in str(comment.get("body", "")):
            cid = _number(comment.get("id"))
            if comment.get("body") == body:
                return "unchanged", cid
            gh.request("PATCH", gh._url(f"issues/comments/{cid}"), {"body": body})
            return "updated", cid
    made, _ = gh.request("POST", gh._url(f"issues/{pull}/comments"), {"body": body})
    return "created", _number((made or {}).get("id"))


def upsert_issues(
    gh: GitHub,
    specs: Sequence[IssueSpec],
    label: str = ISSUE_LABEL,
    author: str = BOT_LOGIN,
) -> list[tuple[Action, int, IssueSpec]]:
    """Open one issue per spec, or update the open one that holds its marker."""
    open_issues = [
        i
        for i in gh.pages(f"issues?state=open&labels={urllib.parse.quote(label)}")
        if "pull_request" not in i and (i.get("user") or {}).get("login") == author
    ]
    done: list[tuple[Action, int, IssueSpec]] = []
    for spec in specs:
        body = f"{spec.marker}\n{spec.body}"
        found = next((i for i in open_issues if spec.marker in str(i.get("body") or "")), None)
        if found is None:
            made, _ = gh.request(
                "POST", gh._url("issues"), {"title": spec.title, "body": body, "labels": [label]}
            )
            done.append(("created", _number((made or {}).get("number")), spec))
            continue
        number = _number(found.get("number"))
        if found.get("body") == body and found.get("title") == spec.title:
            done.append(("unchanged", number, spec))
            continue
        gh.request("PATCH", gh._url(f"issues/{number}"), {"title": spec.title, "body": body})
        done.append(("updated", number, spec))
    return done
