"""azure-identity (MSAL underneath) against the emulator's token endpoint."""

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential

from conftest import ACCOUNT, CLIENT_ID, CLIENT_SECRET, ORG, SUBSCRIPTION


def test_openid_discovery_names_the_host_the_client_used(emulator):
    r = requests.get(f"{emulator.base}/{emulator.tenant}/v2.0/.well-known/openid-configuration", timeout=10)
    assert r.status_code == 200
    config = r.json()
    assert config["token_endpoint"] == f"{emulator.base}/{emulator.tenant}/oauth2/v2.0/token"
    assert config["issuer"] == f"{emulator.base}/{emulator.tenant}/v2.0"
    # Behind a proxy the forwarded scheme and host win.
    r = requests.get(f"{emulator.base}/{emulator.tenant}/v2.0/.well-known/openid-configuration", timeout=10,
                     headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "login.example.test"})
    assert r.json()["token_endpoint"] == f"https://login.example.test/{emulator.tenant}/oauth2/v2.0/token"


def test_client_secret_credential_gets_a_token(credential):
    token = credential.get_token("https://graph.microsoft.com/.default")
    assert token.token and token.expires_on > 0


def test_unknown_tenant_is_AADSTS90002(emulator):
    cred = ClientSecretCredential("00000000-1111-2222-3333-444444444444", CLIENT_ID, CLIENT_SECRET,
                                  authority=emulator.base, disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as e:
        cred.get_token("https://graph.microsoft.com/.default")
    assert "AADSTS90002" in str(e.value) or "authority" in str(e.value).lower()
    r = requests.post(f"{emulator.base}/00000000-1111-2222-3333-444444444444/oauth2/v2.0/token", timeout=10,
                      data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                            "scope": "https://graph.microsoft.com/.default"})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_tenant" and r.json()["error_codes"] == [90002]


def test_bad_secret_is_401_AADSTS7000215(emulator):
    cred = ClientSecretCredential(emulator.tenant, CLIENT_ID, "wrong", authority=emulator.base,
                                  disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as e:
        cred.get_token("https://management.azure.com/.default")
    assert "AADSTS7000215" in str(e.value)
    r = requests.post(f"{emulator.base}/{emulator.tenant}/oauth2/v2.0/token", timeout=10,
                      data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "wrong",
                            "scope": "https://management.azure.com/.default"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client" and r.json()["error_codes"] == [7000215]


def test_unknown_client_is_AADSTS700016(emulator):
    cred = ClientSecretCredential(emulator.tenant, "99999999-0000-4000-8000-000000000000", CLIENT_SECRET,
                                  authority=emulator.base, disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as e:
        cred.get_token("https://graph.microsoft.com/.default")
    assert "AADSTS700016" in str(e.value)


def test_a_graph_token_is_refused_by_arm_dfs_and_dataverse(emulator, credential):
    graph = credential.get_token("https://graph.microsoft.com/.default").token
    auth = {"Authorization": f"Bearer {graph}"}
    arm = requests.get(f"{emulator.base}/subscriptions/{SUBSCRIPTION}/resourceGroups?api-version=2021-04-01",
                       headers=auth, timeout=10)
    assert arm.status_code == 401
    assert arm.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"
    dfs = requests.get(f"{emulator.base}/{ACCOUNT}/customerinsights?resource=filesystem&recursive=false",
                       headers={**auth, "x-ms-version": "2023-11-03"}, timeout=10)
    assert dfs.status_code == 401
    assert dfs.headers["x-ms-error-code"] == "InvalidAuthenticationInfo"
    assert "resource_id=https://storage.azure.com" in dfs.headers["WWW-Authenticate"]
    dv = requests.get(f"{emulator.base}/{ORG}/api/data/v9.2/WhoAmI", headers=auth, timeout=10)
    assert dv.status_code == 401
    assert "invalid_token" in dv.headers["WWW-Authenticate"]
    # The same token is good for Graph itself.
    me = requests.get(f"{emulator.base}/v1.0/users?$top=1", headers=auth, timeout=10)
    assert me.status_code == 200
