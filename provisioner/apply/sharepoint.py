"""The SharePoint store: the document library of the catalog, through office365-rest-python-client.

What the client library does by default is not safe here (escaping gaps, uploads that overwrite,
no retry that honours Retry-After, no read timeout), so this module uses only the calls that are:

- folders are made one level at a time with `web.folders.add(<server-relative path>)` (the path
  is a function argument, which the library escapes; `Folders('name')` segments are not);
- files are found with `getFileByServerRelativePath` and added with
  `folder.files.add(name, data, overwrite=False)`, the only upload that refuses to replace;
- "missing" is decided by HTTP 404, never by the exception class the library picked;
- every call is executed alone, inside our own retry loop (429/503 honour Retry-After, dropped
  connections and timeouts back off exponentially with jitter), capped in attempts and time.

Before the first call that touches a folder, the store checks that the library and the base
folder exist: it never creates them, so a wrong catalog cannot grow a tree in the wrong place.

Authentication (configuration in the environment, see `auth_from_env`) yields a bearer token for
`ClientContext.with_access_token`: a token given as is, or one obtained with MSAL from a
certificate or from the GitHub Actions job's OIDC token (workload identity federation).
"""

from __future__ import annotations

import email.utils
import hashlib
import random
import re
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from provisioner.apply.store import AlreadyExistsError, StoredFile, StoreError, StoreUnavailable
from provisioner.apply.store import StoreWrites as StoreWrites

T = TypeVar("T")
Token = dict[str, Any]

AUTH_MODES = ("token", "certificate", "github-oidc")
OIDC_AUDIENCE = "api://AzureADTokenExchange"
LOGIN_HOST = "https://login.microsoftonline.com"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$")  # a GUID or a domain name
_CLIENT_ID = re.compile(r"^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")
_THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")


# ----------------------------------------------------------------------------- the target


def _unsafe_text(text: str) -> bool:
    """Control, format (bidi) or line-breaking characters: refused in URLs, paths and headers."""
    return any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text)


def check_url(url: str, what: str) -> str:
    """An https URL (http only to this machine, for test servers) without query or fragment."""
    parts = urlsplit(url)
    loopback = parts.hostname in _LOOPBACK
    if (
        _unsafe_text(url)
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username
        or not (parts.scheme == "https" or (parts.scheme == "http" and loopback))
    ):
        raise StoreUnavailable(
            f"{what} {url!r} is not usable: give an https:// URL without query or fragment "
            "(plain http only to 127.0.0.1 or localhost)"
        )
    return url.rstrip("/")


@dataclass(frozen=True)
class Target:
    """Where the documents go: a site, a library (its URL segment) and a folder in it."""

    site_url: str
    library: str
    base_folder: tuple[str, ...]

    @property
    def site_path(self) -> str:
        return urlsplit(self.site_url).path.rstrip("/")

    @property
    def resource(self) -> str:
        """What a token is asked for: the tenant's SharePoint host."""
        parts = urlsplit(self.site_url)
        return f"{parts.scheme}://{parts.netloc}"

    def describe(self) -> str:
        return f"site {self.site_url}, library {self.library}, folder {'/'.join(self.base_folder)}"


def target_from(
    site_url: str, library: str, base_folder: str, environ: Mapping[str, str]
) -> Target:
    """The catalog's target, with SHAREPOINT_SITE_URL (when set) in place of its site URL."""
    url = environ.get("SHAREPOINT_SITE_URL", "").strip() or site_url
    what = (
        "SHAREPOINT_SITE_URL"
        if environ.get("SHAREPOINT_SITE_URL", "").strip()
        else ("sharepoint.site_url in catalog/service.yaml")
    )
    return Target(check_url(url, what), library, tuple(p for p in base_folder.split("/") if p))


# ----------------------------------------------------------------------------- authentication


@dataclass(frozen=True)
class BearerToken:
    """SHAREPOINT_ACCESS_TOKEN used as is (tests, SharePoint-compatible test servers)."""

    token: str = field(repr=False)


@dataclass(frozen=True)
class CertificateLogin:
    """App-only login with a certificate registered on the Entra application."""

    tenant: str
    client_id: str
    cert_path: Path
    thumbprint: str | None = None
    passphrase: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class GitHubOidcLogin:
    """Workload identity federation: the Actions job's OIDC token as a client assertion."""

    tenant: str
    client_id: str
    request_url: str = field(repr=False)
    request_token: str = field(repr=False)
    audience: str = OIDC_AUDIENCE


Auth = BearerToken | CertificateLogin | GitHubOidcLogin


def _need(environ: Mapping[str, str], names: Sequence[str], mode: str) -> list[str]:
    values = [environ.get(n, "").strip() for n in names]
    missing = [n for n, v in zip(names, values, strict=True) if not v]
    if missing:
        raise StoreUnavailable(
            f"SharePoint login ({mode}) needs {', '.join(missing)} in the environment"
        )
    return values


def _tenant_and_client(environ: Mapping[str, str], mode: str) -> tuple[str, str]:
    tenant, client = _need(environ, ("SHAREPOINT_TENANT_ID", "SHAREPOINT_CLIENT_ID"), mode)
    if not _TENANT.match(tenant):
        raise StoreUnavailable("SHAREPOINT_TENANT_ID must be the tenant's ID (a GUID) or domain")
    if not _CLIENT_ID.match(client):
        raise StoreUnavailable("SHAREPOINT_CLIENT_ID must be the application (client) ID, a GUID")
    return tenant, client


def auth_from_env(environ: Mapping[str, str]) -> Auth:
    """Which login the environment configures. StoreUnavailable when none, several or incomplete.

    SHAREPOINT_AUTH names the mode; without it the mode follows from what is set:
    SHAREPOINT_ACCESS_TOKEN, SHAREPOINT_CERT_PATH, or GitHub's ACTIONS_ID_TOKEN_REQUEST_URL.
    """
    mode = environ.get("SHAREPOINT_AUTH", "").strip()
    if mode and mode not in AUTH_MODES:
        raise StoreUnavailable(f"SHAREPOINT_AUTH must be one of {', '.join(AUTH_MODES)}")
    if not mode:
        present = [
            m
            for m, var in (
                ("token", "SHAREPOINT_ACCESS_TOKEN"),
                ("certificate", "SHAREPOINT_CERT_PATH"),
            )
            if environ.get(var, "").strip()
        ]
        if len(present) > 1:
            raise StoreUnavailable(
                "both SHAREPOINT_ACCESS_TOKEN and SHAREPOINT_CERT_PATH are set: set "
                "SHAREPOINT_AUTH to say which login to use"
            )
        if present:
            mode = present[0]
        elif environ.get("ACTIONS_ID_TOKEN_REQUEST_URL", "").strip():
            mode = "github-oidc"
        else:
            raise StoreUnavailable(
                "no SharePoint login is configured: set SHAREPOINT_ACCESS_TOKEN, or "
                "SHAREPOINT_TENANT_ID, SHAREPOINT_CLIENT_ID and SHAREPOINT_CERT_PATH, or run in "
                "GitHub Actions with `id-token: write` and SHAREPOINT_TENANT_ID and "
                "SHAREPOINT_CLIENT_ID (see the README)"
            )
    if mode == "token":
        (token,) = _need(environ, ("SHAREPOINT_ACCESS_TOKEN",), mode)
        if _unsafe_text(token) or " " in token:
            raise StoreUnavailable("SHAREPOINT_ACCESS_TOKEN holds spaces or control characters")
        return BearerToken(token)
    tenant, client = _tenant_and_client(environ, mode)
    if mode == "certificate":
        (cert,) = _need(environ, ("SHAREPOINT_CERT_PATH",), mode)
        thumbprint = environ.get("SHAREPOINT_CERT_THUMBPRINT", "").strip().replace(":", "")
        if thumbprint and not _THUMBPRINT.match(thumbprint):
            raise StoreUnavailable(
                "SHAREPOINT_CERT_THUMBPRINT must be the certificate's SHA-1 thumbprint "
                "(40 hexadecimal digits)"
            )
        return CertificateLogin(
            tenant,
            client,
            Path(cert),
            thumbprint or None,
            environ.get("SHAREPOINT_CERT_PASSPHRASE") or None,
        )
    url, request_token = _need(
        environ, ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"), mode
    )
    return GitHubOidcLogin(tenant, client, url, request_token)


def github_oidc_token(login: GitHubOidcLogin, timeout: tuple[float, float] = (10, 30)) -> str:
    """Ask GitHub for this job's OIDC token (needs `permissions: id-token: write`)."""
    import requests

    url = check_url(login.request_url.split("?", 1)[0], "ACTIONS_ID_TOKEN_REQUEST_URL")
    query = login.request_url.split("?", 1)[1] if "?" in login.request_url else ""
    query = "&".join(p for p in (query, urlencode({"audience": login.audience})) if p)
    try:
        answer = requests.get(
            f"{url}?{query}",
            headers={
                "Authorization": f"bearer {login.request_token}",
                "Accept": "application/json",
            },
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise StoreUnavailable(
            f"cannot reach GitHub for the job's OIDC token ({type(exc).__name__})"
        ) from None
    if answer.status_code != 200:
        raise StoreUnavailable(
            f"GitHub refused the job's OIDC token (HTTP {answer.status_code}); the job needs "
            "`permissions: id-token: write`"
        )
    try:
        value = answer.json().get("value")
    except (ValueError, AttributeError):
        value = None
    if not isinstance(value, str) or not value:
        raise StoreUnavailable("GitHub's answer for the job's OIDC token holds no token")
    return value


def certificate_credential(login: CertificateLogin) -> dict[str, str]:
    """MSAL's client_credential for a PEM file holding the private key (and the certificate)."""
    try:
        pem = login.cert_path.read_bytes()
    except OSError as exc:
        raise StoreUnavailable(
            f"cannot read SHAREPOINT_CERT_PATH {login.cert_path}: {exc.strerror}"
        ) from None
    if b"PRIVATE KEY-----" not in pem:
        raise StoreUnavailable(f"SHAREPOINT_CERT_PATH {login.cert_path} holds no PEM private key")
    thumbprint = login.thumbprint
    if thumbprint is None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise StoreUnavailable(
                f"SHAREPOINT_CERT_PATH {login.cert_path} holds no certificate: add it to the "
                "file or set SHAREPOINT_CERT_THUMBPRINT"
            ) from None
        thumbprint = cert.fingerprint(hashes.SHA1()).hex()  # noqa: S303 (Entra names certs by it)
    credential = {"private_key": pem.decode("ascii", "replace"), "thumbprint": thumbprint.upper()}
    if login.passphrase:
        credential["passphrase"] = login.passphrase
    return credential


def exchange_for_access_token(
    tenant: str,
    client_id: str,
    credential: Mapping[str, str],
    resource: str,
    app_factory: Callable[..., Any] | None = None,
) -> Token:
    """The client-credentials call to Entra ID (MSAL): an app-only token for resource.

    credential is MSAL's client_credential: a private key and thumbprint, or a client assertion.
    """
    if app_factory is None:
        import msal

        app_factory = msal.ConfidentialClientApplication
    try:
        app = app_factory(
            client_id, authority=f"{LOGIN_HOST}/{tenant}", client_credential=dict(credential)
        )
        answer = app.acquire_token_for_client(scopes=[f"{resource}/.default"])
    except Exception as exc:  # MSAL raises ValueError and network errors of several kinds
        raise StoreUnavailable(
            f"SharePoint login failed: {type(exc).__name__} while asking Entra ID for a token"
        ) from None
    if not isinstance(answer, Mapping) or "access_token" not in answer:
        error = answer.get("error", "unknown error") if isinstance(answer, Mapping) else "none"
        detail = answer.get("error_description", "") if isinstance(answer, Mapping) else ""
        first = str(detail).strip().splitlines()[0] if str(detail).strip() else ""
        raise StoreUnavailable(
            f"SharePoint login failed: {error}" + (f" ({first})" if first else "")
        )
    return {
        "access_token": answer["access_token"],
        "token_type": "Bearer",
        "expires_in": int(answer.get("expires_in", 3600)),
    }


def token_source(
    auth: Auth, resource: str, exchange: Callable[..., Token] = exchange_for_access_token
) -> Callable[[], Token]:
    """The callback for ClientContext.with_access_token (called when a token is needed)."""
    if isinstance(auth, BearerToken):
        token = {"access_token": auth.token, "token_type": "Bearer", "expires_in": 3600}
        return lambda: token
    if isinstance(auth, CertificateLogin):
        credential = certificate_credential(auth)  # read now: a bad file fails before any call
        return lambda: exchange(auth.tenant, auth.client_id, credential, resource)
    login = auth
    return lambda: exchange(
        login.tenant, login.client_id, {"client_assertion": github_oidc_token(login)}, resource
    )


# ----------------------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    max_seconds: float = 300.0  # total time spent on one call, waits included
    base_delay: float = 1.0
    max_delay: float = 60.0
    connect_timeout: float = 10.0
    read_timeout: float = 120.0


class _Missing(Exception):
    """The server answered 404."""


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date (relative to now)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# ----------------------------------------------------------------------------- the store


_BAD_SEGMENTS = {"", ".", ".."}


class SharePointStore:
    """The catalog's library on SharePoint Online. Folder paths start with the library."""

    name = "sharepoint"

    def __init__(
        self,
        target: Target,
        token: Callable[[], Token],
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.target_info = target
        self.writes = StoreWrites()
        self.policy = policy or RetryPolicy()
        self.retries = 0  # attempts beyond the first, for reports
        self._token = token
        self._sleep, self._clock, self._jitter, self._now = sleep, clock, jitter, now
        self._ctx: Any = None
        self._verified = False
        self._known: set[str] = set()  # casefolded server-relative folders that exist

    @property
    def target(self) -> str:
        return f"sharepoint ({self.target_info.describe()})"

    # -- paths

    def _server_path(self, folder: Sequence[str], name: str | None = None) -> str:
        parts = [*folder, name] if name is not None else list(folder)
        for part in parts:
            if part in _BAD_SEGMENTS or "/" in part or "\\" in part or _unsafe_text(part):
                raise StoreError(f"{part!r} cannot be a folder or file name in SharePoint")
        return "/".join([self.target_info.site_path, *parts])

    def describe(self, folder: Sequence[str], name: str | None = None) -> str:
        parts = [*folder, name] if name is not None else list(folder)
        return f"{self.target_info.site_url}/{'/'.join(parts)}"

    def _inside_base(self, folder: Sequence[str]) -> None:
        base = (self.target_info.library, *self.target_info.base_folder)
        head = [p.casefold() for p in folder[: len(base)]]
        if len(folder) < len(base) or head != [p.casefold() for p in base]:
            raise StoreError(
                f"{'/'.join(folder)} is outside the base folder {'/'.join(base)}; nothing was "
                "written there"
            )

    # -- the client

    def _context(self) -> Any:
        if self._ctx is None:
            from office365.sharepoint.client_context import ClientContext

            ctx = ClientContext(self.target_info.site_url)
            ctx.with_access_token(self._token)
            ctx.with_transport(timeout=(self.policy.connect_timeout, self.policy.read_timeout))
            self._ctx = ctx
        return self._ctx

    def _call(self, what: str, build: Callable[[Any], T]) -> T:
        """Build one query, execute it alone, retry what is transient. _Missing on 404."""
        import requests

        ctx = self._context()
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            result = build(ctx)
            try:
                ctx.execute_query()
                return result
            except requests.RequestException as exc:
                response = getattr(exc, "response", None)
                status = getattr(response, "status_code", None)
                if status == 404:
                    raise _Missing() from None
                if status in (401, 403):
                    raise StoreUnavailable(
                        f"SharePoint refused the login for {what} (HTTP {status}): check the "
                        "application's rights on the site (Sites.Selected) and the credentials"
                    ) from None
                code = str(getattr(exc, "code", "") or "")
                if status is not None and code.startswith("-2130575257"):
                    raise AlreadyExistsError(what) from None
                if status is not None and status not in (429, 503):
                    message = str(getattr(exc, "message", "") or "").splitlines()
                    detail = f": {message[0]}" if message and message[0] else ""
                    raise StoreError(
                        f"SharePoint answered HTTP {status} to {what}{detail}"
                    ) from None
                reason = f"HTTP {status}" if status is not None else type(exc).__name__
                wait = None
                if response is not None:
                    wait = retry_after_seconds(response.headers.get("Retry-After"), self._now())
                if wait is None:
                    cap = min(self.policy.max_delay, self.policy.base_delay * 2 ** (attempt - 1))
                    wait = cap * (0.5 + self._jitter() / 2)
                elapsed = self._clock() - started
                if attempt >= self.policy.max_attempts or elapsed + wait > self.policy.max_seconds:
                    raise StoreError(
                        f"SharePoint did not complete {what} after {attempt} attempt(s) in "
                        f"{elapsed:.0f} s (last answer: {reason}); try again later"
                    ) from None
                self.retries += 1
                self._sleep(wait)

    # -- checks before writing

    def verify(self) -> None:
        """The library and the base folder exist; StoreUnavailable naming what is missing."""
        if self._verified:
            return
        t = self.target_info
        library = self._server_path([t.library])
        try:
            self._call(f"the check of library {t.library}", lambda c: c.web.get_list(library).get())
        except _Missing:
            raise StoreUnavailable(
                f"the library {t.library!r} does not exist on {t.site_url}: check "
                "sharepoint.site_url and sharepoint.library in catalog/service.yaml (or "
                "SHAREPOINT_SITE_URL); nothing was written"
            ) from None
        base = self._server_path([t.library, *t.base_folder])
        try:
            self._call(
                "the check of the base folder",
                lambda c: c.web.get_folder_by_server_relative_path(base).get(),
            )
        except _Missing:
            raise StoreUnavailable(
                f"the base folder {'/'.join(t.base_folder)!r} does not exist in library "
                f"{t.library!r} on {t.site_url}: create it by hand or fix "
                "sharepoint.base_folder in catalog/service.yaml; nothing was written"
            ) from None
        for i in range(1, len(t.base_folder) + 2):
            self._known.add(self._server_path([t.library, *t.base_folder][:i]).casefold())
        self._verified = True

    # -- the DocumentStore interface

    def ensure_folder(self, folder: Sequence[str]) -> None:
        self._server_path(folder)  # refuse unusable names before any call
        self._inside_base(folder)
        self.verify()
        for i in range(1, len(folder) + 1):
            path = self._server_path(folder[:i])
            if path.casefold() in self._known:
                continue
            try:
                self._add_folder(path)
            except _Missing:
                raise StoreError(f"the parent of {path} disappeared while apply ran") from None
            # SharePoint answers alike whether the folder is new or not: count the requests.
            self.writes.folders += 1
            self._known.add(path.casefold())

    def _add_folder(self, path: str) -> None:
        self._call(f"creating folder {path}", lambda c: c.web.folders.add(path))

    def folder_exists(self, folder: Sequence[str]) -> bool:
        path = self._server_path(folder)
        self.verify()
        if path.casefold() in self._known:
            return True
        try:
            self._call(
                f"looking up folder {path}",
                lambda c: c.web.get_folder_by_server_relative_path(path).get(),
            )
        except _Missing:
            return False
        self._known.add(path.casefold())
        return True

    def lookup_file(self, folder: Sequence[str], name: str) -> StoredFile | None:
        path = self._server_path(folder, name)
        self.verify()
        try:
            found = self._call(
                f"looking up {path}", lambda c: c.web.get_file_by_server_relative_path(path).get()
            )
        except _Missing:
            return None
        props = found.properties
        if props.get("Exists") is False:  # what SharePoint says with $select=Exists
            return None
        try:
            length = int(props["Length"])
        except (KeyError, TypeError, ValueError):
            raise StoreError(f"SharePoint gave no length for {path}") from None
        return StoredFile(self.describe(folder, name), length, lambda: self._sha256(path))

    def _sha256(self, path: str) -> str:
        try:
            content = self._call(
                f"downloading {path}",
                lambda c: c.web.get_file_by_server_relative_path(path).get_content(),
            )
        except _Missing:
            raise StoreError(f"{path} disappeared while it was being compared") from None
        return hashlib.sha256(bytes(content.value)).hexdigest()

    def add_file(self, folder: Sequence[str], name: str, data: bytes) -> None:
        parent = self._server_path(folder)
        self._server_path(folder, name)
        self.verify()
        try:
            self._call(
                f"adding {parent}/{name}",
                lambda c: c.web.get_folder_by_server_relative_path(parent).files.add(
                    name, data, overwrite=False
                ),
            )
        except _Missing:
            raise StoreError(f"the folder {parent} disappeared while apply ran") from None
        self.writes.files += 1


def open_sharepoint_store(
    site_url: str,
    library: str,
    base_folder: str,
    environ: Mapping[str, str],
    *,
    policy: RetryPolicy | None = None,
) -> SharePointStore:
    """The store the configuration describes. StoreUnavailable when it is incomplete."""
    target = target_from(site_url, library, base_folder, environ)
    auth = auth_from_env(environ)
    return SharePointStore(target, token_source(auth, target.resource), policy=policy)
