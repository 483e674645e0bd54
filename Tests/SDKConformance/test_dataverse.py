"""The Dataverse Web API (no official Python SDK) through requests, with an
azure-identity token for the environment's URL."""

import pytest
import requests

from conftest import ORG

RESOURCE = f"https://{ORG}.crm.dynamics.com/.default"


@pytest.fixture(scope="module")
def api(emulator, credential):
    token = credential.get_token(RESOURCE).token
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "OData-Version": "4.0", "OData-MaxVersion": "4.0",
                            "Accept": "application/json"})
    session.root = f"{emulator.base}/{ORG}/api/data/v9.2"
    return session


def test_who_am_i(api):
    r = api.get(api.root + "/WhoAmI", timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert {"UserId", "BusinessUnitId", "OrganizationId"} <= body.keys()
    assert body["@odata.context"].startswith(api.root + "/$metadata#")


def test_entity_definitions_by_logical_name(api):
    r = api.get(api.root + "/EntityDefinitions", params={"$filter": "LogicalName eq 'account'"}, timeout=10)
    assert r.status_code == 200
    [table] = r.json()["value"]
    assert table["LogicalName"] == "account" and table["EntitySetName"] == "accounts"
    assert table["PrimaryIdAttribute"] == "accountid"
    assert api.get(api.root + "/EntityDefinitions", params={"$filter": "LogicalName eq 'nope'"},
                   timeout=10).json()["value"] == []


def test_patch_without_if_match_is_an_upsert(api, emulator):
    new_id = "bbbbbbbb-0000-4000-8000-000000000002"
    r = api.patch(f"{api.root}/accounts({new_id})", json={"name": "Contoso", "revenue": 10}, timeout=10)
    assert r.status_code == 204
    assert r.headers["OData-EntityId"] == f"{api.root}/accounts({new_id})"
    assert api.get(f"{api.root}/accounts({new_id})", timeout=10).json()["name"] == "Contoso"
    # Again: an update of the same row.
    r = api.patch(f"{api.root}/accounts({new_id})", json={"revenue": 20}, headers={"Prefer": "return=representation"},
                  timeout=10)
    assert r.status_code == 200 and r.json()["revenue"] == 20 and r.json()["name"] == "Contoso"
    # If-Match: * never creates.
    missing = "cccccccc-0000-4000-8000-000000000003"
    r = api.patch(f"{api.root}/accounts({missing})", json={"name": "x"}, headers={"If-Match": "*"}, timeout=10)
    assert r.status_code == 404
    rows = next(t for t in emulator.state()["power_platform"]["environments"][0]["tables"] if t["name"] == "account")["rows"]
    assert {row["id"] for row in rows} == {"aaaaaaaa-0000-4000-8000-000000000001", new_id}


def test_unknown_column_is_400_with_the_odata_code(api):
    r = api.patch(f"{api.root}/accounts(aaaaaaaa-0000-4000-8000-000000000001)", json={"nosuchcolumn": 1}, timeout=10)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "0x80060888"
    assert "nosuchcolumn" in error["message"]
