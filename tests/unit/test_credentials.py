"""build_credential makes the azure-identity credential each `--auth` names (found by mypy --strict: issue 31).

azure-identity's certificate credential is `CertificateCredential(tenant_id, client_id, certificate_path, *,
password=...)` (https://learn.microsoft.com/python/api/azure-identity/azure.identity.certificatecredential); it has
no `ClientCertificateCredential`. `DeviceCodeCredential`'s client id defaults to Azure's developer sign-on app
(https://learn.microsoft.com/python/api/azure-identity/azure.identity.devicecodecredential): passing None instead
sends no client id at all.
"""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from auditor.endpoints import AuthKind
from auditor.readers.credentials import build_credential

TENANT = "00000000-0000-4000-8000-000000000001"
CLIENT = "00000000-0000-4000-8000-000000000002"


def _certificate_pem(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # azure-identity signs with RS256
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sspr-audit reader")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    path = tmp_path / "reader.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()) + cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_certificate_auth_builds_azure_identitys_certificate_credential(tmp_path, monkeypatch):
    from azure.identity import CertificateCredential

    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", str(_certificate_pem(tmp_path)))
    monkeypatch.delenv("AZURE_CLIENT_CERTIFICATE_PASSWORD", raising=False)
    credential = build_credential(AuthKind.certificate, TENANT, CLIENT)
    assert isinstance(credential, CertificateCredential)


@pytest.mark.parametrize("client_id", [None, ""])
def test_device_code_without_a_client_id_signs_in_with_the_default_app(client_id):
    from azure.identity import DeviceCodeCredential

    credential = build_credential(AuthKind.device_code, TENANT, client_id)
    assert isinstance(credential, DeviceCodeCredential)
    # azure-identity keeps the client id it will send here (no public accessor); the default is its developer
    # sign-on app's (azure/identity/_constants.py DEVELOPER_SIGN_ON_CLIENT_ID)
    assert credential._client_id == "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


def test_device_code_with_a_client_id_signs_in_with_that_app():
    credential = build_credential(AuthKind.device_code, TENANT, CLIENT)
    assert credential._client_id == CLIENT
