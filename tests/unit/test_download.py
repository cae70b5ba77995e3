"""studio.models.download against a fake hub over real HTTP, through the real huggingface_hub client."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import fakehub
import pytest

from studio.engine.base import CancelToken
from studio.engine.modelcheck import resolve_model
from studio.models.download import (
    DownloadCancelled,
    DownloadError,
    DownloadPlan,
    DownloadProgress,
    check_disk,
    download,
    plan_download,
)

REPO = "tester/tiny-model"
WEIGHTS = os.urandom(3_000_000)
FILES = {
    "config.json": b'{"model_type": "qwen2", "vocab_size": 10}',
    "tokenizer.json": b'{"model": {}}',
    "model.safetensors": WEIGHTS,
    "sub/readme.txt": b"hello",
}


@pytest.fixture(autouse=True)
def online() -> Iterator[None]:
    with fakehub.hub_online():
        yield


@pytest.fixture
def hub() -> Iterator[object]:
    with fakehub.FakeHub({REPO: FILES}) as h:
        yield h


def test_plan_sizes_and_pattern(hub: object, tmp_path: Path) -> None:
    plan = plan_download(REPO, endpoint=hub.endpoint, cache_dir=tmp_path)  # type: ignore[attr-defined]
    assert plan.repo == REPO and plan.revision == hub.commit(REPO)  # type: ignore[attr-defined]
    assert dict(plan.files) == {name: len(data) for name, data in FILES.items()}
    assert plan.total_bytes == sum(len(d) for d in FILES.values())
    assert plan.present_bytes == 0 and plan.needed_bytes == plan.total_bytes
    only = plan_download(REPO, pattern="*.safetensors", endpoint=hub.endpoint, cache_dir=tmp_path)  # type: ignore[attr-defined]
    assert only.files == (("model.safetensors", len(WEIGHTS)),)
    with pytest.raises(DownloadError, match=r"no file matching \*\.gguf"):
        plan_download(REPO, pattern="*.gguf", endpoint=hub.endpoint, cache_dir=tmp_path)  # type: ignore[attr-defined]


def test_download_lands_in_the_cache_and_resolves(hub: object, tmp_path: Path) -> None:
    events: list[DownloadProgress] = []
    folder = download(REPO, endpoint=hub.endpoint, cache_dir=tmp_path, progress=events.append)  # type: ignore[attr-defined]
    assert folder == tmp_path / "models--tester--tiny-model" / "snapshots" / hub.commit(REPO)  # type: ignore[attr-defined]
    for name, data in FILES.items():
        assert (folder / name).read_bytes() == data
    assert resolve_model(REPO, cache_dir=tmp_path) == folder
    from huggingface_hub import scan_cache_dir

    (cached,) = scan_cache_dir(tmp_path).repos
    assert cached.repo_id == REPO and cached.size_on_disk == sum(len(d) for d in FILES.values())
    # progress: monotone, ends with exactly one 100% record
    done = [e.done_bytes for e in events]
    assert done == sorted(done) and len(events) >= 2
    last = events[-1]
    assert (last.fraction, last.files_done, last.files_total, last.eta_s, last.file) == (1.0, 4, 4, 0.0, None)
    # a second download fetches nothing
    served = hub.bytes_served()  # type: ignore[attr-defined]
    assert plan_download(REPO, endpoint=hub.endpoint, cache_dir=tmp_path).needed_bytes == 0  # type: ignore[attr-defined]
    assert download(REPO, endpoint=hub.endpoint, cache_dir=tmp_path) == folder  # type: ignore[attr-defined]
    assert hub.bytes_served() == served  # type: ignore[attr-defined]


def test_cancel_from_another_thread_then_resume(tmp_path: Path) -> None:
    with fakehub.FakeHub({REPO: FILES}, throttle=3_000_000) as hub:
        cancel = CancelToken()
        events: list[DownloadProgress] = []

        def watch(p: DownloadProgress) -> None:
            events.append(p)
            if p.file == "model.safetensors" and p.done_bytes > 900_000 and not cancel.cancelled:
                threading.Thread(target=cancel.cancel).start()  # from another thread

        with pytest.raises(DownloadCancelled, match="run it again to resume"):
            download(REPO, endpoint=hub.endpoint, cache_dir=tmp_path, progress=watch, cancel=cancel)
        plan = plan_download(REPO, endpoint=hub.endpoint, cache_dir=tmp_path)
        assert 0 < plan.present_bytes < plan.total_bytes  # stopped part-way; the partial file stayed
        partial = plan.present_bytes
        folder = download(REPO, endpoint=hub.endpoint, cache_dir=tmp_path)
        assert (
            hashlib.sha256((folder / "model.safetensors").read_bytes()).digest()
            == hashlib.sha256(WEIGHTS).digest()
        )
        gets = hub.file_requests("model.safetensors")
        assert len(gets) == 2 and gets[0].range is None
        assert gets[1].range is not None and gets[1].range.startswith("bytes=") and gets[1].status == 206
        assert int(gets[1].range[6:-1]) >= 900_000
        assert hub.bytes_served("model.safetensors") < 1.5 * len(WEIGHTS)
        assert partial >= 900_000


def test_dropped_connection_resumes_in_the_same_call(tmp_path: Path) -> None:
    with fakehub.FakeHub({REPO: FILES}, drop_after=1_000_000) as hub:
        folder = download(REPO, pattern="*.safetensors", endpoint=hub.endpoint, cache_dir=tmp_path)
        assert (folder / "model.safetensors").read_bytes() == WEIGHTS
        gets = hub.file_requests("model.safetensors")
        assert [g.range for g in gets] == [None, "bytes=1000000-"]
        assert sum(g.bytes_served for g in gets) == len(WEIGHTS)


def test_disk_check_refuses_a_plan_bigger_than_the_disk(tmp_path: Path) -> None:
    huge = DownloadPlan(REPO, "0" * 40, (("model.safetensors", 10**18),), 10**18, 0)
    with pytest.raises(DownloadError, match=r"needs 931322574\.6 GB .* GB free"):
        check_disk(huge, tmp_path / "not" / "yet")
    small = DownloadPlan(REPO, "0" * 40, (("model.safetensors", 1000),), 1000, 0)
    check_disk(small, tmp_path)  # fits
    with pytest.raises(DownloadError, match="Not enough disk space"):
        check_disk(small, tmp_path, margin_bytes=10**18)


def test_unknown_repo_says_so(hub: object, tmp_path: Path) -> None:
    host = hub.endpoint.removeprefix("http://")  # type: ignore[attr-defined]
    with pytest.raises(DownloadError) as err:
        download("nobody/nothing", endpoint=hub.endpoint, cache_dir=tmp_path)  # type: ignore[attr-defined]
    assert str(err.value).startswith(f"No model nobody/nothing on {host}")
    assert not (tmp_path / "models--nobody--nothing").exists()


def test_unknown_revision_and_gated_repo(tmp_path: Path) -> None:
    with fakehub.FakeHub({REPO: FILES, "corp/gated": FILES}, gated=("corp/gated",)) as hub:
        with pytest.raises(DownloadError, match="has no revision v9"):
            download(REPO, revision="v9", endpoint=hub.endpoint, cache_dir=tmp_path)
        with pytest.raises(DownloadError, match="corp/gated on .* is gated: accept its licence"):
            download("corp/gated", endpoint=hub.endpoint, cache_dir=tmp_path)


def test_connection_refused_says_cant_reach(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    with pytest.raises(DownloadError) as err:
        download(REPO, endpoint=f"http://127.0.0.1:{port}", cache_dir=tmp_path)
    assert str(err.value) == (
        f"Can't reach 127.0.0.1:{port}: check the connection, or pick a model folder on this computer."
    )


def test_offline_env_says_so(hub: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DownloadError, match="HF_HUB_OFFLINE is set"):
        download(REPO, endpoint=hub.endpoint, cache_dir=tmp_path)  # type: ignore[attr-defined]
    assert hub.log == []  # type: ignore[attr-defined]


def test_fraction() -> None:
    assert DownloadProgress(50, 200, 0.0, None, "a", 0, 1).fraction == 0.25
    assert DownloadProgress(0, 0, 0.0, None, None, 0, 0).fraction == 1.0


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_disk_full_during_the_download(hub: object, tmp_path: Path) -> None:
    """The partial blob is a link to /dev/full, whose writes fail with ENOSPC like a full disk."""
    plan = plan_download(REPO, pattern="*.safetensors", endpoint=hub.endpoint, cache_dir=tmp_path)  # type: ignore[attr-defined]
    etag = dict(plan.etags)["model.safetensors"]
    blobs = tmp_path / "models--tester--tiny-model" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / f"{etag}.incomplete").symlink_to("/dev/full")
    with pytest.raises(DownloadError) as err:
        download(REPO, pattern="*.safetensors", endpoint=hub.endpoint, cache_dir=tmp_path)  # type: ignore[attr-defined]
    assert str(err.value) == (
        "The disk filled up while downloading model.safetensors: free some space and run again; it resumes."
    )


def test_fake_hub_serves_huggingface_hub_own_downloads(hub: object, tmp_path: Path) -> None:
    """snapshot_download / hf_hub_download (model info, tree, HEAD, GET) work against the fake hub too."""
    from huggingface_hub import hf_hub_download, snapshot_download

    folder = Path(snapshot_download(REPO, cache_dir=tmp_path, endpoint=hub.endpoint))  # type: ignore[attr-defined]
    assert folder.name == hub.commit(REPO)  # type: ignore[attr-defined]
    assert {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} == set(FILES)
    # our download reuses that cache: nothing more is fetched
    served = hub.bytes_served()  # type: ignore[attr-defined]
    assert download(REPO, endpoint=hub.endpoint, cache_dir=tmp_path) == folder  # type: ignore[attr-defined]
    assert hub.bytes_served() == served  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="Entry Not Found"):
        hf_hub_download(REPO, "missing.bin", cache_dir=tmp_path, endpoint=hub.endpoint)  # type: ignore[attr-defined]


def test_cancel_while_the_server_sends_nothing(tmp_path: Path) -> None:
    """A silent server blocks the read; cancel still ends the download within half a second."""
    with fakehub.FakeHub({REPO: FILES}, stall_after=500_000) as hub:
        cancel = CancelToken()
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                download(REPO, endpoint=hub.endpoint, cache_dir=tmp_path, cancel=cancel)
            except BaseException as exc:  # handed to the test thread
                outcome.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        assert hub.stalled.wait(10)
        time.sleep(0.3)  # the read is now blocked on the silent socket
        assert worker.is_alive()
        cancel.cancel()
        worker.join(30)
        assert not worker.is_alive()  # the socket stays silent: only the cancel can have ended the read
        assert len(outcome) == 1 and isinstance(outcome[0], DownloadCancelled)
        assert plan_download(REPO, endpoint=hub.endpoint, cache_dir=tmp_path).present_bytes >= 500_000
