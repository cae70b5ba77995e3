"""Size and cold/warm start of the Linux bundle against the unbundled app (prints a table).

Time to window shown, as bench/startup.py measures it: the app prints ``STUDIO_SHOWN <time>``
with STUDIO_MEASURE_STARTUP=1 once the window is exposed and painted, then quits. "Cold" runs
follow ``echo 3 > /proc/sys/vm/drop_caches`` (needs root; otherwise they are marked warm).

Usage: python packaging/linux/bench_bundle.py [--runs 5] [--bundle dist/artifacts-studio]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from bench.startup import _env, _one_launch  # noqa: E402


def drop_caches() -> bool:
    """Empty the page cache so the next launch reads everything from disk; False if not allowed."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def du_mb(path: Path) -> float:
    """Disk usage of a folder or file in MB (du -sk)."""
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) / 1024


def main() -> int:
    """Print size and the launch -> window shown figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bundle", type=Path, default=REPO / "dist" / "artifacts-studio")
    ap.add_argument("--platform", default="offscreen")
    a = ap.parse_args()
    exe = a.bundle / "artifacts-studio"
    if not exe.is_file():
        print(f"no bundle at {exe}: run packaging/linux/build.sh", file=sys.stderr)
        return 2
    env = _env(a.platform)
    commands = {
        "bundle (dist/artifacts-studio)": [str(exe)],
        "unbundled (python -m studio)": [sys.executable, "-m", "studio"],
    }
    print(f"bundle folder: {du_mb(a.bundle):.0f} MB")
    for tar in sorted((a.bundle.parent).glob("artifacts-studio-*-linux-*.tar.gz")):
        print(f"tarball {tar.name}: {du_mb(tar):.0f} MB")
    print(f"\n{'launch -> window shown':34} {'cold (s)':>9} {'warm median (s)':>16} {'CPU warm (s)':>13}")
    for what, cmd in commands.items():
        colds = []
        for _ in range(2):
            cold = drop_caches()
            shown, _, _ = _one_launch(cmd, env)
            colds.append(shown if cold else float("nan"))
        warm = [_one_launch(cmd, env) for _ in range(a.runs)]
        print(
            f"{what:34} {statistics.median(colds):9.2f} {statistics.median(w[0] for w in warm):16.2f} "
            f"{statistics.median(w[2] for w in warm):13.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
