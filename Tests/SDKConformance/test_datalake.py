"""azure-storage-file-datalake against the emulator's ADLS Gen2 (DFS plus
the Blob operations the SDK sends to the same account)."""

import pytest
import requests
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.filedatalake import DataLakeServiceClient

from conftest import ACCOUNT

FILESYSTEM = "customerinsights"


@pytest.fixture(scope="module")
def service(emulator, credential):
    # An IP host: the account is the first path segment (as for Azurite).
    return DataLakeServiceClient(account_url=f"{emulator.base}/{ACCOUNT}", credential=credential)


@pytest.fixture(scope="module")
def fs(service):
    return service.get_file_system_client(FILESYSTEM)


def test_filesystem_exists_properties_and_list(service, fs):
    assert fs.exists() is True
    assert service.get_file_system_client("nope").exists() is False
    props = fs.get_file_system_properties()
    assert props.name == FILESYSTEM and props.etag and props.last_modified
    service.create_file_system("scratch")
    with pytest.raises(ResourceExistsError):
        service.create_file_system("scratch")
    assert [f.name for f in service.list_file_systems()] == ["bulk", FILESYSTEM, "scratch"]
    pages = list(service.list_file_systems(results_per_page=2).by_page())
    assert [[f.name for f in page] for page in pages] == [["bulk", FILESYSTEM], ["scratch"]]
    assert [f.name for f in service.list_file_systems(name_starts_with="scr")] == ["scratch"]
    service.delete_file_system("scratch")
    assert service.get_file_system_client("scratch").exists() is False


def test_file_create_append_flush_read_range_properties_delete(fs, emulator):
    f = fs.get_file_client("sdk/data/hello.txt")
    f.create_file()
    f.append_data(b"hello ", offset=0, length=6)
    f.append_data(b"world", offset=6, length=5)
    f.flush_data(11)
    assert f.download_file().readall() == b"hello world"
    assert f.download_file(offset=6, length=5).readall() == b"world"
    props = f.get_file_properties()
    assert props.size == 11 and props.etag and props.name == "sdk/data/hello.txt"
    f.upload_data(b"replaced", overwrite=True)
    assert f.download_file().readall() == b"replaced"
    empty = fs.get_file_client("sdk/data/empty.txt")
    empty.create_file()
    assert empty.download_file().readall() == b""
    account = next(a for a in emulator.state()["azure"]["storage_accounts"] if a["name"] == ACCOUNT)
    paths = {p["path"]: p for p in next(f for f in account["filesystems"] if f["name"] == FILESYSTEM)["paths"]}
    assert paths["sdk/data/hello.txt"]["type"] == "file" and paths["sdk/data"]["type"] == "directory"
    f.delete_file()
    assert f.exists() is False
    with pytest.raises(ResourceNotFoundError):
        f.get_file_properties()
    empty.delete_file()


def test_list_paths_recursive_with_max_results_and_continuation(fs):
    d = fs.get_directory_client("listing")
    d.create_directory()
    for i in range(4):
        sub = d.create_sub_directory(f"d{i}")
        for j in range(3):
            sub.create_file(f"f{j}.csv")
    paths = list(fs.get_paths(path="listing", recursive=True, max_results=5))
    assert len(paths) == 4 + 12
    assert {p.name for p in paths if p.is_directory} == {f"listing/d{i}" for i in range(4)}
    assert "listing/d3/f2.csv" in {p.name for p in paths}
    pages = list(fs.get_paths(path="listing", recursive=True, max_results=5).by_page())
    assert len(pages) == 4
    top = [p.name for p in fs.get_paths(path="listing", recursive=False)]
    assert top == [f"listing/d{i}" for i in range(4)]


def test_directory_rename_and_recursive_delete(fs):
    d = fs.get_directory_client("to-rename")
    d.create_directory()
    d.get_file_client("a.txt").create_file()
    renamed = d.rename_directory(f"{FILESYSTEM}/renamed")
    assert renamed.exists() is True and d.exists() is False
    assert fs.get_file_client("renamed/a.txt").exists() is True
    with pytest.raises(ResourceNotFoundError):
        fs.get_directory_client("missing").rename_directory(f"{FILESYSTEM}/x")
    # A file renames too.
    fs.get_file_client("renamed/a.txt").rename_file(f"{FILESYSTEM}/renamed/b.txt")
    assert [p.name for p in fs.get_paths(path="renamed")] == ["renamed/b.txt"]
    renamed.delete_directory()
    assert renamed.exists() is False


def test_paginated_recursive_delete_of_a_large_directory(service, emulator, credential):
    bulk = service.get_file_system_client("bulk")
    big = bulk.get_directory_client("big")
    assert len(list(bulk.get_paths(path="big", recursive=False))) == 3
    # The service pages the permission checks of a large delete: the first
    # answer carries a continuation, and the SDK follows it.
    token = credential.get_token("https://storage.azure.com/.default").token
    first = requests.delete(f"{emulator.base}/{ACCOUNT}/bulk/big?recursive=true&paginated=true",
                            headers={"Authorization": f"Bearer {token}", "x-ms-version": "2023-11-03"}, timeout=10)
    assert first.status_code == 200 and first.headers.get("x-ms-continuation")
    assert big.exists() is True
    big.delete_directory()
    assert big.exists() is False
    assert list(bulk.get_paths()) == []


def test_set_access_control_with_permissions_owner_group_and_acl(fs):
    d = fs.get_directory_client("acl")
    d.create_directory()
    d.set_access_control(owner="0b5c8a3e-1f2d-4e6a-8b7c-9d0e1f2a3b4c", group="5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
                         permissions="rwxr-x--x")
    ac = d.get_access_control()
    assert ac["owner"] == "0b5c8a3e-1f2d-4e6a-8b7c-9d0e1f2a3b4c"
    assert ac["group"] == "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
    # The directory inherited the root's named default entries: an extended ACL ("+").
    assert ac["permissions"] == "rwxr-x--x+"
    d.set_access_control(permissions="0750")
    assert d.get_access_control()["permissions"] == "rwxr-x---+"
    # A named default entry is stored with its default mask and the base
    # default entries (docs/emulator.md, "Default ACLs").
    d.set_access_control(acl="user::rwx,group::r-x,other::---,default:user:7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9:r-x")
    acl = d.get_access_control()["acl"].split(",")
    for entry in ("user::rwx", "default:user::rwx", "default:user:7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9:r-x",
                  "default:group::r-x", "default:mask::r-x", "default:other::---"):
        assert entry in acl, acl
    # A new child inherits the default ACL.
    child = d.create_sub_directory("child")
    assert "user:7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9:r-x" in child.get_access_control()["acl"].split(",")


USER = "7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9"


def test_default_acl_without_base_entries_is_stored_with_them(service):
    """ADLS Gen2 adds the base default entries a request omits, copied from
    the access ACL's user::, group:: and other::, and a default mask over the
    group class (hadoop-azure's ITestAzureBlobFilesystemAcl, which runs
    against real accounts: docs/emulator.md, "Default ACLs")."""
    fsc = service.create_file_system("acldefaults")
    try:
        d = fsc.get_directory_client("d")
        d.create_directory()
        assert d.get_access_control()["acl"] == "user::rwx,group::r-x,other::---"
        d.set_access_control(acl=f"user::rwx,group::r-x,other::--x,default:user:{USER}:r--")
        ac = d.get_access_control()
        assert ac["acl"] == ("user::rwx,group::r-x,other::--x,default:user::rwx,"
                             f"default:user:{USER}:r--,default:group::r-x,default:mask::r-x,default:other::--x")
        assert ac["permissions"] == "rwxr-x--x+"
        # Only default entries: the access ACL stays as it is (testSetAclOnlyDefault).
        d.set_access_control(acl=f"default:user:{USER}:rwx")
        assert d.get_access_control()["acl"] == ("user::rwx,group::r-x,other::--x,default:user::rwx,"
                                                 f"default:user:{USER}:rwx,default:group::r-x,default:mask::rwx,"
                                                 "default:other::--x")
        # A new child inherits the completed default ACL (umask 007 clears other::).
        child = d.create_sub_directory("child")
        assert child.get_access_control()["acl"] == (
            f"user::rwx,user:{USER}:rwx,group::r-x,mask::rwx,other::---,default:user::rwx,"
            f"default:user:{USER}:rwx,default:group::r-x,default:mask::rwx,default:other::--x")
    finally:
        service.delete_file_system("acldefaults")
