"""Text is data: hostile names are refused by validate, and every medium's escaper makes them inert."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provisioner import text
from provisioner.cli import cli
from provisioner.rules.run import validate
from tests.conftest import edit

ALTA = "integrations/8100560009/serveis-informatics-pirineu.yaml"
PROVIDER_LINE = 'name: "Serveis Informàtics del Pirineu SL"'

#: The attacks of the issue, as YAML double-quoted escapes, with the code that refuses them.
HOSTILE = {
    "workflow-command": (r"X\n::error ::APPROVED\n::add-mask::secret", "TEXT-CONTROL"),
    "markdown-comment": (r"X\n\n<!--", "TEXT-CONTROL"),
    "forged-trailer": (r"X\nSource-Commit: 0123456789abcdef", "TEXT-CONTROL"),
    "record-separators": (r"X\x1eY\x1fZ", "TEXT-CONTROL"),
    "nul": (r"X\0Y", "TEXT-CONTROL"),
    "c1": (r"X\x85Y", "TEXT-CONTROL"),
    "line-separator": (r"X\u2028Y", "TEXT-CONTROL"),
    "paragraph-separator": (r"X\u2029Y", "TEXT-CONTROL"),
    "bidi-override": (r"Serveis \u202eLS", "TEXT-BIDI"),
    "bidi-isolate": (r"Serveis \u2067LS", "TEXT-BIDI"),
    "zero-width": (r"Serv\u200beis", "TEXT-INVISIBLE"),
    "bom": (r"Serveis\ufeff", "TEXT-INVISIBLE"),
    "nbsp": (r"Serveis\u00a0SL", "TEXT-INVISIBLE"),
    "cyrillic-look-alike": (r"S\u0435rveis", "TEXT-MIXED-SCRIPT"),
    "greek-look-alike": (r"Serveis \u039fberta", "TEXT-MIXED-SCRIPT"),
}


def found(repo: Path, rel: str = ALTA) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in validate(repo).diagnostics:
        if d.file == rel and d.is_error:
            out.setdefault(d.code, []).append(d.message)
    return out


@pytest.mark.parametrize(("written", "code"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_provider_name_is_an_error(sample_repo: Path, written: str, code: str) -> None:
    edit(sample_repo, ALTA, PROVIDER_LINE, f'name: "{written}"')
    codes = found(sample_repo)
    assert code in codes, codes
    assert "provider.name" in codes[code][0]


def test_entity_names_in_the_register_are_checked_too(sample_repo: Path) -> None:
    edit(
        sample_repo,
        "catalog/entities.yaml",
        'name: "Ajuntament de Vic"',
        'name: "Ajuntament de V\\u0456c"',  # Cyrillic і
    )
    report = validate(sample_repo)
    mixed = [d for d in report.diagnostics if d.code == "TEXT-MIXED-SCRIPT"]
    assert [d.file for d in mixed] == ["catalog/entities.yaml"]
    assert mixed[0].line == 8


def test_document_paths_and_keys_are_checked(sample_repo: Path) -> None:
    edit(
        sample_repo,
        ALTA,
        "cda: certs/serveis-informatics-pirineu.pem",
        'cda: "certs/\\u202emep.uenirip-scitamrofni-sievres"\n"no\\u200btes": x',
    )
    codes = found(sample_repo)
    assert "TEXT-BIDI" in codes and "cda" in codes["TEXT-BIDI"][0]
    assert "the key of no\\u200btes" in codes["TEXT-INVISIBLE"][0].encode("unicode_escape").decode()


def test_free_text_may_hold_line_breaks_but_not_controls(sample_repo: Path) -> None:
    edit(sample_repo, ALTA, 'notes: "Primera', 'notes: "line one\\n\\tline two\\u00a0ok. Primera')
    assert found(sample_repo) == {}
    edit(sample_repo, ALTA, "line one", "line one\\x1b[2J")
    assert "TEXT-CONTROL" in found(sample_repo)


def test_accents_and_one_script_names_are_fine() -> None:
    assert text.problem("Consell Comarcal de l'Alta Ribagorça · Hèstia") is None
    assert text.mixed_scripts("Consell Comarcal de l'Alta Ribagorça") == ()
    assert text.mixed_scripts("Ајунтамент") == ()  # all Cyrillic: no look-alike mix
    assert text.mixed_scripts("Sеrveis") == ("LATIN", "CYRILLIC")


# ----------------------------------------------------------------------------- the escapers


ATTACK = "X\n::error ::APPROVED\r\n::add-mask::x\u202e<!-- @octocat [a](http://x) ![i](y) | `c`"


def test_visible_keeps_everything_on_one_line() -> None:
    out = text.visible(ATTACK)
    assert "\n" not in out and "\r" not in out and "\u202e" not in out
    assert "\\x0a::error" in out and "\\u202e" in out


def test_workflow_escaping_follows_github() -> None:
    data = text.workflow_data("50% done\r\nnext")
    assert data == "50%25 done%0D%0Anext"
    assert text.workflow_property("a:b,c\n") == "a%3Ab%2Cc%0A"


def test_markdown_text_is_never_markup() -> None:
    out = text.md_text(ATTACK)
    assert "<!--" not in out and "](" not in out and "![" not in out
    assert "\\<\\!--" in out
    assert "@octocat" not in out  # a mention needs '@' right before the name
    assert "\\|" in out and "\n" not in out


def test_markdown_code_spans_outlast_any_backticks() -> None:
    assert text.md_code("a``b") == "```a``b```"
    assert text.md_code("`x`") == "`` `x` ``"
    assert text.md_code("a|b", table=True) == "`a\\|b`"


def test_trailer_values_stay_on_one_line() -> None:
    value = text.trailer_value("bot\nSource-Commit: forged\n")
    assert "\n" not in value and value.startswith("bot\\x0aSource-Commit")


def test_every_validate_format_keeps_hostile_names_inert(sample_repo: Path) -> None:
    edit(sample_repo, ALTA, PROVIDER_LINE, 'name: "X\\n::error ::APPROVED\\n\\n<!--"')

    def run(fmt: str) -> Result:
        return CliRunner().invoke(
            cli, ["validate", "--repo", str(sample_repo), "--format", fmt], catch_exceptions=False
        )

    github = run("github")
    assert github.exit_code == 1
    commands = [line for line in github.output.splitlines() if line.startswith("::")]
    assert commands and all(re.match(r"^::(error|warning) file=", c) for c in commands)
    assert not any("APPROVED" in c.split("::")[1] for c in commands)
    markdown = run("markdown").output
    assert "<!--" not in markdown
    assert all(line.startswith(("|", "**")) or not line for line in markdown.splitlines())
    plain = run("text").output
    assert not any(line.startswith("::") for line in plain.splitlines())
    data = json.loads(run("json").output)
    assert any(d["code"] == "TEXT-CONTROL" for d in data["diagnostics"])
