"""Downloads from a local stand-in hub: huggingface_hub's own path against ours.

A fake Hugging Face Hub (``tests/fixtures/fakehub.py``: model info, HEAD/GET ``/resolve/`` with ETag,
X-Repo-Commit, Content-Length and Range) serves one random ``model.safetensors``. Each download runs in
a fresh subprocess with an empty cache:

* ``hf_hub_download``: ``huggingface_hub.hf_hub_download`` (plain HTTP: the stand-in serves no Xet);
* ``snapshot_download``: ``huggingface_hub.snapshot_download`` of the whole repository;
* ``studio``: :func:`studio.models.download.download` (the app's path).

Columns: median throughput over ``--reps`` runs (from the call to its return, imports excluded); on a
hub throttled to ``--throttle-mbs``, the longest wait between two progress calls during the transfer (a ``tqdm_class`` for
the hub's path, the ``progress`` callback for ours; a cancel raised from that callback waits as long);
then the resume test on the throttled hub: the download is killed with SIGKILL once half the file is on
disk, run again, and the bytes the second run fetched are counted from the hub's log, with the partial
files left in the cache afterwards.

Run: ``.venv/bin/python bench/download.py [--mib 128] [--reps 3] [--throttle-mbs 40]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

import fakehub  # noqa: E402  (a test fixture, found through the path above)

REPO = "bench/weights"
FILE = "model.safetensors"
PATHS = ("hf_hub_download", "snapshot_download", "studio")

# The child: one download into an empty cache; prints seconds and progress calls as JSON.
CHILD = r"""
import json, sys, time
mode, endpoint, cache = sys.argv[1:4]
stamps = []
from tqdm.auto import tqdm
import huggingface_hub as hh
from studio.models.download import download

class Counting(tqdm):
    def update(self, n=1):
        stamps.append(time.perf_counter())
        return super().update(n)

t0 = time.perf_counter()
if mode == "studio":
    download("REPO", endpoint=endpoint, cache_dir=cache, progress=lambda p: stamps.append(time.perf_counter()))
elif mode == "hf_hub_download":
    hh.hf_hub_download("REPO", "FILE", cache_dir=cache, endpoint=endpoint, tqdm_class=Counting)
else:
    hh.snapshot_download("REPO", cache_dir=cache, endpoint=endpoint, tqdm_class=Counting)
t1 = time.perf_counter()
gaps = [b - a for a, b in zip(stamps, stamps[1:])] or [t1 - t0]
print(json.dumps({"seconds": t1 - t0, "updates": len(stamps), "max_gap": max(gaps)}))
""".replace("REPO", REPO).replace("FILE", FILE)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    return env


def _child(mode: str, endpoint: str, cache: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, mode, endpoint, str(cache)],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _partials(cache: Path) -> list[Path]:
    return list(cache.glob("models--*/blobs/*.incomplete"))


def run_once(hub: fakehub.FakeHub, mode: str, size: int) -> tuple[float, float]:
    """MB/s of one download into an empty cache, and the longest wait between progress calls (s)."""
    with tempfile.TemporaryDirectory() as cache:
        proc = _child(mode, hub.endpoint, Path(cache))
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"{mode} failed: {err.strip().splitlines()[-1:]}")
        got = json.loads(out.strip().splitlines()[-1])
        return size / got["seconds"] / 1e6, got["max_gap"]


def resume_after_kill(hub: fakehub.FakeHub, mode: str, size: int) -> tuple[float, int, int]:
    """Kill -9 a download half-way, run it again: (fraction of the file re-fetched, bytes the second run
    fetched, bytes of partial files left in the cache)."""
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        proc = _child(mode, hub.endpoint, cache)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if sum(p.stat().st_size for p in _partials(cache) if p.exists()) >= size // 2:
                break
            time.sleep(0.005)
        if proc.poll() is not None:
            raise SystemExit(f"{mode} ended before the kill: raise --mib or lower --throttle-mbs")
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        hub.settle()
        before = len(hub.log)
        again = _child(mode, hub.endpoint, cache)
        _, err = again.communicate(timeout=600)
        if again.returncode != 0:
            raise SystemExit(f"{mode} rerun failed: {err.strip().splitlines()[-1:]}")
        hub.settle()
        fetched = sum(r.bytes_served for r in hub.log[before:] if r.method == "GET" and "/resolve/" in r.path)
        left = sum(p.stat().st_size for p in _partials(cache))
        return fetched / size, fetched, left


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=128, help="size of the model file (MiB)")
    ap.add_argument("--reps", type=int, default=3, help="throughput runs per path")
    ap.add_argument("--throttle-mbs", type=float, default=20.0, help="hub speed for the resume test (MB/s)")
    args = ap.parse_args(argv)
    size = args.mib * 1024 * 1024
    files = {FILE: os.urandom(size), "config.json": b'{"model_type": "llama"}'}
    import huggingface_hub

    print(
        f"# {platform.machine()} {platform.system()}, huggingface_hub {huggingface_hub.__version__}, "
        f"{args.mib} MiB file, {args.reps} reps, resume test at {args.throttle_mbs:g} MB/s"
    )
    print(
        f"{'path':<18} {'MB/s':>7} {'progress gap s':>15} {'re-fetched after kill':>22} {'partial left':>13}"
    )
    with (
        fakehub.FakeHub({REPO: files}) as fast,
        fakehub.FakeHub({REPO: files}, throttle=args.throttle_mbs * 1e6) as slow,
    ):
        for mode in PATHS:
            mbs = statistics.median(run_once(fast, mode, size)[0] for _ in range(args.reps))
            gap = run_once(slow, mode, size)[1]
            frac, fetched, left = resume_after_kill(slow, mode, size)
            print(
                f"{mode:<18} {mbs:>7.0f} {gap:>15.2f} "
                f"{f'{frac:.0%} ({fetched / 1e6:.0f} MB)':>22} {f'{left / 1e6:.0f} MB':>13}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
