"""msgraph-sdk (Kiota over httpx) against the emulator's Microsoft Graph."""

import asyncio
import uuid

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder
from msgraph.generated.models.group import Group
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from conftest import EXTRA_USERS


def run(coro):
    return asyncio.run(coro)


@pytest.fixture()
def graph(emulator, credential):
    # The emulator's host must be allowed to receive the token; the base URL points at it.
    auth = AzureIdentityAuthenticationProvider(credential, scopes=["https://graph.microsoft.com/.default"],
                                               allowed_hosts=["127.0.0.1"])
    adapter = GraphRequestAdapter(auth)
    adapter.base_url = emulator.base + "/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def guid_sid(object_id: str) -> str:
    b = uuid.UUID(object_id).bytes_le
    return "S-1-12-1-" + "-".join(str(int.from_bytes(b[i:i + 4], "little")) for i in range(0, 16, 4))


def test_users_unfiltered_with_top_paging_and_select(graph, emulator):
    async def all_pages():
        config = RequestConfiguration(query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
            top=3, select=["id", "displayName"]))
        page = await graph.users.get(request_configuration=config)
        pages = [page]
        while pages[-1].odata_next_link:
            pages.append(await graph.users.with_url(pages[-1].odata_next_link).get())
        return pages
    pages = run(all_pages())
    users = [u for p in pages for u in p.value]
    expected = len(emulator.state()["directory"]["users"])
    assert len(users) == expected >= EXTRA_USERS and len(pages) == -(-expected // 3)
    assert all(len(p.value) <= 3 for p in pages)
    assert pages[0].odata_next_link.startswith(emulator.base + "/v1.0/users?")
    # $select: only id and displayName come back.
    assert all(u.id and u.display_name and u.user_principal_name is None for u in users)


def test_groups_unfiltered_select_and_security_identifier(graph, emulator):
    async def groups():
        config = RequestConfiguration(query_parameters=GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(
            top=2, select=["id", "displayName", "securityIdentifier"]))
        page = await graph.groups.get(request_configuration=config)
        out = list(page.value)
        while page.odata_next_link:
            page = await graph.groups.with_url(page.odata_next_link).get()
            out += page.value
        return out
    found = run(groups())
    names = {g["display_name"] for g in emulator.state()["directory"]["groups"]}
    assert {g.display_name for g in found} == names
    for g in found:
        assert g.security_identifier == guid_sid(g.id)
        assert g.mail_nickname is None  # not selected


def test_create_then_delete_group(graph, emulator):
    async def flow():
        g = await graph.groups.post(Group(display_name="SDK temp", mail_nickname="sdk-temp", mail_enabled=False,
                                          security_enabled=True))
        got = await graph.groups.by_group_id(g.id).get()
        await graph.groups.by_group_id(g.id).delete()
        try:
            await graph.groups.by_group_id(g.id).get()
        except ODataError as e:
            return g, got, e
        return g, got, None
    created, got, error = run(flow())
    assert got.id == created.id and got.display_name == "SDK temp"
    assert error is not None and error.response_status_code == 404
    assert error.error.code == "Request_ResourceNotFound"
    assert all(g["id"] != created.id for g in emulator.state()["directory"]["groups"])
