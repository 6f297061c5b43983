"""A small GitHub REST client (urllib) for what the workflows post (the sticky review comment,
one issue per finding) and read (the artifact holding main's validation cache). The base URL is
injectable (tests use a local fake).

Credentials only from the environment: GITHUB_TOKEN (or GH_TOKEN), GITHUB_REPOSITORY and
GITHUB_API_URL, which GitHub Actions sets.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
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

Action = Literal["created", "updated", "unchanged", "closed"]
_ISSUE_KEY = re.compile(r"<!-- hestia-provisioner:issue:([a-z0-9:._-]{1,121}) -->")


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

    def repo_url(self, path: str = "") -> str:
        """The repository's own resource (path ""), or one of its sub-resources."""
        return f"{self.api_url}/repos/{self.repository}" + (f"/{path}" if path else "")

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

    def pages(
        self, path: str, key: str | None = None, max_pages: int = MAX_PAGES
    ) -> Iterator[dict[str, Any]]:
        """Every item of a listed resource, following the Link header; key: the field that
        holds the list when the answer is an object (``{"artifacts": [...]}``)."""
        sep = "&" if "?" in path else "?"
        url: str | None = self._url(f"{path}{sep}per_page=100")
        for _ in range(max_pages):
            if url is None:
                return
            if not url.startswith(self.api_url + "/"):
                raise GitHubError(f"the API pointed to {url}, outside {self.api_url}")
            answer, link = self.request("GET", url)
            items = answer.get(key) if key and isinstance(answer, dict) else answer
            if not isinstance(items, list):
                raise GitHubError(f"GET {url}: expected a list")
            yield from (i for i in items if isinstance(i, dict))
            match = _NEXT.search(link)
            url = match.group(1) if match else None

    def download(self, url: str, limit: int) -> bytes:
        """The bytes behind an API URL that answers with a redirect to storage elsewhere (an
        artifact's zip). The token goes to the API only, never to the redirected address;
        more than limit bytes is an error."""
        if not url.startswith(self.api_url + "/"):
            raise GitHubError(f"{url} is outside {self.api_url}")
        req = urllib.request.Request(url)  # noqa: S310 (the API's own URL, http(s))
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        req.add_header("User-Agent", "hestia-provisioner")
        opener = urllib.request.build_opener(_NoRedirect())
        try:
            with opener.open(req, timeout=self.timeout) as resp:
                return _read_limited(resp, limit, url)
        except urllib.error.HTTPError as exc:
            if exc.code not in (301, 302, 303, 307, 308):
                raise GitHubError(f"GET {url}: HTTP {exc.code}") from None
            location = exc.headers.get("Location", "")
        except (urllib.error.URLError, OSError) as exc:
            raise GitHubError(f"GET {url}: {exc}") from None
        # Storage links are https; plain http only when the API itself is (a local test server).
        schemes = ("https", "http") if self.api_url.startswith("http://") else ("https",)
        if urllib.parse.urlsplit(location).scheme not in schemes:
            raise GitHubError(f"GET {url}: redirected to an address that is not https")
        plain = urllib.request.Request(location)  # noqa: S310 (checked just above)
        plain.add_header("User-Agent", "hestia-provisioner")
        try:
            with opener.open(plain, timeout=self.timeout) as resp:
                return _read_limited(resp, limit, "the redirected download")
        except urllib.error.HTTPError as exc:
            raise GitHubError(f"the redirected download: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise GitHubError(f"the redirected download: {exc}") from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by hand: urllib would send the Authorization header along."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _read_limited(resp: Any, limit: int, what: str) -> bytes:
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise GitHubError(f"{what}: {declared} bytes, more than the limit of {limit}")
    data = resp.read(limit + 1)
    if len(data) > limit:
        raise GitHubError(f"{what}: more than the limit of {limit} bytes")
    return bytes(data)


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


def issue_key(body: str) -> str | None:
    """The key of the marker an issue's body holds (None: not one of ours)."""
    match = _ISSUE_KEY.search(body)
    return match.group(1) if match else None


def upsert_issues(
    gh: GitHub,
    specs: Sequence[IssueSpec],
    label: str = ISSUE_LABEL,
    author: str = BOT_LOGIN,
    resolves: Callable[[str], bool] | None = None,
    resolved_note: str = "",
) -> list[tuple[Action, int, str]]:
    """Open one issue per spec, or update the open one that holds its marker: (action, number,
    title) for each. With resolves: every other open issue of ours whose key it accepts (what
    this check covers but no longer found) gets resolved_note as a comment and is closed."""
    open_issues = [
        i
        for i in gh.pages(f"issues?state=open&labels={urllib.parse.quote(label)}")
        if "pull_request" not in i and (i.get("user") or {}).get("login") == author
    ]
    done: list[tuple[Action, int, str]] = []
    for spec in specs:
        body = f"{spec.marker}\n{spec.body}"
        found = next((i for i in open_issues if spec.marker in str(i.get("body") or "")), None)
        if found is None:
            made, _ = gh.request(
                "POST", gh._url("issues"), {"title": spec.title, "body": body, "labels": [label]}
            )
            done.append(("created", _number((made or {}).get("number")), spec.title))
            continue
        number = _number(found.get("number"))
        if found.get("body") == body and found.get("title") == spec.title:
            done.append(("unchanged", number, spec.title))
            continue
        gh.request("PATCH", gh._url(f"issues/{number}"), {"title": spec.title, "body": body})
        done.append(("updated", number, spec.title))
    if resolves is None:
        return done
    current = {spec.key for spec in specs}
    for issue in open_issues:
        key = issue_key(str(issue.get("body") or ""))
        if key is None or key in current or not resolves(key):
            continue
        number = _number(issue.get("number"))
        gh.request("POST", gh._url(f"issues/{number}/comments"), {"body": resolved_note})
        gh.request(
            "PATCH", gh._url(f"issues/{number}"), {"state": "closed", "state_reason": "completed"}
        )
        done.append(("closed", number, str(issue.get("title") or "")))
    return done
