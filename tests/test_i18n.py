"""Translations of the plan and the history: the catalog is complete, read right, and shipped."""

from __future__ import annotations

import ast
import fnmatch
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.i18n import CatalogProblem, _, language, ngettext, parse_po, translations
from tests.conftest import ROOT, git_init

PO = ROOT / "provisioner/locale/ca/LC_MESSAGES/hestia-provisioner.po"
TRANSLATED = (
    "provisioner/plan/render.py",
    "provisioner/history/timeline.py",
    "provisioner/ci/report.py",
    "provisioner/cli/ci.py",
)


def used_messages() -> set[tuple[str, ...]]:
    """Every literal passed to _() or ngettext() in the translated modules."""
    found: set[tuple[str, ...]] = set()
    for rel in TRANSLATED:
        for node in ast.walk(ast.parse((ROOT / rel).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id not in ("_", "ngettext"):
                    continue
                values = [a.value for a in node.args if isinstance(a, ast.Constant)]
                texts = [v for v in values if isinstance(v, str)]
                assert texts == values and texts, ast.dump(node)
                found.add(tuple(texts[:2]) if node.func.id == "ngettext" else (texts[0],))
    return found


def fields(text: str) -> set[str]:
    return set(re.findall(r"\{[a-z0-9_]*\}", text))


def test_the_catalan_catalog_translates_every_message_and_only_those() -> None:
    catalog = translations("ca")
    used = used_messages()
    singular = {m[0] for m in used if len(m) == 1}
    plural = {m[0]: m[1] for m in used if len(m) == 2}
    assert singular == set(catalog.singular)
    assert set(plural) == set(catalog.plural)
    for msgid, text in catalog.singular.items():
        assert fields(msgid) == fields(text), msgid
    for msgid, forms in catalog.plural.items():
        assert len(forms) == 2 and all(fields(plural[msgid]) == fields(f) for f in forms)


def test_the_po_reader() -> None:
    text = """# comment
msgid ""
msgstr "Language: ca\\n"

msgid "one"
msgstr ""
"u"
"n"

#, fuzzy
msgid "doubtful"
msgstr "dubtós"

msgid "{n} file"
msgid_plural "{n} files"
msgstr[0] "{n} fitxer"
msgstr[1] "{n} fitxers"

msgid "untranslated"
msgstr ""
"""
    catalog = parse_po(text)
    assert catalog.gettext("one") == "un"
    assert catalog.gettext("doubtful") == "doubtful"  # fuzzy: left out
    assert catalog.gettext("untranslated") == "untranslated"
    assert catalog.ngettext("{n} file", "{n} files", 1) == "{n} fitxer"
    assert catalog.ngettext("{n} file", "{n} files", 3) == "{n} fitxers"
    assert catalog.ngettext("x", "xs", 2) == "xs"
    for bad in (
        'msgid "a\nmsgstr b',
        'msgid "a"\nmsgstr "b"\nbogus "c"',
        '"orphan"',
        'msgid "\\x"',
    ):
        with pytest.raises(CatalogProblem):
            parse_po(bad)
    with pytest.raises(CatalogProblem):
        translations("fr")


def test_english_is_the_default_and_language_is_scoped() -> None:
    assert _("new entity") == "new entity"
    with language("ca"):
        assert _("new entity") == "ens nou"
        assert ngettext("{n} new entity", "{n} new entities", 2) == "{n} ens nous"
    assert _("new entity") == "new entity"


def test_the_catalogs_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["provisioner"]
    rel = PO.relative_to(ROOT / "provisioner").as_posix()
    assert any(fnmatch.fnmatch(rel, p) for p in patterns)


def test_plan_and_history_in_catalan(sample_repo: Path) -> None:
    git_init(sample_repo)
    who = ["-c", "user.name=Agent de Proves", "-c", "user.email=agent@example.invalid"]
    subprocess.run(["git", "-C", str(sample_repo), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(sample_repo), *who, "commit", "-q", "-m", "Samples"], check=True
    )
    runner = CliRunner()
    args = ["plan", "--env", "PRE", "--init", "--format", "markdown", "--repo", str(sample_repo)]
    english = runner.invoke(cli, args)
    catalan = runner.invoke(cli, [*args, "--lang", "ca"])
    assert english.exit_code == catalan.exit_code == 0
    assert "### Hèstia provisioning plan: PRE" in english.output
    assert "### Pla d'aprovisionament d'Hèstia: PRE" in catalan.output
    assert "**2 ens nous, 3 carpetes a crear, 6 fitxers a desar**" in catalan.output
    assert "#### Ajuntament de Castelldefels (`0805690004`): ens nou" in catalan.output
    assert "provisioning plan" not in catalan.output
    text = runner.invoke(
        cli, ["plan", "--env", "PRE", "--init", "--lang", "ca", "--repo", str(sample_repo)]
    )
    assert text.output.startswith("Pla per a PRE: 2 ens nous")
    as_json = runner.invoke(
        cli,
        [
            "plan",
            "--env",
            "PRE",
            "--init",
            "--format",
            "json",
            "--lang",
            "ca",
            "--repo",
            str(sample_repo),
        ],
    )
    assert '"summary": "2 new entities' in as_json.output  # data stays as it is
    history = runner.invoke(cli, ["history", "--lang", "ca", "--repo", str(sample_repo)])
    assert history.exit_code == 0, history.output
    assert "sol·licitat i aprovat (canvis en aquesta branca, els més recents primer):" in (
        history.output
    )
    assert "git no en registra cap aprovació" in history.output
    assert "encara no és a PRE" in history.output
    markdown = runner.invoke(
        cli, ["history", "--lang", "ca", "--format", "markdown", "--repo", str(sample_repo)]
    )
    assert "| pas | quan | qui | commit | què |" in markdown.output
