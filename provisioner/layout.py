"""Where things are in a repository: the names of its folders and files (nothing else here, so
that anything may import it without loading the model)."""

from __future__ import annotations

CATALOG_DIR = "catalog"
SERVICE_FILE = "service.yaml"
IP_POLICY_FILE = "ip-policy.yaml"
REGISTER_FILE = "entities.yaml"
#: The catalog's files, as validation reads them.
CATALOG_FILES = (SERVICE_FILE, IP_POLICY_FILE, REGISTER_FILE)
INTEGRATIONS_DIR = "integrations"
YAML_SUFFIXES = (".yaml", ".yml")
