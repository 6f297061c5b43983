"""The APP configuration checked against its published schema before it is written.

APP's team reads `schemas/app-config.schema.json`; apply refuses to write a document that does
not conform, so a bug in the desired state never reaches APP. The schema is generated from the
`AppConfig` model, the same text as the published file (a test keeps that file current), so a
schema file edited in an integrations repository cannot weaken the check.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

APP_CONFIG_SCHEMA = "app-config"


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    from provisioner.loading.schemas import schema_for

    schema = schema_for(APP_CONFIG_SCHEMA)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def app_config_problems(data: bytes) -> list[str]:
    """Why the document does not conform to schemas/app-config.schema.json ([] when it does)."""
    try:
        document = json.loads(data)
    except ValueError as exc:
        return [f"not JSON ({exc})"]
    problems = []
    for err in sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(part) for part in err.absolute_path) or "(the document)"
        problems.append(f"{where}: {err.message}")
    return problems
