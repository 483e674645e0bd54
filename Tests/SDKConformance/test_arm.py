"""azure-mgmt-authorization and azure-mgmt-storage against the emulator's ARM."""

import uuid

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
from azure.mgmt.storage import StorageManagementClient

from conftest import ACCOUNT, ACCOUNT_SCOPE, RESOURCE_GROUP, SUBSCRIPTION

ARM_SCOPE = ["https://management.azure.com/.default"]
READER = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
BOB = "7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9"
ALICE = "0b5c8a3e-1f2d-4e6a-8b7c-9d0e1f2a3b4c"


@pytest.fixture(scope="module")
def authz(emulator, credential):
    return AuthorizationManagementClient(credential, SUBSCRIPTION, base_url=emulator.base, credential_scopes=ARM_SCOPE)


@pytest.fixture(scope="module")
def storage(emulator, credential):
    return StorageManagementClient(credential, SUBSCRIPTION, base_url=emulator.base, credential_scopes=ARM_SCOPE)


def create(authz, scope, principal, name=None):
    name = name or str(uuid.uuid4())
    return authz.role_assignments.create(scope, name, RoleAssignmentCreateParameters(
        role_definition_id=READER, principal_id=principal, principal_type="User"))


def test_role_assignment_create_get_and_delete_then_204(authz, emulator):
    created = create(authz, ACCOUNT_SCOPE, BOB)
    got = authz.role_assignments.get(ACCOUNT_SCOPE, created.name)
    assert got.id == created.id and got.principal_id == BOB and got.role_definition_id == READER
    assert got.scope == ACCOUNT_SCOPE and got.principal_type == "User"
    deleted = authz.role_assignments.delete(ACCOUNT_SCOPE, created.name)
    assert deleted is not None and deleted.name == created.name
    # Gone: delete answers 204 (the SDK returns None), get raises.
    assert authz.role_assignments.delete(ACCOUNT_SCOPE, created.name) is None
    with pytest.raises(ResourceNotFoundError) as e:
        authz.role_assignments.get(ACCOUNT_SCOPE, created.name)
    assert e.value.error.code == "RoleAssignmentNotFound"
    assert not any(a["name"] == created.name for a in emulator.state()["azure"]["role_assignments"])


def test_list_for_scope_unfiltered_at_scope_and_by_principal(authz):
    container = ACCOUNT_SCOPE + "/blobServices/default/containers/customerinsights"
    below = create(authz, container, ALICE)
    at = create(authz, ACCOUNT_SCOPE, ALICE)
    above = create(authz, f"/subscriptions/{SUBSCRIPTION}", BOB)
    try:
        unfiltered = {a.name for a in authz.role_assignments.list_for_scope(ACCOUNT_SCOPE)}
        assert {below.name, at.name, above.name} <= unfiltered
        at_scope = {a.name for a in authz.role_assignments.list_for_scope(ACCOUNT_SCOPE, filter="atScope()")}
        assert at.name in at_scope and above.name in at_scope and below.name not in at_scope
        alice = list(authz.role_assignments.list_for_scope(ACCOUNT_SCOPE, filter=f"principalId eq '{ALICE}'"))
        assert {a.name for a in alice} >= {below.name, at.name}
        assert all(a.principal_id == ALICE for a in alice)
        subscription = {a.name for a in authz.role_assignments.list_for_subscription()}
        assert {below.name, at.name, above.name} <= subscription
    finally:
        for a in (below, at, above):
            authz.role_assignments.delete(a.scope, a.name)


def test_storage_accounts_list_by_resource_group_and_subscription(storage, emulator):
    in_group = list(storage.storage_accounts.list_by_resource_group(RESOURCE_GROUP))
    assert [a.name for a in in_group] == [ACCOUNT]
    account = in_group[0]
    assert account.is_hns_enabled is True and account.kind == "StorageV2"
    assert account.primary_endpoints.dfs == f"{emulator.base}/{ACCOUNT}/"
    assert [a.name for a in storage.storage_accounts.list()] == [ACCOUNT]
    assert list(storage.storage_accounts.list_by_resource_group("rg-network")) == []
    props = storage.storage_accounts.get_properties(RESOURCE_GROUP, ACCOUNT)
    assert props.id == ACCOUNT_SCOPE
