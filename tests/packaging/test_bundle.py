"""The built Linux bundle: it runs headless (--version, ``check`` through the bundled QtWebEngine
with the bundled offline runtime), shows its window, installs into XDG folders from its tarball.

Slow and skipped unless a bundle exists at dist/artifacts-studio (``packaging/linux/build.sh``) or
STUDIO_TEST_BUNDLE=1, which builds it first (about 3 minutes on 2 cores). CI does not rebuild it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from studio import __version__

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "dist"
BUNDLE = DIST / "artifacts-studio"
EXE = BUNDLE / "artifacts-studio"
TARBALL = DIST / f"artifacts-studio-{__version__}-linux-{os.uname().machine}.tar.gz"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle"),
    pytest.mark.skipif(
        not (EXE.is_file() or os.environ.get("STUDIO_TEST_BUNDLE") == "1"),
        reason="no bundle at dist/ (packaging/linux/build.sh, or STUDIO_TEST_BUNDLE=1 to build it)",
    ),
]

CHART_PAGE = """<!doctype html><html><head>
<script src="https://cdn.jsdelivr.net/npm/chart.js@4.4.1/dist/chart.umd.min.js"></script></head>
<body><canvas id="c" width="400" height="200"></canvas><script>
new Chart(document.getElementById('c'), {type: 'bar', options: {animation: false},
  data: {labels: ['a', 'b', 'c'], datasets: [{label: 'n', data: [3, 5, 2]}]}});
console.log('chart version ' + Chart.version);
</script></body></html>"""


@pytest.fixture(scope="module")
def exe() -> Path:
    if os.environ.get("STUDIO_TEST_BUNDLE") == "1" and not EXE.is_file():
        subprocess.run([str(REPO / "packaging" / "linux" / "build.sh")], check=True, timeout=1800)
    return EXE


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    e.update(QT_QPA_PLATFORM="offscreen", QTWEBENGINE_CHROMIUM_FLAGS="--no-sandbox --disable-gpu")
    for var in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        e[var] = str(tmp_path / var.lower())
    e["PATH"] = "/usr/bin:/bin"  # nothing from the build's virtual environment
    return e


def run(
    cmd: list[str], env: dict[str, str], cwd: Path, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def test_version(exe: Path, env: dict[str, str], tmp_path: Path) -> None:
    out = run([str(exe), "--version"], env, tmp_path)
    assert (out.returncode, out.stdout.strip()) == (0, f"artifacts-studio {__version__}")


def test_the_bundle_holds_qtwebengine_the_runtime_pack_and_the_icons(exe: Path) -> None:
    inside = BUNDLE / "_internal"
    qt = inside / "PySide6" / "Qt"
    assert (qt / "libexec" / "QtWebEngineProcess").is_file()
    assert (qt / "resources" / "qtwebengine_resources.pak").is_file()
    assert (qt / "translations" / "qtwebengine_locales" / "en-US.pak").is_file()
    manifest = json.loads((inside / "resources" / "runtime" / "manifest.json").read_text())
    pack = inside / "resources" / "runtime" / "pack"
    missing = [
        f"{p['name']}@{p['version']}/{f}"
        for p in manifest["packages"]
        for f in p["files"]
        if not (pack / f"{p['name']}@{p['version']}" / f).is_file()
    ]
    assert len(manifest["packages"]) >= 20 and missing == []
    assert (inside / "resources" / "eval" / "prompts.json").is_file()
    assert (inside / "resources" / "icons" / "png" / "256.png").is_file()
    assert not (qt / "qml").exists()  # the QML tree is trimmed


def test_check_renders_an_artifact_with_the_bundled_runtime(
    exe: Path, env: dict[str, str], tmp_path: Path
) -> None:
    page = tmp_path / "chart.html"
    page.write_text(CHART_PAGE)
    shot = tmp_path / "shot.png"
    out = run([str(exe), "check", str(page), "--json", "--screenshot", str(shot)], env, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert report["loaded"] and report["errors"] == 0 and not report["blank"], report
    assert report["blocked_requests"] == []  # the CDN URL was served from the pack, offline
    assert any(c["message"] == "chart version 4.4.1" for c in report["console"]), report
    assert shot.stat().st_size > 1000
    assert "Traceback" not in out.stderr


def test_the_bundled_mlx_engine_generates_with_a_tiny_real_model(
    exe: Path, env: dict[str, str], tmp_path: Path
) -> None:
    from tiny_model import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    cmd = [str(exe), "generate", "--model", str(model), "--engine", "mlx", "--prompt", "a page"]
    cmd += ["--max-tokens", "12", "--temperature", "0", "--json"]  # greedy: unseeded sampling may stop early
    out = run(cmd, dict(env, HF_HUB_OFFLINE="1"), tmp_path)
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    report = json.loads(out.stdout)
    (turn,) = report["turns"]
    assert turn["error"] is None and turn["generated_tokens"] == 12 and turn["finish_reason"] == "length"
    assert turn["prompt_tokens"] > 100  # the system prompt went through the bundled tokenizer code


def test_the_window_shows(exe: Path, env: dict[str, str], tmp_path: Path) -> None:
    out = run([str(exe)], dict(env, STUDIO_MEASURE_STARTUP="1"), tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "STUDIO_SHOWN" in out.stdout and "exposed=True" in out.stdout


def test_a_startup_failure_is_logged_not_a_traceback(exe: Path, env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in env.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    env["STUDIO_FORCE_STARTUP_FAILURE"] = "start"
    out = run([str(exe)], env, tmp_path)
    assert out.returncode == 70
    assert "Artifacts Studio could not start" in out.stderr and "Traceback" not in out.stderr
    logs = list(Path(env["XDG_STATE_HOME"]).rglob("artifacts-studio.log"))
    assert len(logs) == 1 and "ForcedStartupFailure" in logs[0].read_text()
    assert str(logs[0]) in out.stderr


@pytest.mark.skipif(not TARBALL.is_file(), reason="no tarball (packaging/linux/build.sh makes it)")
def test_the_tarball_installs_into_the_xdg_folders(env: dict[str, str], tmp_path: Path) -> None:
    with tarfile.open(TARBALL) as tar:
        tar.extractall(tmp_path / "unpacked", filter="tar")
    (top,) = (tmp_path / "unpacked").iterdir()
    home = tmp_path / "home"
    env = dict(env, HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"))
    out = run(["sh", str(top / "install.sh")], env, tmp_path)
    assert out.returncode == 0, out.stderr
    data = home / ".local" / "share"
    desktop = (data / "applications" / "artifacts-studio.desktop").read_text()
    installed = data / "artifacts-studio" / "app" / "artifacts-studio"
    assert f'Exec="{installed}" %F' in desktop and "Icon=artifacts-studio" in desktop
    for size in (16, 48, 256, 512):
        assert (data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "artifacts-studio.png").is_file()
    assert (home / ".local" / "bin" / "artifacts-studio").resolve() == installed.resolve()
    ver = run([str(home / ".local" / "bin" / "artifacts-studio"), "--version"], env, tmp_path)
    assert ver.stdout.strip() == f"artifacts-studio {__version__}"
    if shutil.which("desktop-file-validate"):
        assert (
            run(
                ["desktop-file-validate", str(data / "applications" / "artifacts-studio.desktop")],
                env,
                tmp_path,
            ).returncode
            == 0
        )
    out = run(["sh", str(top / "install.sh"), "--uninstall"], env, tmp_path)
    assert out.returncode == 0 and not installed.exists()
    assert not (data / "applications" / "artifacts-studio.desktop").exists()
