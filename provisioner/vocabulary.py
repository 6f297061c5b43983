"""Closed lists of words the command line offers; no imports, so `--help` stays fast."""

from __future__ import annotations

ENVIRONMENT_NAMES = ("PRE", "PRO")

# The procedure's messages, one template each under catalog/messages/.
MESSAGE_KINDS = (
    "request-info",
    "abss-redirect",
    "not-eligible",
    "head-of-service",
    "pre-ready",
    "pro-ready",
)
