"""The SharePoint store with the real office365-rest-python-client against the fake SharePoint.

Every test talks HTTP to tests/apply/fake_sharepoint.py on 127.0.0.1. Waits go through an
injected sleep and clock, so throttling is tested without waiting.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from provisioner.apply.sharepoint import (
    BearerToken,
    CertificateLogin,
    GitHubOidcLogin,
    RetryPolicy,
    SharePointStore,
    auth_from_env,
    certificate_credential,
    exchange_for_access_token,
    github_oidc_token,
    open_sharepoint_store,
    retry_after_seconds,
    target_from,
    token_source,
)
from provisioner.apply.store import ConflictError, StoreError, StoreUnavailable, ensure_file
from tests.apply.fake_sharepoint import (
    BASE_FOLDER,
    LIBRARY,
    TOKEN,
    FakeSharePoint,
    Fault,
)

BASE = (LIBRARY, *BASE_FOLDER.split("/"))
CLIENT_ID = "00000000-0000-4000-8000-000000000001"
TENANT = "00000000-0000-4000-8000-000000000002"


class Waits:
    """An injected clock: sleeping advances it, nothing really waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeSharePoint]:
    with FakeSharePoint() as server:
        yield server


def make_store(
    fake: FakeSharePoint,
    waits: Waits | None = None,
    policy: RetryPolicy | None = None,
    token: str = TOKEN,
) -> SharePointStore:
    waits = waits or Waits()
    target = target_from(fake.site_url, LIBRARY, BASE_FOLDER, {})
    return SharePointStore(
        target,
        token_source(BearerToken(token), target.resource),
        policy=policy,
        sleep=waits.sleep,
        clock=waits.clock,
        jitter=lambda: 0.5,
    )


def put(store: SharePointStore, folder: tuple[str, ...], name: str, data: bytes) -> bool:
    store.ensure_folder(folder)
    return ensure_file(store, folder, name, data, hashlib.sha256(data).hexdigest())


def rel(folder: tuple[str, ...], name: str) -> str:
    return "/".join([*folder, name])


# ----------------------------------------------------------------------------- names


NAMES = [
    ("FP265594 Ajuntament de l'Hospitalet de Llobregat", "CDA l'Hospitalet.pem"),
    ("FP1 Consell Comarcal de l'Alta Ribagorça", "formulari d'Urgell.pdf"),
    ("FP2 Ens #1 al 100% & Cia + Co", "doc #3 100%.pdf"),
    ("FP3 Ajuntament d'Urgell %41%2F", "a%41b%25c.pdf"),
    ("FP4 Àèéíïòóúüç·l ÑñŁ", "fitxer amb accents àç.pdf"),
    ("FP5 O''Brien ''doble'' {claus} [x] (y) ;,=@$!~", "a+b&c=d;e,f'g.pdf"),
]


@pytest.mark.parametrize(("folder_name", "file_name"), NAMES)
def test_hostile_names_land_exactly_where_they_should(
    fake: FakeSharePoint, folder_name: str, file_name: str
) -> None:
    store = make_store(fake)
    folder = (*BASE, folder_name)
    assert put(store, folder, file_name, b"%PDF-1.7 exact bytes")
    assert fake.stored_files() == {rel(folder, file_name): b"%PDF-1.7 exact bytes"}
    assert fake.folder_exists("/".join(folder))
    # A second run finds it by the same escaped path and writes nothing.
    writes = len(fake.writes())
    assert not put(make_store(fake), folder, file_name, b"%PDF-1.7 exact bytes")
    assert len(fake.writes()) == writes
    assert all("overwrite=false" in e.path for e in fake.log if e.kind == "file-add")


def test_first_run_costs_one_digest_one_request_per_new_folder_and_two_per_file(
    fake: FakeSharePoint,
) -> None:
    store = make_store(fake)
    for n in range(3):
        folder = (*BASE, f"FP{n} Ajuntament {n}")
        for name in ("cda.pem", "form.pdf"):
            assert put(store, folder, name, f"{n}{name}".encode())
    kinds = [e.kind for e in fake.log]
    assert kinds.count("digest") == 1
    assert kinds.count("list-get") == 1 and kinds.count("folder-get") == 1  # the target check
    assert kinds.count("folder-add") == 3  # the base folder's levels are known from the check
    assert kinds.count("file-get") == 6 and kinds.count("file-add") == 6
    assert len(kinds) == 1 + 2 + 3 + 12
    assert (store.writes.folders, store.writes.files) == (3, 6)


def test_repeat_run_compares_and_writes_nothing(fake: FakeSharePoint) -> None:
    folder = (*BASE, "FP7 Ajuntament de Vic")
    put(make_store(fake), folder, "cda.pem", b"certificate")
    fake.reset_log()
    assert not put(make_store(fake), folder, "cda.pem", b"certificate")
    assert fake.writes() == []
    assert [e.kind for e in fake.log].count("file-download") == 1  # same length: hash it


# ----------------------------------------------------------------------------- never clobber


def test_other_bytes_of_the_same_length_are_a_conflict_that_changes_nothing(
    fake: FakeSharePoint,
) -> None:
    folder = (*BASE, "FP8 Ajuntament de Vic")
    fake.put_file(rel(folder, "form.pdf"), b"AAAA")
    with pytest.raises(ConflictError, match="same length, different SHA-256"):
        put(make_store(fake), folder, "form.pdf", b"BBBB")
    assert fake.file(rel(folder, "form.pdf")) == b"AAAA"
    assert fake.count("file-add") == 0


def test_other_length_is_a_conflict_found_without_downloading(fake: FakeSharePoint) -> None:
    folder = (*BASE, "FP9 Ajuntament de Vic")
    fake.put_file(rel(folder, "form.pdf"), b"short")
    with pytest.raises(ConflictError, match="5 bytes stored, 9 bytes to add"):
        put(make_store(fake), folder, "form.pdf", b"much more")
    assert fake.count("file-download") == 0
    assert fake.file(rel(folder, "form.pdf")) == b"short"


def test_names_differing_only_in_case_are_the_same_file(fake: FakeSharePoint) -> None:
    folder = (*BASE, "FP10 Ajuntament de Vic")
    fake.put_file(rel(folder, "FORM.PDF"), b"other")
    with pytest.raises(ConflictError):
        put(make_store(fake), folder, "form.pdf", b"mine!")
    assert fake.stored_files() == {rel(folder, "FORM.PDF"): b"other"}


@pytest.mark.parametrize(("theirs", "conflict"), [(b"same bytes", False), (b"their bytes", True)])
def test_a_file_that_appears_between_lookup_and_upload_is_judged_not_replaced(
    fake: FakeSharePoint, theirs: bytes, conflict: bool
) -> None:
    folder = (*BASE, "FP11 Ajuntament de Vic")
    path = rel(folder, "cda.pem")
    fake.inject(
        Fault(
            "hook",
            match=lambda method, kind: kind == "file-add",
            action=lambda f: f.put_file(path, theirs),
        )
    )
    store = make_store(fake)
    if conflict:
        with pytest.raises(ConflictError):
            put(store, folder, "cda.pem", b"same bytes")
    else:
        assert not put(store, folder, "cda.pem", b"same bytes")
    assert fake.file(path) == theirs
    assert [e.status for e in fake.log if e.kind == "file-add"] == [400]


# ----------------------------------------------------------------------------- the target


def test_a_missing_library_is_refused_before_anything_is_written() -> None:
    with FakeSharePoint(library=None) as fake:
        with pytest.raises(StoreUnavailable, match="library 'SUPORT_TECNIC' does not exist"):
            put(make_store(fake), (*BASE, "FP1 X"), "a.pdf", b"x")
        assert fake.writes() == [] and fake.count("folder-add") == 0


def test_a_missing_base_folder_is_refused_not_created() -> None:
    with FakeSharePoint(base_folder=None) as fake:
        with pytest.raises(StoreUnavailable, match="base folder 'SERVEIS/Hèstia/01 Integració"):
            put(make_store(fake), (*BASE, "FP1 X"), "a.pdf", b"x")
        assert fake.writes() == []
        assert not fake.folder_exists(f"{LIBRARY}/SERVEIS")


def test_folders_outside_the_base_folder_are_refused(fake: FakeSharePoint) -> None:
    with pytest.raises(StoreError, match="outside the base folder"):
        make_store(fake).ensure_folder((LIBRARY, "SERVEIS", "elsewhere"))
    assert fake.log == []


@pytest.mark.parametrize("bad", ["a/b", "..", "", "x\u202ey", "tab\there"])
def test_unusable_names_are_refused_before_any_request(fake: FakeSharePoint, bad: str) -> None:
    with pytest.raises(StoreError):
        make_store(fake).ensure_folder((*BASE, bad))
    assert fake.log == []


def test_a_refused_token_is_a_login_error(fake: FakeSharePoint) -> None:
    with pytest.raises(StoreUnavailable, match="refused the login"):
        put(make_store(fake, token="not-the-token"), (*BASE, "FP1 X"), "a.pdf", b"x")
    assert fake.writes() == []


def test_a_stale_form_digest_is_refreshed_by_the_client(fake: FakeSharePoint) -> None:
    store = make_store(fake)
    put(store, (*BASE, "FP1 X"), "a.pdf", b"x")
    fake.digests.clear()  # as after 30 minutes
    assert put(store, (*BASE, "FP2 Y"), "b.pdf", b"y")
    assert fake.count("digest") == 2
    assert fake.file(rel((*BASE, "FP2 Y"), "b.pdf")) == b"y"


def test_drift_lookups(fake: FakeSharePoint) -> None:
    store = make_store(fake)
    assert store.folder_exists(BASE)
    assert not store.folder_exists((*BASE, "FP404 nowhere"))
    assert store.lookup_file((*BASE, "FP404 nowhere"), "a.pdf") is None


# ----------------------------------------------------------------------------- resilience


def test_throttling_honours_retry_after_one_call_at_a_time(fake: FakeSharePoint) -> None:
    waits = Waits()
    fake.inject(Fault("status", match=lambda m, k: k == "folder-add", status=429, retry_after="7"))
    fake.inject(Fault("status", match=lambda m, k: k == "file-add", status=503, retry_after="3"))
    assert put(make_store(fake, waits), (*BASE, "FP1 X"), "a.pdf", b"x")
    assert waits.slept == [7.0, 3.0]
    kinds = [(e.kind, e.status) for e in fake.log]
    # Each refused call is repeated at once, before anything that builds on it.
    assert kinds[3:5] == [("folder-add", 429), ("folder-add", 200)]
    assert kinds[-2:] == [("file-add", 503), ("file-add", 200)]


def test_without_retry_after_the_wait_backs_off_exponentially(fake: FakeSharePoint) -> None:
    waits = Waits()
    fake.inject(Fault("status", match=lambda m, k: k == "file-get", status=503, times=3))
    policy = RetryPolicy(base_delay=2.0, max_delay=5.0)
    assert put(make_store(fake, waits, policy), (*BASE, "FP1 X"), "a.pdf", b"x")
    # jitter fixed at 0.5: 75% of 2, 4, then the 5 s cap
    assert waits.slept == [1.5, 3.0, 3.75]


def test_attempts_are_capped_with_a_one_line_error(fake: FakeSharePoint) -> None:
    waits = Waits()
    fake.inject(Fault("status", match=lambda m, k: k == "folder-add", status=429, times=99))
    with pytest.raises(StoreError) as caught:
        put(make_store(fake, waits, RetryPolicy(max_attempts=4)), (*BASE, "FP1 X"), "a", b"x")
    message = str(caught.value)
    assert "\n" not in message
    assert "after 4 attempt(s)" in message and "HTTP 429" in message
    assert fake.count("folder-add") == 4 and fake.writes() == []


def test_total_time_is_capped(fake: FakeSharePoint) -> None:
    waits = Waits()
    fake.inject(Fault("status", match=lambda m, k: k == "folder-add", status=429, retry_after="40"))
    with pytest.raises(StoreError, match="after 1 attempt"):
        put(make_store(fake, waits, RetryPolicy(max_seconds=30)), (*BASE, "FP1 X"), "a", b"x")
    assert waits.slept == []


def test_retry_after_as_an_http_date(fake: FakeSharePoint) -> None:
    now = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=12), True), now) == 12
    assert retry_after_seconds("-5", now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


# The form digest (contextInfo) is the one call the client library retries by itself, with real
# waits of several seconds: it is left out here.
@pytest.mark.parametrize("kind", ["folder-add", "file-get", "file-add", "folder-get", "list-get"])
def test_dropped_connections_are_retried_without_duplicates(
    fake: FakeSharePoint, kind: str
) -> None:
    fake.inject(Fault("drop-after", match=lambda m, k: k == kind))
    waits = Waits()
    assert put(make_store(fake, waits), (*BASE, "FP1 X"), "a.pdf", b"x") in (True, False)
    assert fake.stored_files() == {rel((*BASE, "FP1 X"), "a.pdf"): b"x"}
    assert [e.kind for e in fake.writes()] == ["folder-add", "file-add"]
    assert len(waits.slept) == 1


def test_a_connection_dropped_before_the_work_is_retried(fake: FakeSharePoint) -> None:
    fake.inject(Fault("drop-before", match=lambda m, k: k == "file-add"))
    assert put(make_store(fake), (*BASE, "FP1 X"), "a.pdf", b"x")
    assert [e.status for e in fake.log if e.kind == "file-add"] == [0, 200]


def test_slow_answers_time_out_and_are_retried(fake: FakeSharePoint) -> None:
    fake.inject(Fault("slow", match=lambda m, k: k == "file-get", delay=30))
    policy = RetryPolicy(read_timeout=0.5)
    assert put(make_store(fake, policy=policy), (*BASE, "FP1 X"), "a.pdf", b"x")
    assert [e.kind for e in fake.log].count("file-get") == 2


def test_other_server_errors_stop_at_once(fake: FakeSharePoint) -> None:
    fake.inject(Fault("status", match=lambda m, k: k == "file-add", status=500))
    with pytest.raises(StoreError, match="HTTP 500"):
        put(make_store(fake), (*BASE, "FP1 X"), "a.pdf", b"x")
    assert fake.count("file-add") == 1


# ----------------------------------------------------------------------------- configuration


def test_site_url_override_and_its_checks() -> None:
    env = {"SHAREPOINT_SITE_URL": "https://other.sharepoint.com/sites/Proves/"}
    target = target_from("https://aoc.sharepoint.com/sites/Tecnologia", "L", "a/b", env)
    assert target.site_url == "https://other.sharepoint.com/sites/Proves"
    assert target.resource == "https://other.sharepoint.com"
    assert target.base_folder == ("a", "b")
    for bad in (
        "http://aoc.sharepoint.com/sites/x",
        "https://h/s?x=1",
        "https://h/s\u202e",
        "ftp://h",
    ):
        with pytest.raises(StoreUnavailable, match="SHAREPOINT_SITE_URL"):
            target_from(
                "https://aoc.sharepoint.com/sites/T", "L", "a", {"SHAREPOINT_SITE_URL": bad}
            )
    local = target_from(
        "https://x.sharepoint.com/s", "L", "a", {"SHAREPOINT_SITE_URL": "http://127.0.0.1:9/s"}
    )
    assert local.site_url == "http://127.0.0.1:9/s"


def test_auth_mode_follows_from_the_environment() -> None:
    assert auth_from_env({"SHAREPOINT_ACCESS_TOKEN": "abc"}) == BearerToken("abc")
    cert = auth_from_env(
        {
            "SHAREPOINT_TENANT_ID": TENANT,
            "SHAREPOINT_CLIENT_ID": CLIENT_ID,
            "SHAREPOINT_CERT_PATH": "/run/secrets/app.pem",
            "SHAREPOINT_CERT_THUMBPRINT": "AB:" * 19 + "AB",
        }
    )
    assert isinstance(cert, CertificateLogin) and cert.thumbprint == "AB" * 20
    oidc = auth_from_env(
        {
            "SHAREPOINT_TENANT_ID": "aoc.onmicrosoft.com",
            "SHAREPOINT_CLIENT_ID": CLIENT_ID,
            "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.actions.example/x?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runner-secret",
        }
    )
    assert isinstance(oidc, GitHubOidcLogin)
    assert "runner-secret" not in repr(oidc)  # secrets stay out of messages and logs
    assert "abc" not in repr(BearerToken("abc"))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "no SharePoint login is configured"),
        ({"SHAREPOINT_AUTH": "secret"}, "SHAREPOINT_AUTH must be one of"),
        (
            {"SHAREPOINT_ACCESS_TOKEN": "a", "SHAREPOINT_CERT_PATH": "/x"},
            "set SHAREPOINT_AUTH",
        ),
        ({"SHAREPOINT_AUTH": "token"}, "needs SHAREPOINT_ACCESS_TOKEN"),
        ({"SHAREPOINT_ACCESS_TOKEN": "a b"}, "spaces or control"),
        ({"SHAREPOINT_CERT_PATH": "/x"}, "needs SHAREPOINT_TENANT_ID, SHAREPOINT_CLIENT_ID"),
        (
            {
                "SHAREPOINT_CERT_PATH": "/x",
                "SHAREPOINT_TENANT_ID": "a/b",
                "SHAREPOINT_CLIENT_ID": CLIENT_ID,
            },
            "SHAREPOINT_TENANT_ID must be",
        ),
        (
            {
                "SHAREPOINT_CERT_PATH": "/x",
                "SHAREPOINT_TENANT_ID": TENANT,
                "SHAREPOINT_CLIENT_ID": "app",
            },
            "SHAREPOINT_CLIENT_ID must be",
        ),
        (
            {
                "SHAREPOINT_CERT_PATH": "/x",
                "SHAREPOINT_TENANT_ID": TENANT,
                "SHAREPOINT_CLIENT_ID": CLIENT_ID,
                "SHAREPOINT_CERT_THUMBPRINT": "xyz",
            },
            "SHA-1 thumbprint",
        ),
        (
            {
                "SHAREPOINT_AUTH": "github-oidc",
                "SHAREPOINT_TENANT_ID": TENANT,
                "SHAREPOINT_CLIENT_ID": CLIENT_ID,
            },
            "needs ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        ),
    ],
)
def test_incomplete_login_configuration_says_what_is_missing(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(StoreUnavailable, match=message):
        auth_from_env(environ)


def make_pem(tmp_path: Path, with_cert: bool = True) -> tuple[Path, str]:
    """A key and self-signed certificate made now (DEMO material), and its SHA-1 thumbprint."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DEMO app login")])
    start = datetime(2030, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    if with_cert:
        pem += cert.public_bytes(serialization.Encoding.PEM)
    path = tmp_path / "app.pem"
    path.write_bytes(pem)
    return path, cert.fingerprint(hashes.SHA1()).hex().upper()


def test_certificate_credential_reads_key_and_thumbprint(tmp_path: Path) -> None:
    path, thumbprint = make_pem(tmp_path)
    credential = certificate_credential(CertificateLogin(TENANT, CLIENT_ID, path))
    assert credential["thumbprint"] == thumbprint
    assert "PRIVATE KEY" in credential["private_key"]
    given = certificate_credential(CertificateLogin(TENANT, CLIENT_ID, path, "ab" * 20, "pw"))
    assert given["thumbprint"] == "AB" * 20 and given["passphrase"] == "pw"


def test_certificate_problems_are_clear(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="cannot read SHAREPOINT_CERT_PATH"):
        certificate_credential(CertificateLogin(TENANT, CLIENT_ID, tmp_path / "none.pem"))
    (tmp_path / "cert-only.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    with pytest.raises(StoreUnavailable, match="no PEM private key"):
        certificate_credential(CertificateLogin(TENANT, CLIENT_ID, tmp_path / "cert-only.pem"))
    path, _ = make_pem(tmp_path, with_cert=False)
    with pytest.raises(StoreUnavailable, match="holds no certificate"):
        certificate_credential(CertificateLogin(TENANT, CLIENT_ID, path))


class Entra:
    """Stands in for msal.ConfidentialClientApplication: records the call, answers as told."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def __call__(self, client_id: str, authority: str, client_credential: Any) -> Entra:
        self.calls.append(
            {"client_id": client_id, "authority": authority, "credential": client_credential}
        )
        return self

    def acquire_token_for_client(self, scopes: list[str]) -> Any:
        self.calls.append({"scopes": scopes})
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_token_exchange_asks_for_the_sharepoint_host_and_reports_failures() -> None:
    entra = Entra({"access_token": "t0k", "expires_in": 1200})
    token = exchange_for_access_token(
        TENANT, CLIENT_ID, {"client_assertion": "jwt"}, "https://aoc.sharepoint.com", entra
    )
    assert token == {"access_token": "t0k", "token_type": "Bearer", "expires_in": 1200}
    assert entra.calls == [
        {
            "client_id": CLIENT_ID,
            "authority": f"https://login.microsoftonline.com/{TENANT}",
            "credential": {"client_assertion": "jwt"},
        },
        {"scopes": ["https://aoc.sharepoint.com/.default"]},
    ]
    refused = Entra({"error": "invalid_client", "error_description": "AADSTS700213: no match\nx"})
    with pytest.raises(StoreUnavailable, match=r"login failed: invalid_client \(AADSTS700213"):
        exchange_for_access_token(TENANT, CLIENT_ID, {}, "https://h", refused)
    with pytest.raises(StoreUnavailable, match="ValueError while asking Entra ID"):
        exchange_for_access_token(TENANT, CLIENT_ID, {}, "https://h", Entra(ValueError("x")))


class OidcEndpoint:
    """GitHub's ID-token endpoint on 127.0.0.1: checks the runner token, echoes the audience."""

    def __init__(self, status: int = 200, body: bytes | None = None) -> None:
        self.seen: list[tuple[str, str | None]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                endpoint.seen.append((self.path, self.headers.get("Authorization")))
                ok = self.headers.get("Authorization") == "bearer runner-token"
                data = body if body is not None else b'{"value": "oidc.jwt.value"}'
                self.send_response(status if ok else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def login(self, token: str = "runner-token") -> GitHubOidcLogin:
        port = self.server.server_address[1]
        return GitHubOidcLogin(
            TENANT, CLIENT_ID, f"http://127.0.0.1:{port}/idtoken?api-version=2.0", token
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_github_oidc_token_is_requested_for_entra_s_audience() -> None:
    endpoint = OidcEndpoint()
    try:
        assert github_oidc_token(endpoint.login()) == "oidc.jwt.value"
        path, auth = endpoint.seen[0]
        assert path == "/idtoken?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange"
        assert auth == "bearer runner-token"
        with pytest.raises(StoreUnavailable, match=r"HTTP 401.*id-token: write"):
            github_oidc_token(endpoint.login("wrong"))
    finally:
        endpoint.close()


def test_github_oidc_token_failures_are_one_clear_line() -> None:
    endpoint = OidcEndpoint(body=b'{"count": 1}')
    try:
        with pytest.raises(StoreUnavailable, match="holds no token"):
            github_oidc_token(endpoint.login())
    finally:
        endpoint.close()
    port = endpoint.server.server_address[1]
    gone = GitHubOidcLogin(TENANT, CLIENT_ID, f"http://127.0.0.1:{port}/idtoken", "t")
    with pytest.raises(StoreUnavailable, match="cannot reach GitHub"):
        github_oidc_token(gone, timeout=(1, 1))


def test_federated_login_passes_the_oidc_token_as_client_assertion() -> None:
    endpoint = OidcEndpoint()
    seen: list[tuple[Any, ...]] = []

    def exchange(*args: Any) -> dict[str, Any]:
        seen.append(args)
        return {"access_token": "x", "token_type": "Bearer", "expires_in": 60}

    try:
        token = token_source(endpoint.login(), "https://aoc.sharepoint.com", exchange)()
    finally:
        endpoint.close()
    assert token["access_token"] == "x"
    assert seen == [
        (TENANT, CLIENT_ID, {"client_assertion": "oidc.jwt.value"}, "https://aoc.sharepoint.com")
    ]


def test_certificate_login_reads_the_file_before_any_call(tmp_path: Path) -> None:
    path, thumbprint = make_pem(tmp_path)
    seen: list[Any] = []

    def exchange(*args: Any) -> dict[str, Any]:
        seen.append(args)
        return {}

    source = token_source(CertificateLogin(TENANT, CLIENT_ID, path), "https://h", exchange)
    assert seen == []
    source()
    assert seen[0][2]["thumbprint"] == thumbprint
    with pytest.raises(StoreUnavailable):
        token_source(CertificateLogin(TENANT, CLIENT_ID, tmp_path / "gone"), "https://h")


def test_open_sharepoint_store_from_the_environment(fake: FakeSharePoint) -> None:
    env = {"SHAREPOINT_SITE_URL": fake.site_url, "SHAREPOINT_ACCESS_TOKEN": TOKEN}
    store = open_sharepoint_store("https://aoc.sharepoint.com/sites/T", LIBRARY, BASE_FOLDER, env)
    assert store.target == (
        f"sharepoint (site {fake.site_url}, library {LIBRARY}, folder {BASE_FOLDER})"
    )
    assert put(store, (*BASE, "FP1 X"), "a.pdf", b"x")
    assert TOKEN not in store.target
