"""The first-run engine install: the offer decision and pip, for real, in a venv that lacks llama_cpp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import engine_venv
import pytest

from studio.models import engineinstall
from studio.models.engineinstall import InstallCancelled, InstallError, install_engine, install_offer

ROOT = Path(__file__).resolve().parents[2]

# Run in the bare venv: the offer before, the install (this module's own pip run), then in the same
# process the offer again and the engine's import (no restart).
FLOW = """
import json, sys
sys.path.insert(0, sys.argv[1])
from studio.models import engineinstall as ei
before, bundle = ei.install_offer(), ei.install_offer(frozen=True)
steps = []
ei.install_engine("llamacpp", on_step=steps.append)
import llama_cpp
print(json.dumps({"before": before, "bundle": bundle, "after": ei.install_offer(),
                  "marker": llama_cpp.MARKER, "steps": [s.line for s in steps]}))
"""


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return engine_venv.make_venv(tmp_path_factory.mktemp("venv") / "v")


def _pip_env(links: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(links))
    return env


@pytest.mark.skipif(sys.platform == "darwin", reason="Apple silicon's engine is MLX, a base dependency")
def test_missing_engine_is_offered_installed_and_then_usable_without_a_restart(
    bare: Path, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    engine_venv.make_wheel(wheels)
    out = subprocess.run(
        [str(bare), "-c", FLOW, str(ROOT)],
        env=_pip_env(wheels),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert (got["before"], got["bundle"], got["after"]) == ("llamacpp", None, None)
    assert got["marker"] == engine_venv.MARKER
    assert any("Successfully installed llama-cpp-python-0.3.36" in line for line in got["steps"])


def test_present_engine_or_the_bundle_is_not_offered() -> None:
    """This environment has llama-cpp-python (the dev extras): nothing to offer; the bundle never offers."""
    pytest.importorskip("llama_cpp")
    assert install_offer() is None
    assert install_offer(frozen=True) is None


def test_a_failed_pip_run_is_one_line(bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("PIP_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))  # an empty folder: nothing to install from
    monkeypatch.setenv("PIP_FORCE_REINSTALL", "1")  # whether or not another test installed it there
    with pytest.raises(InstallError) as err:
        install_engine("llamacpp", python=str(bare))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("pip failed (exit 1): Could not find a version that satisfies the requirement")
    assert "llama-cpp-python" in message


def test_cancel_stops_pip_at_once() -> None:
    """A pip that prints a line and then hangs (like a long compile) ends when cancelled."""
    hang = "import time; print('Building wheel for llama-cpp-python', flush=True); time.sleep(600)"
    started, cancelled = threading.Event(), threading.Event()
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            install_engine(
                "llamacpp",
                argv=[sys.executable, "-c", hang],
                on_step=lambda s: started.set(),
                cancelled=cancelled,
            )
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    assert started.wait(60)
    cancelled.set()
    worker.join(30)
    assert not worker.is_alive()  # the child sleeps ten minutes: only the cancel can have ended it
    assert len(outcome) == 1 and isinstance(outcome[0], InstallCancelled)


def test_a_compile_failure_and_percentages() -> None:
    lines = [
        "  [ 12%] Building C object vendor/ggml.c.o",
        "  error: command 'cc' failed",
        "ERROR: Failed building wheel for llama-cpp-python",
    ]
    assert engineinstall.explain(lines, 1).startswith(
        "pip could not compile the engine: install a C/C++ compiler"
    )
    assert engineinstall.explain(["ERROR: No matching distribution found for x"], 1) == (
        "pip failed (exit 1): No matching distribution found for x"
    )
    assert engineinstall._step("[ 45%] Building CXX object src/llama.cpp.o").percent == 45
    assert (
        engineinstall._step("  [40/160] Building CXX object vendor/llama.cpp/src/llama.cpp.o").percent == 25
    )
    assert engineinstall._step("Collecting llama-cpp-python").percent is None
    assert engineinstall._step("[7/0] odd").percent is None


def test_the_requirement_is_the_extras_pin() -> None:
    import tomllib

    from packaging.requirements import Requirement

    (pin,) = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "llamacpp"
    ]
    assert Requirement(engineinstall.requirement("llamacpp")) == Requirement(pin)
    assert engineinstall.pip_argv("llamacpp", "py")[:4] == ["py", "-m", "pip", "install"]
