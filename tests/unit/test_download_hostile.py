"""A hostile hub (a mirror or a man in the middle) cannot make a download write outside the cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fakehub
import pytest

from studio.models.download import DownloadError, check_repo_path, download, inside

REPO = "tester/hostile"


@pytest.fixture(autouse=True)
def online() -> Iterator[None]:
    with fakehub.hub_online():
        yield


def _files_outside(root: Path, cache: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_relative_to(cache)]


@pytest.mark.parametrize(
    "name",
    ["../../evil.txt", "sub/../../evil.txt", "/tmp/evil.txt", "..\\..\\evil.txt", "C:evil.txt", "a//b.txt"],
)
def test_hostile_file_names_are_refused(tmp_path: Path, name: str) -> None:
    cache = tmp_path / "cache"
    hub = fakehub.FakeHub({REPO: {"config.json": b"{}", name: b"pwned"}})
    with hub, pytest.raises(DownloadError, match="unsafe file name"):
        download(REPO, endpoint=hub.endpoint, cache_dir=cache)
    assert _files_outside(tmp_path, cache) == []
    assert not list(tmp_path.rglob("evil.txt"))


@pytest.mark.parametrize("sha", ["../../../evil", "main", "0123", "A" * 40, "g" * 40])
def test_a_commit_id_that_is_not_40_hex_is_refused(tmp_path: Path, sha: str) -> None:
    cache = tmp_path / "cache"
    with fakehub.FakeHub({REPO: {"config.json": b"{}"}}) as hub:
        hub.repos[REPO].sha = sha
        with pytest.raises(DownloadError, match="bad commit id"):
            download(REPO, endpoint=hub.endpoint, cache_dir=cache)
    assert _files_outside(tmp_path, cache) == []


def test_a_hostile_etag_is_refused(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with fakehub.FakeHub({REPO: {"config.json": b"{}"}}) as hub:
        hub.repos[REPO].etag_override["config.json"] = "../../../../evil"
        with pytest.raises(DownloadError, match="unsafe ETag"):
            download(REPO, endpoint=hub.endpoint, cache_dir=cache)
    assert _files_outside(tmp_path, cache) == []
    assert not list(tmp_path.rglob("evil*"))


def test_a_hostile_revision_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="unsafe revision"):
        check_repo_path("../../refs-escape", "revision")
    assert check_repo_path("feature/x", "revision") == "feature/x"


def test_inside_follows_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(DownloadError, match="outside the model cache"):
        inside(root, root / "link" / "x")
    assert inside(root, root / "a" / "b") == root / "a" / "b"
