"""Starts `runbook emulator --tls` once for the session and hands the tests
its base URL, tenant and credentials. The official SDKs reach it with only
their endpoint settings changed and its CA trusted (SSL_CERT_FILE,
REQUESTS_CA_BUNDLE), as docs/emulator.md describes."""

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "5c4f4a3e-6b7d-4f1e-9a2b-3c4d5e6f7a8b"
CLIENT_SECRET = "sdk-conformance-secret"
SUBSCRIPTION = "8c7d3f4e-2a1b-4c5d-9e8f-0a1b2c3d4e5f"
RESOURCE_GROUP = "rg-customerinsights"
ACCOUNT = "contosolake"
ORG = "contososales"
ACCOUNT_SCOPE = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
                 f"/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}")
# Users beyond the fixture's, so that `$top` paging has several pages.
EXTRA_USERS = 7


def conformance_state() -> dict:
    """The journeys-connected tenant, with role propagation off (so SDK
    reads see their own writes), more users and a Dataverse table."""
    state = json.loads((ROOT / "runbooks/state/journeys-connected.json").read_text())
    state["tenant"]["role_propagation_seconds"] = 0
    for i in range(EXTRA_USERS):
        state["directory"]["users"].append({
            "id": f"00000000-0000-4000-8000-{i:012d}",
            "user_principal_name": f"user{i}@contoso.onmicrosoft.com",
            "display_name": f"User {i}",
        })
    account = next(a for a in state["azure"]["storage_accounts"] if a["name"] == ACCOUNT)
    # 6,003 generated paths: more than one page of a paginated delete (5,000).
    account["filesystems"].append({
        "name": "bulk", "owner": "$superuser", "group": "$superuser", "acl": "user::rwx,group::r-x,other::---",
        "paths": [], "generate": [{"prefix": "big/part-", "folders": 3, "files_per_folder": 2000}],
    })
    env = state["power_platform"]["environments"][0]
    env["tables"].append({
        "name": "account", "entity_set": "accounts", "solution": None,
        "columns": ["name", "accountnumber", "revenue"],
        "rows": [{"id": "aaaaaaaa-0000-4000-8000-000000000001", "version": 1,
                  "columns": {"name": "Fabrikam", "accountnumber": "A-1"}}],
    })
    return state


class Emulator:
    def __init__(self, base: str, tenant: str, ca_file: str):
        self.base, self.tenant, self.ca_file = base, tenant, ca_file

    def state(self) -> dict:
        r = requests.get(self.base + "/_emulator/state", timeout=10)
        r.raise_for_status()
        return r.json()


@pytest.fixture(scope="session")
def emulator():
    binary = os.environ.get("RUNBOOK_BIN") or str(ROOT / ".build/debug/runbook")
    work = Path(tempfile.mkdtemp(prefix="runbook-sdk-"))
    state_file = work / "state.json"
    state_file.write_text(json.dumps(conformance_state()))
    out = open(work / "stdout", "w+")
    err = open(work / "stderr", "w+")
    proc = subprocess.Popen(
        [binary, "emulator", "--tls", "--tls-dir", str(work / "tls"), "--port", "0", "--state", str(state_file),
         "--client", f"{CLIENT_ID}={CLIENT_SECRET}"],
        stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    lines: dict = {}
    deadline = time.monotonic() + 60
    base = None
    while time.monotonic() < deadline:
        text = (work / "stdout").read_text()
        if "AZURE_TENANT_ID=" in text:
            first, *rest = text.splitlines()
            base = first.strip()
            lines = dict(l.split("=", 1) for l in rest if "=" in l)
            break
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if base is None:
        proc.kill()
        pytest.fail("the emulator printed no base URL: " + (work / "stderr").read_text())
    assert base.startswith("https://127.0.0.1:"), base
    ca = lines["SSL_CERT_FILE"]
    # What a user does: trust the emulator's CA in every HTTP stack.
    os.environ["SSL_CERT_FILE"] = ca
    os.environ["REQUESTS_CA_BUNDLE"] = ca
    yield Emulator(base, lines["AZURE_TENANT_ID"], ca)
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    out.close()
    err.close()
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def credential(emulator):
    from azure.identity import ClientSecretCredential
    return ClientSecretCredential(emulator.tenant, CLIENT_ID, CLIENT_SECRET, authority=emulator.base,
                                  disable_instance_discovery=True)
