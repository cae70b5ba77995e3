"""scripts/fetch_runtime.py: verified, idempotent unpacking and clear errors when it cannot fetch."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("fetch_runtime", ROOT / "scripts" / "fetch_runtime.py")
assert _spec and _spec.loader
fetch = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("fetch_runtime", fetch)
_spec.loader.exec_module(fetch)

MANIFEST = json.loads((ROOT / "resources" / "runtime" / "manifest.json").read_text())
ANIME = next(e for e in MANIFEST["packages"] if e["name"] == "animejs")
CACHE = ROOT / ".cache" / "runtime"


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """A cache folder holding the real animejs tarball (fetched by the set-up step)."""
    src = CACHE / fetch.tarball_name(ANIME)
    if not src.is_file():
        pytest.skip(f"{src} not fetched: run `python scripts/fetch_runtime.py`")
    dest = tmp_path / "cache"
    dest.mkdir()
    shutil.copy(src, dest)
    return dest


def test_unpack_verifies_and_is_idempotent(cache: Path, tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    changed, size = fetch.unpack(ANIME, cache, pack)
    assert changed and size == sum((pack / "animejs@3.2.2" / p).stat().st_size for p in ANIME["files"])
    for rel, digest in ANIME["files"].items():
        assert hashlib.sha256((pack / "animejs@3.2.2" / rel).read_bytes()).hexdigest() == digest
    assert fetch.unpack(ANIME, cache, pack) == (False, size)
    # a damaged file is found by --verify and rewritten from the verified tarball
    victim = pack / "animejs@3.2.2" / "lib" / "anime.min.js"
    victim.write_bytes(b"tampered")
    assert fetch.unpack(ANIME, cache, pack, verify=True) == (True, size)
    assert hashlib.sha256(victim.read_bytes()).hexdigest() == ANIME["files"]["lib/anime.min.js"]


def test_tampered_tarball_is_refused(cache: Path, tmp_path: Path) -> None:
    tar = cache / fetch.tarball_name(ANIME)
    tar.write_bytes(tar.read_bytes() + b"\0")
    with pytest.raises(fetch.FetchError, match="sha512 integrity does not match"):
        fetch.unpack(ANIME, cache, tmp_path / "pack")
    assert not (tmp_path / "pack" / "animejs@3.2.2").exists(), "nothing unverified is written"


def test_file_hash_mismatch_is_refused(cache: Path, tmp_path: Path) -> None:
    entry = copy.deepcopy(ANIME)
    entry["files"]["lib/anime.min.js"] = "0" * 64
    with pytest.raises(fetch.FetchError, match="lib/anime.min.js does not match its sha256"):
        fetch.unpack(entry, cache, tmp_path / "pack")


def test_no_npm_gives_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(fetch.FetchError, match="npm is not installed"):
        fetch.unpack(ANIME, tmp_path / "empty-cache", tmp_path / "pack")


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_unreachable_registry_gives_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    rc = fetch.main(["--cache", str(tmp_path / "cache"), "--pack", str(tmp_path / "pack")])
    err = capsys.readouterr().err
    assert rc == 1 and "npm pack" in err and "offline, or the registry is unreachable" in err
