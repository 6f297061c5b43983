"""The form pool's edge: pyHanko imported with OpenSSL's default trust empty."""

from __future__ import annotations

import os
import ssl

import pytest

from provisioner.runtime.pool import TRUST_VARIABLES, no_system_trust


def test_no_tls_context_made_meanwhile_trusts_any_ca(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TRUST_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with no_system_trust():
        assert ssl.create_default_context().cert_store_stats()["x509_ca"] == 0
    assert not set(TRUST_VARIABLES) & set(os.environ)  # unset again


def test_the_trust_variables_are_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(RuntimeError), no_system_trust():
        raise RuntimeError("an import that fails")
    assert os.environ["SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt"
    assert "SSL_CERT_DIR" not in os.environ
