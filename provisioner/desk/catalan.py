"""Catalan names in running text: the article a name takes and its contractions.

"l'Ajuntament de Vic", "del Consell Comarcal", "a la Mancomunitat", "pel Consorci", "d'Altre
Proveïdor SL". The article is derived from the name's first word (its gender, number and initial
sound); the register may override it (`article:` in catalog/entities.yaml) for the names the
rules below get wrong. Pure functions, no I/O.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

Article = Literal["el", "la", "l'", "els", "les", ""]
ARTICLES: tuple[Article, ...] = ("el", "la", "l'", "els", "les", "")

# First words whose gender the ending does not tell (lower case, accents kept).
_MASCULINE = frozenset(
    {
        "ajuntament",
        "consell",
        "consorci",
        "patronat",
        "servei",
        "districte",
        "govern",
        "departament",
        "centre",
        "institut",
        "organisme",
        "ens",
        "àmbit",
        "municipi",
        "col·legi",
    }
)
_FEMININE = frozenset(
    {
        "mancomunitat",
        "comunitat",
        "diputació",
        "fundació",
        "agrupació",
        "associació",
        "corporació",
        "federació",
        "entitat",
        "agència",
        "àrea",
        "xarxa",
        "societat",
        "comarca",
        "ciutat",
        "vila",
        "unió",
        "universitat",
        "institució",
        "unitat",
    }
)
_PLURAL_MASCULINE = frozenset({"serveis", "ajuntaments", "consells", "municipis"})
_PLURAL_FEMININE = frozenset({"àrees", "entitats", "mancomunitats"})
# Feminine words that begin with an unstressed i or u keep "la": "la Universitat", "la Unió".
_NO_ELISION = frozenset({"unió", "universitat", "institució", "unitat", "il·lustre"})
_VOWELS = frozenset("aeiou")


def _plain(letter: str) -> str:
    """A letter without its accent, in lower case: 'À' -> 'a'."""
    return unicodedata.normalize("NFD", letter)[:1].lower()


def starts_with_vowel_sound(word: str) -> bool:
    """Elision happens before a vowel or a silent h and a vowel ("l'Hospitalet", "d'Hèstia")."""
    if not word:
        return False
    first = _plain(word[0])
    if first in _VOWELS:
        return True
    return first == "h" and len(word) > 1 and _plain(word[1]) in _VOWELS


def _split_leading_article(name: str) -> tuple[Article | None, str]:
    """A name that already begins with its article ("La Mancomunitat X"): the article apart."""
    for prefix in ("l'", "l’"):
        if name[: len(prefix)].lower() == prefix and len(name) > len(prefix):
            return "l'", name[len(prefix) :]
    first, _, rest = name.partition(" ")
    lowered = first.lower()
    if rest and lowered in ("el", "la", "els", "les"):
        return lowered, rest  # type: ignore[return-value]
    return None, name


def derive_article(name: str) -> Article:
    """The definite article a public body's name takes in running text."""
    given, body = _split_leading_article(name.strip())
    if given is not None:
        return given
    word = body.split(" ", 1)[0].strip(",.;:()").lower()
    if not word:
        return ""
    if word in _PLURAL_MASCULINE:
        return "els"
    if word in _PLURAL_FEMININE:
        return "les"
    feminine = word in _FEMININE or (
        word not in _MASCULINE and word.endswith(("ció", "sió", "tat", "a"))
    )
    if starts_with_vowel_sound(word) and word not in _NO_ELISION:
        return "l'"
    return "la" if feminine else "el"


_CONTRACTED = {
    ("de", "el"): "del",
    ("de", "els"): "dels",
    ("a", "el"): "al",
    ("a", "els"): "als",
    ("per", "el"): "pel",
    ("per", "els"): "pels",
}


@dataclass(frozen=True)
class CatalanName:
    """A name and the article it takes; the forms a sentence needs, ready to paste."""

    name: str  # as written, without a leading article
    article: Article

    @property
    def bare(self) -> str:
        return self.name

    def _with(self, preposition: str | None) -> str:
        article = self.article
        if preposition is None:
            if not article:
                return self.name
            return f"{article}{self.name}" if article == "l'" else f"{article} {self.name}"
        if not article:
            if preposition == "de" and starts_with_vowel_sound(self.name):
                return f"d'{self.name}"
            return f"{preposition} {self.name}"
        if (preposition, article) in _CONTRACTED:
            return f"{_CONTRACTED[(preposition, article)]} {self.name}"
        joined = f"{article}{self.name}" if article == "l'" else f"{article} {self.name}"
        return f"{preposition} {joined}"

    @property
    def the(self) -> str:
        """ "l'Ajuntament de Vic", "el Consell Comarcal de ..."."""
        return self._with(None)

    @property
    def of(self) -> str:
        """ "de l'Ajuntament", "del Consell", "de la Mancomunitat", "d'Altre SL"."""
        return self._with("de")

    @property
    def to(self) -> str:
        """ "a l'Ajuntament", "al Consell", "a la Mancomunitat"."""
        return self._with("a")

    @property
    def by(self) -> str:
        """ "per l'Ajuntament", "pel Consell", "per la Mancomunitat"."""
        return self._with("per")

    @property
    def the_capitalised(self) -> str:
        """The article form at the start of a sentence: "L'Ajuntament", "El Consell"."""
        text = self.the
        return text[:1].upper() + text[1:]


def catalan_name(name: str, article: Article | None = None) -> CatalanName:
    """`name` with its article: `article` when given (the register's override), else derived.

    A name the register writes with its article ("La Mancomunitat ...") keeps it apart.
    """
    given, body = _split_leading_article(name.strip())
    if article is None:
        article = given if given is not None else derive_article(body)
    return CatalanName(body if given is not None else name.strip(), article)


def bare_name(name: str) -> CatalanName:
    """A company's name: no article ("el proveïdor X" is written in the template)."""
    return CatalanName(name.strip(), "")
