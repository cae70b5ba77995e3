"""The hosted-CI workflow (.github/workflows/ci.yml): valid YAML, the three jobs, and its Ubuntu job
runs exactly what this project's own CI runs (.ci/run). It cannot run here; this checks its text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"


def _workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def _runs(job: dict[str, Any]) -> list[str]:
    return [step["run"].strip() for step in job["steps"] if "run" in step]


def _uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"] for step in job["steps"] if "uses" in step]


def test_the_workflow_is_valid_yaml_with_the_three_jobs() -> None:
    data = _workflow()
    assert {"ubuntu", "macos-arm64", "windows"} == set(data["jobs"])
    assert data["permissions"] == {"contents": "read"}
    # YAML 1.1 reads the bare key `on` as True: either spelling is the trigger block.
    assert "pull_request" in (data.get("on") or data.get(True))
    for name, job in data["jobs"].items():
        assert job["runs-on"], name
        assert job["steps"] and all(("run" in s) != ("uses" in s) for s in job["steps"]), name


def test_the_ubuntu_job_runs_the_same_command_as_ci_run() -> None:
    job = _workflow()["jobs"]["ubuntu"]
    assert re.match(r"ubuntu-", job["runs-on"])
    assert _runs(job) == ["bash .ci/run"]
    ci_run = (REPO / ".ci" / "run").read_text()
    assert ci_run.startswith("#!/usr/bin/env bash") and "./run test" in ci_run


def test_the_actions_are_the_documented_ones_pinned_by_major_version() -> None:
    for name, job in _workflow()["jobs"].items():
        uses = _uses(job)
        assert uses[:2] == ["actions/checkout@v5", "actions/setup-python@v6"], name
        assert all(re.fullmatch(r"actions/[a-z-]+@v\d+", u) for u in uses), uses


def test_macos_tests_with_metal_then_builds_and_launches_the_app() -> None:
    job = _workflow()["jobs"]["macos-arm64"]
    assert job["runs-on"] == "macos-14"  # Apple Silicon runners
    runs = "\n".join(_runs(job))
    order = [
        runs.index(s) for s in ("mx.metal.is_available()", "scripts/test.sh", "packaging/macos/build.sh")
    ]
    assert order == sorted(order)
    assert "STUDIO_MEASURE_STARTUP=1" in runs and "exposed=True" in runs
    assert (REPO / "packaging" / "macos" / "build.sh").is_file()


def test_windows_builds_the_bundle() -> None:
    job = _workflow()["jobs"]["windows"]
    assert job["runs-on"].startswith("windows-")
    assert any("packaging\\windows\\build.ps1" in r for r in _runs(job))
    assert (REPO / "packaging" / "windows" / "build.ps1").is_file()
