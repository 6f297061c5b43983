"""A small fake of GitHub's REST API on 127.0.0.1: issue comments and issues, paginated with
Link headers as GitHub does, token checked; and the repository, its workflow runs and artifacts,
whose zip is a redirect to unauthenticated storage (/blob/) as on GitHub. Enough for the comment
and issue upserts and the restore of main's validation cache."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "fake-token-for-tests"
BOT = "github-actions[bot]"


@dataclass
class State:
    repo: str
    page_size: int = 2  # small, so the client must follow the Link header
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> comment
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> issue
    requests: list[tuple[str, str]] = field(default_factory=list)
    fail_with: int | None = None
    link_host: str | None = None  # where next-page links point (default: this server)
    next_id: int = 100
    repo_id: int = 4242
    default_branch: str = "main"
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    blobs: dict[int, bytes] = field(default_factory=dict)  # artifact id -> its zip
    redirect_to: str | None = None  # where the zip link points instead of /blob/<id>
    blob_authorization: list[str | None] = field(default_factory=list)  # headers /blob/ got

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def add_artifact(
        self,
        data: bytes,
        *,
        name: str = "hestia-validation-cache",
        event: str = "push",
        branch: str = "main",
        fork: bool = False,
        workflow: str = "ci.yml",
        expired: bool = False,
        created_at: str = "2030-01-01T00:00:00Z",
        path_style: str = "plain",
    ) -> int:
        """An artifact made by a new run with these properties, as GitHub describes both.
        path_style: "plain" (.github/workflows/x.yml) or "full" (owner/repo/...@ref)."""
        run_id, art_id = self.new_id(), self.new_id()
        head_repo = "someone/fork" if fork else self.repo
        head_id = 999 if fork else self.repo_id
        path = f".github/workflows/{workflow}"
        if path_style == "full":
            path = f"{self.repo}/{path}@refs/heads/{branch}"
        self.runs[run_id] = {
            "id": run_id,
            "event": event,
            "head_branch": branch,
            "head_sha": f"{run_id:040x}",
            "path": path,
            "repository": {"id": self.repo_id, "full_name": self.repo},
            "head_repository": {"id": head_id, "full_name": head_repo},
        }
        self.artifacts.append(
            {
                "id": art_id,
                "name": name,
                "size_in_bytes": len(data),
                "expired": expired,
                "created_at": created_at,
                "workflow_run": {
                    "id": run_id,
                    "repository_id": self.repo_id,
                    "head_repository_id": head_id,
                    "head_branch": branch,
                    "head_sha": f"{run_id:040x}",
                },
            }
        )
        self.blobs[art_id] = data
        return art_id


def serve(state: State) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, data: Any, link: str = "") -> None:
            raw = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            if link:
                self.send_header("Link", link)
            self.end_headers()
            self.wfile.write(raw)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length", "0"))
            return json.loads(self.rfile.read(length) or b"null")

        def _blob(self, path: str) -> None:
            state.blob_authorization.append(self.headers.get("Authorization"))
            data = state.blobs.get(int(path.rpartition("/")[2]))
            if data is None:
                return self._send(404, {"message": "Not Found"})
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _host(self) -> str:
            address = self.server.server_address
            assert isinstance(address, tuple)  # an IPv4 (host, port) server
            return f"http://127.0.0.1:{address[1]}"

        def _actions(self, parts: list[str], query: dict[str, list[str]]) -> None:
            """GET actions/artifacts?name=, actions/runs/<id>, actions/artifacts/<id>/zip."""
            if parts == ["artifacts"]:
                name = query.get("name", [None])[0]
                items = [a for a in state.artifacts if name is None or a["name"] == name]
                return self._send(200, {"total_count": len(items), "artifacts": items})
            if parts[0] == "runs" and len(parts) == 2 and int(parts[1]) in state.runs:
                return self._send(200, state.runs[int(parts[1])])
            if parts[0] == "artifacts" and len(parts) == 3 and parts[2] == "zip":
                if not any(a["id"] == int(parts[1]) for a in state.artifacts):
                    return self._send(404, {"message": "Not Found"})
                self.send_response(302)
                self.send_header("Location", state.redirect_to or f"{self._host()}/blob/{parts[1]}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            return self._send(404, {"message": "Not Found"})

        def _route(self, method: str) -> None:
            url = urlsplit(self.path)
            state.requests.append((method, url.path))
            if method == "GET" and url.path.startswith("/blob/"):
                return self._blob(url.path)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._send(401, {"message": "Bad credentials"})
            if state.fail_with:
                return self._send(state.fail_with, {"message": "boom"})
            if method == "GET" and url.path == f"/repos/{state.repo}":
                info = {"id": state.repo_id, "full_name": state.repo}
                return self._send(200, dict(info, default_branch=state.default_branch))
            prefix = f"/repos/{state.repo}/"
            if not url.path.startswith(prefix):
                return self._send(404, {"message": "Not Found"})
            parts = url.path[len(prefix) :].split("/")
            query = parse_qs(url.query)
            if method == "GET" and parts[0] == "actions":
                return self._actions(parts[1:], query)
            if method == "GET":
                if parts[0] == "issues" and len(parts) == 3 and parts[2] == "comments":
                    items = [c for c in state.comments.values() if c["issue"] == int(parts[1])]
                    return self._page(items, query, url.path)
                if parts == ["issues"]:
                    label = query.get("labels", [""])[0]
                    items = [
                        i
                        for i in state.issues.values()
                        if i["state"] == "open" and (not label or label in i["labels"])
                    ]
                    return self._page(items, query, url.path)
            if method == "POST":
                data = self._body()
                if parts[0] == "issues" and len(parts) == 3 and parts[2] == "comments":
                    cid = state.new_id()
                    state.comments[cid] = {
                        "id": cid,
                        "issue": int(parts[1]),
                        "body": data["body"],
                        "user": {"login": BOT},
                    }
                    return self._send(201, state.comments[cid])
                if parts == ["issues"]:
                    number = state.new_id()
                    state.issues[number] = {
                        "number": number,
                        "title": data["title"],
                        "body": data["body"],
                        "labels": data.get("labels", []),
                        "state": "open",
                        "user": {"login": BOT},
                    }
                    return self._send(201, state.issues[number])
            if method == "PATCH":
                data = self._body()
                if parts[:2] == ["issues", "comments"] and int(parts[2]) in state.comments:
                    state.comments[int(parts[2])]["body"] = data["body"]
                    return self._send(200, state.comments[int(parts[2])])
                if parts[0] == "issues" and len(parts) == 2 and int(parts[1]) in state.issues:
                    state.issues[int(parts[1])].update(data)
                    return self._send(200, state.issues[int(parts[1])])
            return self._send(404, {"message": "Not Found"})

        def _page(self, items: list[Any], query: dict[str, list[str]], path: str) -> None:
            page = int(query.get("page", ["1"])[0])
            size = min(state.page_size, int(query.get("per_page", ["30"])[0]))
            chunk = items[(page - 1) * size : page * size]
            link = ""
            if page * size < len(items):
                rest = "&".join(
                    f"{k}={v[0]}" for k, v in query.items() if k not in ("page", "per_page")
                )
                host = state.link_host or self._host()
                link = f'<{host}{path}?{rest}&per_page={size}&page={page + 1}>; rel="next"'
            self._send(200, chunk, link)

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PATCH(self) -> None:
            self._route("PATCH")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
