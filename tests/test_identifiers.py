"""NIF, NIE, CIF and INE10 format checks."""

from __future__ import annotations

import pytest

from provisioner.identifiers import ine10_problem, nif_problem


@pytest.mark.parametrize(
    "nif",
    ["P0805500F", "Q0801175A", "P0801900B", "B65432106", "A08123457", "12345678Z", "X1234567L"],
)
def test_valid_identifiers(nif: str) -> None:
    assert nif_problem(nif) is None


@pytest.mark.parametrize(
    ("nif", "fix"),
    [
        ("P0805500G", "'F'"),  # public bodies: always a letter
        ("P08055006", "'F'"),
        ("B65432107", "'6'"),  # companies A, B, E, H: always a digit
        ("G1234567F", "'4' or 'D'"),  # others: either
        ("12345678A", "'Z'"),
        ("X1234567A", "'L'"),
        ("p0805500f", "'P0805500F'"),
        ("P080550", "not a NIF"),
        ("", "not a NIF"),
    ],
)
def test_invalid_identifiers_say_the_fix(nif: str, fix: str) -> None:
    problem = nif_problem(nif)
    assert problem is not None and fix in problem


def test_ine10() -> None:
    assert ine10_problem("0805690004") is None
    lost = ine10_problem("805690004")
    assert lost is not None and '"0805690004"' in lost and "leading zero" in lost
    assert ine10_problem("08056900041") is not None
    assert ine10_problem("080569000A") is not None


def test_command_line_vocabulary_matches_the_models() -> None:
    from typing import get_args

    from provisioner.model import Environment
    from provisioner.vocabulary import ENVIRONMENT_NAMES, MESSAGE_KINDS
    from tests.conftest import ROOT

    assert get_args(Environment) == ENVIRONMENT_NAMES
    for kind in MESSAGE_KINDS:
        assert (ROOT / "catalog" / "messages" / f"{kind}.txt").is_file()
