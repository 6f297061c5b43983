"""JSON Schemas generated from the pydantic models: editors and other tools use them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provisioner.model import SCHEMA_MODELS

SCHEMA_DIR = "schemas"


def schema_for(name: str) -> dict[str, Any]:
    schema = SCHEMA_MODELS[name].model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://hestia-provisioner.invalid/schemas/{name}.schema.json",
        **schema,
    }


def render(name: str) -> str:
    return json.dumps(schema_for(name), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_schemas(repo_root: Path) -> list[Path]:
    folder = repo_root / SCHEMA_DIR
    folder.mkdir(exist_ok=True)
    written = []
    for name in SCHEMA_MODELS:
        path = folder / f"{name}.schema.json"
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(repo_root: Path) -> list[str]:
    stale = []
    for name in SCHEMA_MODELS:
        path = repo_root / SCHEMA_DIR / f"{name}.schema.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != render(name):
            stale.append(name)
    return stale
