"""A download killed with SIGKILL resumes where it stopped; hub refusals read as one line.

The first download runs in a subprocess against a fake hub that sends part of the file and then goes
silent, so the process is killed at a known point; the rerun (in this process, from a second fake hub
serving the same repository) must ask for the rest with a Range request and fetch only the rest.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import fakehub
import pytest

from studio.models.download import DownloadError, download, plan_download

ROOT = Path(__file__).resolve().parents[2]
REPO = "tester/killed"
WEIGHTS = os.urandom(2_000_000)
FILES = {"config.json": b'{"model_type": "llama"}', "model.safetensors": WEIGHTS}
SENT = 700_000  # bytes the first hub sends before it goes silent

CHILD = """
import sys
from studio.models.download import download
download(sys.argv[1], endpoint=sys.argv[2], cache_dir=sys.argv[3])
"""


@pytest.fixture(autouse=True)
def online() -> Iterator[None]:
    with fakehub.hub_online():
        yield


def _partial(cache: Path) -> int:
    return sum(p.stat().st_size for p in cache.glob("models--*/blobs/*.incomplete"))


def test_a_download_killed_half_way_resumes_with_a_range_request(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env["PYTHONPATH"] = str(ROOT)
    with fakehub.FakeHub({REPO: FILES}, stall_after=SENT) as first:
        log = (tmp_path / "child.log").open("w")
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, REPO, first.endpoint, str(tmp_path / "cache")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            assert first.stalled.wait(60), (tmp_path / "child.log").read_text()[-2000:]
            deadline = time.monotonic() + 60
            # the child writes what it got (all but its last buffer); then only a kill ends it
            while _partial(tmp_path / "cache") < SENT - 64 * 1024 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert child.poll() is None
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(30)
            log.close()
    cache = tmp_path / "cache"
    kept = _partial(cache)
    assert SENT - 64 * 1024 <= kept <= SENT
    with fakehub.FakeHub({REPO: FILES}) as second:
        plan = plan_download(REPO, endpoint=second.endpoint, cache_dir=cache)
        assert plan.present_bytes == kept + len(FILES["config.json"])
        folder = download(REPO, endpoint=second.endpoint, cache_dir=cache)
        assert (folder / "model.safetensors").read_bytes() == WEIGHTS
        (get,) = second.file_requests("model.safetensors")
        assert (get.range, get.status, get.bytes_served) == (f"bytes={kept}-", 206, len(WEIGHTS) - kept)
    assert _partial(cache) == 0


def test_a_gated_repo_without_a_token_is_one_line(tmp_path: Path) -> None:
    with fakehub.FakeHub({"corp/gated": FILES}, gated=("corp/gated",), gated_status=401) as hub:
        host = hub.endpoint.removeprefix("http://")
        with pytest.raises(DownloadError) as err:
            download("corp/gated", endpoint=hub.endpoint, cache_dir=tmp_path)
    assert str(err.value) == (
        f"corp/gated on {host} is gated: accept its licence on the model page, then log in "
        "(set HF_TOKEN) to download it."
    )
    assert "\n" not in str(err.value)
