"""Translations of the reports people read (the plan, the history), with gettext catalogs.

English is the source language and the default. A catalog is a gettext `.po` file under
`provisioner/locale/<lang>/LC_MESSAGES/hestia-provisioner.po`, shipped with the package and read
at run time by the small reader below (no compiled `.mo`, no build step, no network). Renderers
call `_()` and `ngettext()`; `language(lang)` chooses the catalog for the duration of a render.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache

DOMAIN = "hestia-provisioner"
LANGUAGES = ("en", "ca")  # English is the source: it needs no catalog


class CatalogProblem(Exception):
    """A .po file that cannot be read; the text says where."""


@dataclass(frozen=True)
class Translations:
    singular: dict[str, str] = field(default_factory=dict)
    plural: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def gettext(self, message: str) -> str:
        return self.singular.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        forms = self.plural.get(singular)
        if not forms:
            return singular if n == 1 else plural
        # Catalan and English: one form for 1, another for every other number.
        index = 0 if n == 1 else 1
        return forms[min(index, len(forms) - 1)] or (singular if n == 1 else plural)


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise CatalogProblem(f"{where}: expected a quoted string, found {text[:40]!r}")
    try:
        value = ast.literal_eval(text)  # a C-style string is a Python string literal
    except (ValueError, SyntaxError) as exc:
        raise CatalogProblem(f"{where}: bad string ({exc})") from None
    if not isinstance(value, str):
        raise CatalogProblem(f"{where}: expected a string")
    return value


def parse_po(text: str, name: str = "catalog") -> Translations:
    """The translations in a .po file: msgid/msgstr and msgid_plural/msgstr[N] entries.

    Fuzzy entries (`#, fuzzy`) and empty translations are left out: English shows instead.
    """
    result = Translations()
    entry: dict[str, str] = {}
    fuzzy = False
    key: str | None = None

    def flush() -> None:
        nonlocal entry, fuzzy
        msgid = entry.get("msgid")
        if msgid and not fuzzy:
            if "msgid_plural" in entry:
                forms = tuple(entry[k] for k in sorted(entry) if k.startswith("msgstr["))
                if any(forms):
                    result.plural[msgid] = forms
            elif entry.get("msgstr"):
                result.singular[msgid] = entry["msgstr"]
        entry, fuzzy = {}, False

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        where = f"{name}:{number}"
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                if entry:
                    flush()
                fuzzy = True
            continue
        if line.startswith('"'):
            if key is None:
                raise CatalogProblem(f"{where}: a string outside an entry")
            entry[key] += _unquote(line, where)
            continue
        word, _, rest = line.partition(" ")
        if word == "msgid" and "msgid" in entry:
            flush()
        if word not in ("msgid", "msgid_plural", "msgstr", "msgctxt") and not (
            word.startswith("msgstr[") and word.endswith("]")
        ):
            raise CatalogProblem(f"{where}: unknown keyword {word!r}")
        key = word
        entry[key] = _unquote(rest, where)
    flush()
    return result


@cache
def translations(lang: str) -> Translations:
    """The catalog of `lang` shipped with the package (English: none needed)."""
    if lang == "en":
        return Translations()
    if lang not in LANGUAGES:
        raise CatalogProblem(f"no catalog for language {lang!r}; use one of {', '.join(LANGUAGES)}")
    from importlib import resources  # a few milliseconds to import: only for a catalog

    path = resources.files("provisioner") / "locale" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogProblem(f"the {lang} catalog cannot be read ({exc})") from None
    return parse_po(text, f"locale/{lang}/LC_MESSAGES/{DOMAIN}.po")


_ENGLISH = Translations()
_CURRENT: ContextVar[Translations | None] = ContextVar("translations", default=None)


def _(message: str) -> str:
    """`message` in the current language (the message itself when untranslated)."""
    return (_CURRENT.get() or _ENGLISH).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return (_CURRENT.get() or _ENGLISH).ngettext(singular, plural, n)


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Render in `lang` inside the block."""
    token = _CURRENT.set(translations(lang))
    try:
        yield
    finally:
        _CURRENT.reset(token)
