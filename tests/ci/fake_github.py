"""A small fake of GitHub's REST API on 127.0.0.1: issue comments and issues, paginated with
Link headers as GitHub does, token checked. Enough for the comment and issue upserts."""

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

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


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

        def _route(self, method: str) -> None:
            url = urlsplit(self.path)
            state.requests.append((method, url.path))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._send(401, {"message": "Bad credentials"})
            if state.fail_with:
                return self._send(state.fail_with, {"message": "boom"})
            prefix = f"/repos/{state.repo}/"
            if not url.path.startswith(prefix):
                return self._send(404, {"message": "Not Found"})
            parts = url.path[len(prefix) :].split("/")
            query = parse_qs(url.query)
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
                address = self.server.server_address
                assert isinstance(address, tuple)  # an IPv4 (host, port) server
                host = state.link_host or f"http://127.0.0.1:{address[1]}"
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
