"""Spanish tax identifiers (NIF, NIE, CIF) and INE10 codes: pure format checks."""

from __future__ import annotations

import re

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_CIF_LETTERS = "JABCDEFGHI"
_CIF_RE = re.compile(r"^([ABCDEFGHJKLMNPQRSUVW])(\d{7})([0-9A-J])$")
_DNI_RE = re.compile(r"^(\d{8})([A-Z])$")
_NIE_RE = re.compile(r"^([XYZ])(\d{7})([A-Z])$")
# Organisations whose control character is always a letter / always a digit.
_CIF_LETTER_ONLY = set("KPQRSNW")
_CIF_DIGIT_ONLY = set("ABEH")


def cif_control(letter: str, digits: str) -> tuple[str, str]:
    """The control digit and the control letter for a CIF's seven digits."""
    total = sum(int(digits[i]) for i in (1, 3, 5))
    for i in (0, 2, 4, 6):
        doubled = int(digits[i]) * 2
        total += doubled // 10 + doubled % 10
    digit = (10 - total % 10) % 10
    return str(digit), _CIF_LETTERS[digit]


def nif_problem(value: str) -> str | None:
    """None when value is a valid NIF/NIE/CIF; otherwise what is wrong and the likely fix."""
    text = value.strip().upper()
    if text != value:
        return f"write it in capitals without spaces: '{text}'"
    if m := _DNI_RE.match(text):
        expected = _DNI_LETTERS[int(m.group(1)) % 23]
        if m.group(2) != expected:
            return f"the check letter should be '{expected}', not '{m.group(2)}'"
        return None
    if m := _NIE_RE.match(text):
        number = "XYZ".index(m.group(1)) * 10_000_000 + int(m.group(2))
        expected = _DNI_LETTERS[number % 23]
        if m.group(3) != expected:
            return f"the check letter should be '{expected}', not '{m.group(3)}'"
        return None
    if m := _CIF_RE.match(text):
        letter, digits, control = m.groups()
        as_digit, as_letter = cif_control(letter, digits)
        if letter in _CIF_LETTER_ONLY:
            allowed = {as_letter}
        elif letter in _CIF_DIGIT_ONLY:
            allowed = {as_digit}
        else:
            allowed = {as_digit, as_letter}
        if control not in allowed:
            shown = " or ".join(f"'{a}'" for a in sorted(allowed))
            return f"the check character should be {shown}, not '{control}'"
        return None
    return (
        "is not a NIF: public bodies use a letter, seven digits and a check character "
        "(e.g. P0805500F); people use eight digits and a letter"
    )


def ine10_problem(value: str) -> str | None:
    if re.fullmatch(r"[0-9]{10}", value):
        return None
    if re.fullmatch(r"[0-9]{9}", value):
        return (
            f"has 9 digits: the leading zero was probably lost (a spreadsheet or YAML number); "
            f'write ine10: "0{value}"'
        )
    return 'must be exactly 10 digits, written in quotes (e.g. "0805690004")'
