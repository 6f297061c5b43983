"""A faster reader of PDF hex strings for pyHanko, with exactly the original's results.

A signature's /Contents is a hex string of several kilobytes. pyHanko reads hex strings one
byte at a time through Python calls, which is about half of the time it takes to verify a form.
`read_hex_string` reads the same bytes at once: when everything up to the closing '>' is hex
digits and PDF white space (what every signature holds), it returns what pyHanko's reader
returns and leaves the stream where it would; anything else (a comment, a stray character, a
missing '>') is handed back to pyHanko's own reader from the same position, so errors and odd
inputs behave exactly as before. tests/documents/test_pdf_hex.py compares both on random input.
"""

from __future__ import annotations

import binascii
import io
from collections.abc import Callable
from typing import Any

_WHITESPACE = b" \n\r\t\f\x00"  # PDF white space, as pyHanko skips it inside hex strings
_HEX = b"0123456789abcdefABCDEF"
_CHUNK = 64 * 1024
_installed = False


def read_hex_string(stream: io.BufferedIOBase | Any, original: Callable[[Any], Any]) -> Any:
    """The hex string at the stream's position (which is at its '<'), as pyHanko reads it."""
    from pyhanko.pdf_utils.generic import pdf_string

    start = stream.tell()
    stream.read(1)  # the opening '<'
    body = bytearray()
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:  # no closing '>': pyHanko's reader reports it
            stream.seek(start)
            return original(stream)
        end = chunk.find(b">")
        if end >= 0:
            body += chunk[:end]
            break
        body += chunk
    digits = bytes(body).translate(None, _WHITESPACE)
    if digits.translate(None, _HEX):  # comments or stray characters: the slow, exact path
        stream.seek(start)
        return original(stream)
    stream.seek(start + 1 + len(body) + 1)  # just past the '>'
    if len(digits) % 2:
        digits += b"0"
    return pdf_string(binascii.unhexlify(digits))


def install() -> None:
    """Make pyHanko's object reader use read_hex_string (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    from pyhanko.pdf_utils import generic

    original = getattr(generic, "read_hex_string_from_stream", None)
    if original is None:  # a pyHanko without this reader: keep whatever it does
        return

    def fast(stream: Any) -> Any:
        return read_hex_string(stream, original)

    generic.read_hex_string_from_stream = fast
