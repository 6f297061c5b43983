"""The status site's pages as HTML, from the site model, with Jinja2 (autoescape on).

Pure apart from reading this package's own templates: returns {file name: HTML}; the edge
writes them. Every value that reaches a page passes through `visible` (control and bidi
characters shown as code points, so a hostile name cannot hide or reorder text) and then
through Jinja2's HTML escaping. The stylesheet and the filtering script are inline and
allowed by their hashes in each page's Content-Security-Policy, which also forbids loading
anything else: the site works as files, with no server and no network.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Any

from provisioner.site.model import Site, page_name
from provisioner.vocabulary import ENVIRONMENT_NAMES

INDEX, CERTIFICATES, PENDING = "index.html", "certificats.html", "pendent.html"
KINDS = {"new": "alta", "integrated": "canvis", "removed": "baixa"}

# Bidi embeddings, overrides, isolates and marks: they reorder what surrounds them.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def visible(value: Any) -> Any:
    """Text with its control, format and bidi characters shown as [U+XXXX]."""
    if not isinstance(value, str) or hasattr(value, "__html__"):
        return value  # not text, or already HTML (our own packaged assets)
    if value.isprintable() and not _BIDI.intersection(value):
        return value
    return "".join(
        f"[U+{ord(ch):04X}]"
        if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")
        else ch
        for ch in value
    )


def _asset(name: str) -> str:
    return resources.files("provisioner.site").joinpath("templates", name).read_text("utf-8")


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("provisioner.site", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=visible,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    css, script = _asset("site.css"), _asset("filter.js")
    env.globals.update(
        css=_markup(css),
        script=_markup(script),
        csp=(
            "default-src 'none'; "
            f"style-src 'sha256-{_digest(css)}'; "
            f"script-src 'sha256-{_digest(script)}'; "
            "img-src 'none'; base-uri 'none'; form-action 'none'"
        ),
        envs=ENVIRONMENT_NAMES,
        kinds=KINDS,
        page_of=page_name,
    )
    return env


def _markup(text: str) -> Any:
    from markupsafe import Markup

    return Markup(text)  # noqa: S704 - our own packaged asset, not data


def render_site(site: Site) -> dict[str, str]:
    """Every page: the overview, the certificates, the pending work, one page per entity."""
    env = _environment()
    pages = {
        INDEX: env.get_template("index.html").render(site=site),
        CERTIFICATES: env.get_template("certificates.html").render(site=site),
        PENDING: env.get_template("pending.html").render(site=site),
    }
    entity = env.get_template("entity.html")
    for page in site.entities:
        pages[page.page] = entity.render(site=site, entity=page)
    return pages
