"""The emulator's state after SDK calls equals what a dry run of the same
work predicts: the simulator that dry runs trust is the world the emulator
serves."""

import json
import os
import subprocess
from pathlib import Path

from azure.storage.filedatalake import DataLakeServiceClient

from conftest import ACCOUNT, RESOURCE_GROUP, ROOT, SUBSCRIPTION, conformance_state

FINANCE = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
ENTRIES = [f"group:{FINANCE}:r-x", f"default:group:{FINANCE}:r-x"]
RUNBOOK = f"""
let account = storage_account(subscription: "{SUBSCRIPTION}", resource_group: "{RESOURCE_GROUP}", name: "{ACCOUNT}")
ensure_directory(account: account, path: "predicted/a/b")
ensure_directory(account: account, path: "predicted/c")
set_acl_recursive(account: account, path: "predicted", entries: {json.dumps(ENTRIES)})
"""


def predicted_paths(state: dict) -> list:
    account = next(a for a in state["azure"]["storage_accounts"] if a["name"] == ACCOUNT)
    fs = next(f for f in account["filesystems"] if f["name"] == "customerinsights")
    return [p for p in fs["paths"] if p["path"] == "predicted" or p["path"].startswith("predicted/")]


def test_sdk_calls_end_where_the_dry_run_predicts(emulator, credential, tmp_path: Path):
    svc = DataLakeServiceClient(account_url=f"{emulator.base}/{ACCOUNT}", credential=credential)
    fs = svc.get_file_system_client("customerinsights")
    fs.get_directory_client("predicted/a/b").create_directory()
    fs.get_directory_client("predicted/c").create_directory()
    result = fs.get_directory_client("predicted").update_access_control_recursive(acl=",".join(ENTRIES))
    assert result.counters.directories_successful == 4 and result.counters.failure_count == 0

    start = tmp_path / "start.json"
    start.write_text(json.dumps(conformance_state()))
    (tmp_path / "predict.runbook").write_text(RUNBOOK)
    out = tmp_path / "predicted.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNBOOK_", "AZURE_"))}
    run = subprocess.run([os.environ.get("RUNBOOK_BIN") or str(ROOT / ".build/debug/runbook"), "run", "--dry-run",
                          str(tmp_path / "predict.runbook"), "--state", str(start), "--save-state", str(out)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    predicted = predicted_paths(json.loads(out.read_text()))
    assert [p["path"] for p in predicted] == ["predicted", "predicted/a", "predicted/a/b", "predicted/c"]
    actual = predicted_paths(emulator.state())
    assert actual == predicted, json.dumps([actual, predicted], indent=1)
