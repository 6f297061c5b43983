"""A fake SharePoint Online site for the tests: the REST calls the store makes, over real HTTP.

Bound to 127.0.0.1 on a free port, in memory, answering in OData verbose JSON the way the
office365-rest-python-client expects, with SharePoint's error codes and quirks:

- every request needs `Authorization: Bearer <token>` (401 otherwise); the first call of a client
  is `POST contextInfo` for a form digest, and a POST with a stale digest gets 403 `-2130575251`;
- names are compared without case, as SharePoint does;
- function arguments (`Add('...')`, `DecodedUrl='...'`, `url='...'`) are parsed as OData string
  literals after one URL decoding, so a quote the client forgot to double breaks the request (400)
  and a `#` sent raw never arrives (the client cuts the URL there);
- `Folders/Add` answers 200 with the folder when it already exists and 404 when its parent is
  missing; `Files/add(overwrite=false)` refuses an existing name with `-2130575257`;
- files keep no content hash and their ETag changes on every save.

A request log (method, decoded path, status, outcome) lets tests count calls and writes, and
fault injection reproduces what a busy tenant does: 429/503 with Retry-After, other statuses,
connections dropped before or after the work is done, and slow answers.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

TOKEN = "fake-sharepoint-test-token"  # not a secret: the fake accepts nothing else
SITE = "/sites/Tecnologia"
LIBRARY = "SUPORT_TECNIC"
BASE_FOLDER = "SERVEIS/Hèstia/01 Integració/99 Integracions"

NOT_FOUND = "-2147024894, System.IO.FileNotFoundException"
FILE_NOT_FOUND = "-2130575338, Microsoft.SharePoint.SPException"
ALREADY_EXISTS = "-2130575257, Microsoft.SharePoint.SPException"
BAD_DIGEST = "-2130575251, Microsoft.SharePoint.SPException"
BAD_QUERY = "-1, Microsoft.SharePoint.Client.InvalidClientQueryException"
THROTTLED = "-2147024860, Microsoft.SharePoint.SPQueryThrottledException"


@dataclass
class Logged:
    method: str
    path: str  # after the site's /_api/, URL-decoded
    status: int  # 0 when the connection was dropped
    kind: str  # digest, folder-add, folder-get, list-get, file-get, file-download, file-add, other
    wrote: bool = False  # created a folder or a file


@dataclass
class Fault:
    """What to do instead of (or around) answering one request.

    kind: "status" (answer `status`, with Retry-After when given, doing nothing), "drop-before"
    (close the connection, doing nothing), "drop-after" (do the work, then close without an
    answer), "slow" (wait `delay` seconds, or until the server stops, then answer normally),
    "hook" (call `action(fake)` first, e.g. to let another writer add a file, then answer).
    It applies to the request numbered `at` (0-based, counting every request the fake received)
    or to the next requests matching `match` (method and kind), `times` times.
    """

    kind: str
    at: int | None = None
    match: Callable[[str, str], bool] | None = None
    times: int = 1
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    action: Callable[[FakeSharePoint], None] | None = None


@dataclass
class _File:
    path: str
    data: bytes
    unique_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: int = 1


class _Unparsable(Exception):
    pass


def _literal(text: str, pos: int) -> tuple[str, int]:
    """An OData string literal starting at text[pos] == "'": (value, position after it)."""
    assert text[pos] == "'"
    out: list[str] = []
    i = pos + 1
    while i < len(text):
        if text[i] == "'":
            if i + 1 < len(text) and text[i + 1] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        out.append(text[i])
        i += 1
    raise _Unparsable("unterminated string literal")


def _segments(path: str) -> list[tuple[str, dict[str, str] | None]]:
    """Split an /_api/ path into (name, arguments or None), honouring quoted arguments."""
    out: list[tuple[str, dict[str, str] | None]] = []
    i = 0
    while i < len(path):
        m = re.compile(r"[A-Za-z_$][A-Za-z0-9_.$]*").match(path, i)
        if not m:
            raise _Unparsable(f"unexpected {path[i : i + 20]!r}")
        name, i = m.group(0), m.end()
        args: dict[str, str] | None = None
        if i < len(path) and path[i] == "(":
            args, i = {}, i + 1
            position = 0
            while i < len(path) and path[i] != ")":
                key = str(position)
                km = re.compile(r"([A-Za-z_]+)=").match(path, i)
                if km:
                    key, i = km.group(1), km.end()
                if i < len(path) and path[i] == "'":
                    value, i = _literal(path, i)
                else:
                    vm = re.compile(r"[A-Za-z0-9_]+").match(path, i)
                    if not vm:
                        raise _Unparsable(f"bad argument at {path[i : i + 20]!r}")
                    value, i = vm.group(0), vm.end()
                args[key] = value
                position += 1
                if i < len(path) and path[i] == ",":
                    i += 1
            if i >= len(path):
                raise _Unparsable("unclosed argument list")
            i += 1
        out.append((name, args))
        if i < len(path):
            if path[i] != "/":
                raise _Unparsable(f"unexpected {path[i : i + 20]!r}")
            i += 1
    return out


class FakeSharePoint:
    """The fake site. Use as a context manager; `site_url` is what the client is given."""

    def __init__(
        self,
        *,
        token: str = TOKEN,
        site: str = SITE,
        library: str | None = LIBRARY,
        base_folder: str | None = BASE_FOLDER,
    ) -> None:
        self.token = token
        self.site = site
        self.lock = threading.RLock()
        self.folders: dict[str, str] = {}  # casefolded server-relative path -> as created
        self.files: dict[str, _File] = {}
        self.libraries: dict[str, str] = {}  # casefolded root folder -> title
        self.log: list[Logged] = []
        self.faults: list[Fault] = []
        self.digests: set[str] = set()
        self.received = 0
        self._stop = threading.Event()
        if library is not None:
            self.add_library(library)
            if base_folder is not None:
                self.make_folders(f"{library}/{base_folder}")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll keeps stopping quick: tests start hundreds of these.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # ------------------------------------------------------------------ set-up and inspection

    @property
    def site_url(self) -> str:
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an IPv4 server: (host, port)
        return f"http://{host}:{port}{self.site}"

    def __enter__(self) -> FakeSharePoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def add_library(self, name: str) -> None:
        root = f"{self.site}/{name}"
        self.libraries[root.casefold()] = name
        self.folders[root.casefold()] = root

    def make_folders(self, relative: str) -> None:
        path = self.site
        for part in relative.split("/"):
            path = f"{path}/{part}"
            self.folders.setdefault(path.casefold(), path)

    def put_file(self, relative: str, data: bytes) -> None:
        """Store a file directly (as if someone uploaded it by hand)."""
        path = f"{self.site}/{relative}"
        self.make_folders(relative.rsplit("/", 1)[0])
        self.files[path.casefold()] = _File(path, data)

    def file(self, relative: str) -> bytes | None:
        found = self.files.get(f"{self.site}/{relative}".casefold())
        return found.data if found else None

    def folder_exists(self, relative: str) -> bool:
        return f"{self.site}/{relative}".casefold() in self.folders

    def stored_files(self) -> dict[str, bytes]:
        """Site-relative path (as created) -> content."""
        cut = len(self.site) + 1
        return {f.path[cut:]: f.data for f in self.files.values()}

    def writes(self) -> list[Logged]:
        return [entry for entry in self.log if entry.wrote]

    def count(self, kind: str) -> int:
        return sum(1 for entry in self.log if entry.kind == kind)

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def reset_log(self) -> None:
        with self.lock:
            self.log.clear()
            self.received = 0

    # ------------------------------------------------------------------ the HTTP side

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms stalls

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the request log is fake.log

            def do_GET(self) -> None:
                fake._serve(self)

            def do_POST(self) -> None:
                fake._serve(self)

        return Handler

    def _take_fault(self, index: int, method: str, kind: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                hit = fault.at == index if fault.at is not None else False
                if fault.match is not None and fault.match(method, kind):
                    hit = True
                if hit and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        raw = h.path.split("?", 1)[0]
        prefix = f"{self.site}/_api/"
        decoded = unquote(raw)
        api = decoded[len(prefix) :] if decoded.casefold().startswith(prefix.casefold()) else ""
        kind = _kind(h.command, api)
        with self.lock:
            index = self.received
            self.received += 1
        fault = self._take_fault(index, h.command, kind)
        entry = Logged(h.command, api, 0, kind)
        with self.lock:
            self.log.append(entry)
        if fault is not None and fault.kind == "drop-before":
            _drop(h)
            return
        if fault is not None and fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            code = THROTTLED if fault.status == 429 else "-1, System.Exception"
            entry.status = fault.status
            _send_json(
                h, fault.status, _error(code, "The request has been throttled or failed"), headers
            )
            return
        if fault is not None and fault.kind == "slow":
            self._stop.wait(fault.delay)
        if fault is not None and fault.kind == "hook" and fault.action is not None:
            with self.lock:
                fault.action(self)
        with self.lock:
            status, payload, headers, wrote = self._answer(h, api, body)
        entry.wrote = wrote
        if fault is not None and fault.kind == "drop-after":
            _drop(h)
            return
        entry.status = status
        try:
            if isinstance(payload, bytes):
                _send(h, status, payload, "application/octet-stream", headers)
            else:
                _send_json(h, status, payload, headers)
        except OSError:  # the client gave up waiting (slow answer): nothing to say
            pass

    def _answer(
        self, h: BaseHTTPRequestHandler, api: str, body: bytes
    ) -> tuple[int, Any, dict[str, str], bool]:
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"error_description": "Invalid JWT token."}, {}, False
        if not api:
            return 404, _error(NOT_FOUND, "File Not Found."), {}, False
        try:
            segments = _segments(api)
        except _Unparsable as exc:
            return 400, _error(BAD_QUERY, f"The expression is not valid: {exc}"), {}, False
        names = [n.casefold() for n, _ in segments]
        if h.command == "POST" and names == ["contextinfo"]:
            digest = f"0x{uuid.uuid4().hex.upper()},{len(self.digests)}"
            self.digests.add(digest)
            info = {"FormDigestValue": digest, "FormDigestTimeoutSeconds": 1800}
            return 200, {"d": {"GetContextWebInformation": info}}, {}, False
        if h.command == "POST" and h.headers.get("X-RequestDigest") not in self.digests:
            message = "The security validation for this page is invalid and might be corrupted."
            return 403, _error(BAD_DIGEST, message), {}, False
        if not names or names[0] != "web":
            return 400, _error(BAD_QUERY, "unknown resource"), {}, False
        return self._web(h.command, segments[1:], body)

    def _absolute(self, path: str) -> str:
        return path.rstrip("/") if path.startswith("/") else f"{self.site}/{path}".rstrip("/")

    def _web(
        self, method: str, segs: list[tuple[str, dict[str, str] | None]], body: bytes
    ) -> tuple[int, Any, dict[str, str], bool]:
        names = [n.casefold() for n, _ in segs]
        args = [a or {} for _, a in segs]
        if method == "POST" and names == ["folders", "add"] and "0" in args[1]:
            return self._add_folder(self._absolute(args[1]["0"]))
        if names[:1] == ["getlist"] and "0" in args[0] and method == "GET" and len(names) == 1:
            root = self._absolute(args[0]["0"]).casefold()
            if root not in self.libraries:
                return 404, _error(NOT_FOUND, "File Not Found."), {}, False
            return 200, {"d": self._list_json(root)}, {}, False
        if names[:1] == ["getfolderbyserverrelativepath"] and "DecodedUrl" in args[0]:
            folder = self._absolute(args[0]["DecodedUrl"])
            if names[1:] == [] and method == "GET":
                found = self.folders.get(folder.casefold())
                if found is None:
                    return 404, _error(NOT_FOUND, "File Not Found."), {}, False
                return 200, {"d": self._folder_json(found)}, {}, False
            if names[1:] == ["files", "add"] and method == "POST":
                return self._add_file(folder, args[2], body)
        if names[:1] == ["getfilebyserverrelativepath"] and "DecodedUrl" in args[0]:
            path = self._absolute(args[0]["DecodedUrl"])
            found_file = self.files.get(path.casefold())
            if found_file is None:
                message = f"The file {path} does not exist."
                return 404, _error(FILE_NOT_FOUND, message), {}, False
            if names[1:] == [] and method == "GET":
                return 200, {"d": self._file_json(found_file)}, {}, False
            if names[1:] == ["$value"] and method == "GET":
                return 200, found_file.data, {}, False
        return 400, _error(BAD_QUERY, "This fake does not serve that request."), {}, False

    def _add_folder(self, path: str) -> tuple[int, Any, dict[str, str], bool]:
        if not path.casefold().startswith(self.site.casefold() + "/"):
            return 404, _error(NOT_FOUND, "File Not Found."), {}, False
        found = self.folders.get(path.casefold())
        if found is not None:
            return 200, {"d": self._folder_json(found)}, {}, False
        parent = path.rsplit("/", 1)[0]
        # A folder at the site's root is allowed (as in SharePoint): it is not a library.
        if parent.casefold() not in self.folders and parent.casefold() != self.site.casefold():
            return 404, _error(NOT_FOUND, "File Not Found."), {}, False
        if path.casefold() in self.files:
            return (
                400,
                _error(ALREADY_EXISTS, f"A file with the name {path} already exists."),
                {},
                False,
            )
        self.folders[path.casefold()] = path
        return 200, {"d": self._folder_json(path)}, {}, True

    def _add_file(
        self, folder: str, args: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str], bool]:
        name = args.get("url")
        if not name or "/" in name:
            return 400, _error(BAD_QUERY, "url is required"), {}, False
        if folder.casefold() not in self.folders:
            return 404, _error(NOT_FOUND, "File Not Found."), {}, False
        path = f"{self.folders[folder.casefold()]}/{name}"
        existing = self.files.get(path.casefold())
        if existing is not None:
            if args.get("overwrite", "false").casefold() != "true":
                message = f"A file with the name {path} already exists."
                return 400, _error(ALREADY_EXISTS, message), {}, False
            existing.data, existing.version = body, existing.version + 1
            return 200, {"d": self._file_json(existing)}, {}, True
        created = _File(path, body)
        self.files[path.casefold()] = created
        return 200, {"d": self._file_json(created)}, {}, True

    def _list_json(self, root: str) -> dict[str, Any]:
        return {
            "__metadata": {"type": "SP.List"},
            "Title": self.libraries[root],
            "BaseTemplate": 101,
            "Id": str(uuid.uuid5(uuid.NAMESPACE_URL, root)),
        }

    def _folder_json(self, path: str) -> dict[str, Any]:
        return {
            "__metadata": {"type": "SP.Folder"},
            "Exists": True,
            "Name": path.rsplit("/", 1)[-1],
            "ServerRelativeUrl": path,
            "UniqueId": str(uuid.uuid5(uuid.NAMESPACE_URL, path.casefold())),
            "ItemCount": 0,
        }

    def _file_json(self, f: _File) -> dict[str, Any]:
        return {
            "__metadata": {"type": "SP.File"},
            "Exists": True,
            "Length": str(len(f.data)),  # Int64 comes as text in OData verbose
            "Name": f.path.rsplit("/", 1)[-1],
            "ServerRelativeUrl": f.path,
            "ETag": f'"{{{f.unique_id.upper()}}},{f.version}"',
            "UniqueId": f.unique_id,
        }


def _kind(method: str, api: str) -> str:
    low = api.casefold()
    if low == "contextinfo":
        return "digest"
    if low.startswith("web/folders/add("):
        return "folder-add"
    if low.startswith("web/getlist("):
        return "list-get"
    if low.startswith("web/getfolderbyserverrelativepath("):
        return "file-add" if "/files/add(" in low else "folder-get"
    if low.startswith("web/getfilebyserverrelativepath("):
        return "file-download" if low.endswith("/$value") else "file-get"
    return "other"


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": {"lang": "en-US", "value": message}}}


def _send(
    h: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str, headers: dict[str, str]
) -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(data)))
    for key, value in headers.items():
        h.send_header(key, value)
    h.end_headers()
    h.wfile.write(data)


def _send_json(
    h: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str]
) -> None:
    data = json.dumps(payload).encode()
    _send(h, status, data, "application/json;odata=verbose;charset=utf-8", headers)


def _drop(h: BaseHTTPRequestHandler) -> None:
    """Close the connection without a word, as a proxy or a dying front end does."""
    h.close_connection = True
    with suppress(OSError):
        h.connection.shutdown(socket.SHUT_RDWR)


@contextmanager
def running(**kwargs: Any) -> Iterator[FakeSharePoint]:
    with FakeSharePoint(**kwargs) as fake:
        yield fake
