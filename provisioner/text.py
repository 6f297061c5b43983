"""Text from a file is data: what a name may hold, and how each output medium escapes it.

Every name, path and free text read from a file can reach a terminal, a GitHub Actions log
(where a line starting with `::` is a command), a markdown comment on a pull request (where
`<!--` hides the rest, `@name` pings someone, `[x](url)` links), a git commit message (where a
`Key: value` line is a trailer) and a SharePoint folder name. So:

- `problem(text, multiline=...)` says why a value may not be used at all: control characters
  (C0, C1, DEL), line and paragraph separators, bidirectional overrides, zero-width and other
  invisible format characters, unusual spaces. Free text may hold line breaks and tabs.
- `mixed_scripts(text)` finds look-alike spellings: letters of several scripts in one name
  ("Аjuntament" with a Cyrillic A).
- the escapers make any text, even one that slipped past the checks (a ledger record, a git
  author), inert in its medium.

Pure functions, standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Categories refused in every value: controls, format characters (bidi overrides, zero-width
#: joiners, soft hyphen, tags), surrogates, private use, line and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_FREE_TEXT_CONTROLS = frozenset("\n\t")


def describe(char: str) -> str:
    """U+202E RIGHT-TO-LEFT OVERRIDE."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')}"


def _kind(char: str) -> str | None:
    """Why one character may not appear in a name, or None."""
    category = unicodedata.category(char)
    if category == "Cc" or category in ("Zl", "Zp"):
        return "control"
    if char in _BIDI:
        return "bidi"
    if category in _REFUSED_CATEGORIES:
        return "invisible"
    if category == "Zs" and char != " ":
        return "space"
    return None


_WORDS = {
    "control": "a control character",
    "bidi": "a bidirectional-text control, which can make text display in another order",
    "invisible": "an invisible character",
    "space": "an unusual space",
}


def problem(text: str, *, multiline: bool = False) -> tuple[str, str] | None:
    """(kind, message) for the first character a value may not hold; None when it is clean.

    kind is "control" (C0/C1 controls, U+2028/2029), "bidi", "invisible" (zero-width and other
    format characters) or "space" (a space other than U+0020). multiline: free text, where line
    breaks, tabs and other spaces are allowed.
    """
    if text.isascii() and text.isprintable():  # the common case, without a loop
        return None
    for index, char in enumerate(text):
        if multiline and (char in _FREE_TEXT_CONTROLS or unicodedata.category(char) == "Zs"):
            continue
        kind = _kind(char)
        if kind is not None:
            return kind, f"holds {describe(char)} ({_WORDS[kind]}) at character {index + 1}"
    return None


@lru_cache(maxsize=4096)
def _script(char: str) -> str | None:
    """The script of a letter, from its Unicode name (LATIN, CYRILLIC, GREEK...)."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else None


def mixed_scripts(text: str) -> tuple[str, ...]:
    """The scripts of the letters in text, when there are several (look-alike spellings)."""
    if text.isascii():
        return ()
    found = dict.fromkeys(s for s in map(_script, text) if s is not None)
    return tuple(found) if len(found) > 1 else ()


# ----------------------------------------------------------------------------- escapers


def _escape_char(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str) -> str:
    """One line of plain text: every refused character shown as an escape (\\x0a, \\u202e).

    For terminals and logs: no line break, no terminal escape sequence, no reordering.
    """
    if text.isascii() and text.isprintable():
        return text
    return "".join(_escape_char(c) if _kind(c) is not None else c for c in text)


def workflow_data(text: str) -> str:
    """The message of a GitHub workflow command (`::error ...::<data>`), as GitHub escapes it."""
    escaped = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return visible(escaped)


def workflow_property(text: str) -> str:
    """A property of a GitHub workflow command (file=, title=): data escaping plus ':' and ','."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


_MARKDOWN_PUNCTUATION = frozenset("\\`*_{}[]()#!|<>~&@")


def md_text(text: str) -> str:
    """Text for markdown prose inside a line (never at its start): nothing in it is markup.

    Every ASCII punctuation character that markdown or HTML reads is backslash-escaped (so no
    `<!--`, link, image, emphasis or table cell boundary), and `@` is followed by a zero-width
    space entity so that no `@name` becomes a mention (GitHub finds mentions in the rendered
    text, after backslashes are gone).
    """
    out = []
    for char in visible(text):
        if char in _MARKDOWN_PUNCTUATION:
            out.append("\\" + char)
            if char == "@":
                out.append("&#8203;")
        else:
            out.append(char)
    return "".join(out)


def longest_run(text: str, char: str) -> int:
    """The length of the longest run of char in text (to pick a longer markdown fence)."""
    longest = run = 0
    for c in text:
        run = run + 1 if c == char else 0
        longest = max(longest, run)
    return longest


def md_code(text: str, *, table: bool = False) -> str:
    """Text as a markdown code span: shown verbatim, never markup, links or mentions.

    The fence is longer than any run of backticks inside; in a table cell `|` is escaped too
    (GitHub splits cells before it reads code spans).
    """
    text = visible(text)
    fence = "`" * (longest_run(text, "`") + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    body = f"{fence}{pad}{text}{pad}{fence}"
    return body.replace("|", "\\|") if table else body


def trailer_value(text: str) -> str:
    """A git trailer's value (or any line of a commit message): one line, nothing hidden."""
    return visible(text).strip()


def json_text(data: object) -> str:
    """JSON for output: readable accents, but every refused character as a \\u escape.

    json.dumps escapes C0 controls itself; DEL, C1 controls, bidi overrides, zero-width
    characters and U+2028/9 would otherwise reach a log or terminal raw. Outside strings JSON
    holds none of them.
    """
    import json

    text = json.dumps(data, indent=2, ensure_ascii=False)
    if text.isascii() and "\x7f" not in text:
        return text
    # Only DEL and the characters beyond ASCII are looked at: a plan of 1,000 entities is
    # megabytes of JSON.
    return _BEYOND_ASCII.sub(_json_escape, text)


# DEL and every character of the BMP beyond ASCII (json.dumps writes the others as themselves).
# Written as "neither ASCII nor beyond the BMP": the same characters, but re compiles the
# direct range [\x7f-\uffff] in several milliseconds, paid by every command that imports this.
_BEYOND_ASCII = re.compile("[^\x00-\x7e\U00010000-\U0010ffff]")


def _json_escape(found: re.Match[str]) -> str:
    char = found.group()
    return f"\\u{ord(char):04x}" if _kind(char) else char
