"""``artifacts-studio models``: the catalog (table or JSON, installed from the HF cache); pull, add, remove."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import fakehub
import pytest

from studio import cli
from studio.cli import build_parser
from studio.models import catalog
from studio.models.pull import resolve_pull
from studio.models.sysinfo import memory


def _fake_cache(hf_home: Path, repo: str, files: list[str]) -> None:
    """The Hugging Face hub cache layout: hub/models--owner--name/{blobs,refs,snapshots/<rev>/...}."""
    rev = "0123456789abcdef0123456789abcdef01234567"
    root = hf_home / "hub" / ("models--" + repo.replace("/", "--"))
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(rev)
    (root / "blobs").mkdir()
    snap = root / "snapshots" / rev
    snap.mkdir(parents=True)
    for i, name in enumerate(files):
        blob = root / "blobs" / f"{i:040x}"
        blob.write_bytes(b"x" * 16)
        link = snap / name
        try:
            link.symlink_to(os.path.relpath(blob, snap))
        except OSError:  # no symlinks (Windows without developer mode): the hub copies files
            link.write_bytes(blob.read_bytes())


def _models(hf_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_") and k != "HUGGINGFACE_HUB_CACHE"}
    env.update(HF_HOME=str(hf_home), HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "studio", "models", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=env,
    )


def test_parser_has_models() -> None:
    args = build_parser().parse_args(["models", "--json", "--all"])
    assert (args.command, args.json, args.all) == ("models", True, True)


def test_models_json_marks_cached_repo_installed(tmp_path: Path) -> None:
    hf = tmp_path / "hf"
    _fake_cache(hf, "mlx-community/Qwen2.5-Coder-0.5B-Instruct-4bit", ["config.json", "model.safetensors"])
    _fake_cache(hf, "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", ["qwen2.5-coder-1.5b-instruct-q8_0.gguf"])
    out = _models(hf, "--json", "--all")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    rows = {r["id"]: r for r in data["models"]}
    assert len(rows) == len(catalog.catalog()) >= 30
    assert rows["mlx:0.5B:4bit"]["installed"] is True
    assert rows["llamacpp:1.5B:q8_0"]["installed"] is True
    assert rows["llamacpp:1.5B:q4_k_m"]["installed"] is False  # same repo, other quant not downloaded
    assert sum(r["installed"] for r in rows.values()) == 2
    assert rows["cuda:3B:bf16"]["engine"] == catalog.engine_note("cuda")
    assert rows["cuda:3B:bf16"]["licence"] == "Qwen Research License"
    assert data["memory"]["total_gb"] > 0
    assert set(data["recommended"]) == {"mlx", "llamacpp", "cuda"}
    assert all(r["fit"] in ("comfortable", "tight", "too large") for r in rows.values())


def test_models_without_cache_means_none_installed(tmp_path: Path) -> None:
    out = _models(tmp_path / "missing", "--json", "--all")
    assert out.returncode == 0, out.stderr
    assert not any(r["installed"] for r in json.loads(out.stdout)["models"])


def test_models_table(tmp_path: Path) -> None:
    out = _models(tmp_path / "missing", "--all")
    assert out.returncode == 0, out.stderr
    assert "This machine:" in out.stdout
    assert "Qwen2.5-Coder-32B-Instruct" in out.stdout and "Recommended for" in out.stdout
    assert "Qwen Research License" in out.stdout


# -- pull / add / remove ---------------------------------------------------------------------------


REPO = "tester/tiny-model"
WEIGHTS = os.urandom(2_000_000)
FILES = {"config.json": b'{"model_type": "qwen2"}', "model.safetensors": WEIGHTS}
GGUF = b"GGUF" + struct.pack("<IQQ", 3, 1, 0) + b"\0" * 1000
GGUF_REPO = "Qwen/Qwen2.5-Coder-32B-Instruct-GGUF"
GGUF_FILES = {
    "qwen2.5-coder-32b-instruct-q4_k_m.gguf": GGUF,
    "qwen2.5-coder-32b-instruct-q8_0.gguf": GGUF + b"\1" * 5000,
    "README.md": b"# GGUF",
}


@pytest.fixture
def online() -> Iterator[None]:
    with fakehub.hub_online():
        yield


def test_parser_sub_commands() -> None:
    p = build_parser()
    args = p.parse_args(["models", "pull", "mlx:7B:4bit", "--json"])
    assert (args.command, args.models_command, args.id, args.json) == ("models", "pull", "mlx:7B:4bit", True)
    args = p.parse_args(["models", "--json", "pull", "7B", "--engine", "llamacpp", "--quant", "q8_0"])
    assert (args.json, args.engine, args.quant) == (
        True,
        "llamacpp",
        "q8_0",
    )  # --json before the action stays
    args = p.parse_args(["models", "add", "/some/folder"])
    assert (args.models_command, args.path, args.json) == ("add", "/some/folder", False)
    assert p.parse_args(["models"]).models_command is None


def test_resolve_pull() -> None:
    assert resolve_pull("mlx:7B:4bit") == catalog.find("mlx:7B:4bit")
    assert resolve_pull("7B", "llamacpp") == catalog.find("llamacpp:7B:q4_k_m")
    assert resolve_pull("0.5b", "llamacpp", "q8_0") == catalog.find("llamacpp:0.5B:q8_0")
    assert resolve_pull(GGUF_REPO) == catalog.find("llamacpp:32B:q4_k_m")  # one quant, not the whole repo
    assert resolve_pull(GGUF_REPO, quant="q8_0") == catalog.find("llamacpp:32B:q8_0")
    assert resolve_pull("someone/other-model") == "someone/other-model"
    for bad, message in [
        ("mlx:7B:2bit", "no catalog model"),
        ("9B", "not a catalog id"),
        ("no spaces/allowed here", "not a catalog id"),
    ]:
        with pytest.raises(ValueError, match=message):
            resolve_pull(bad)
    with pytest.raises(ValueError, match="no q2_k form of 7B for llamacpp"):
        resolve_pull("7B", "llamacpp", "q2_k")
    with pytest.raises(ValueError, match="unknown engine"):
        resolve_pull("7B", "tpu")


def test_pull_repo_end_to_end(tmp_path: Path, online: None, capsys: pytest.CaptureFixture[str]) -> None:
    with fakehub.FakeHub({REPO: FILES}) as hub:
        code = cli.main(["models", "pull", REPO, "--endpoint", hub.endpoint, "--cache-dir", str(tmp_path)])
        out, err = capsys.readouterr()
        assert code == 0, err
        folder = tmp_path / "models--tester--tiny-model" / "snapshots" / hub.commit(REPO)
        assert out.strip().splitlines()[-1] == str(folder)
        assert (folder / "model.safetensors").read_bytes() == WEIGHTS
        assert "\r" in err and "MB/s" in err and "2.0 MB / 2.0 MB  100.0%" in err
        # --json into another cache, the hub named by $HF_ENDPOINT: JSON lines, progress monotone, one 100%
        os.environ["HF_ENDPOINT"] = hub.endpoint  # hub_online() restores it
        code = cli.main(["models", "pull", REPO, "--json", "--cache-dir", str(tmp_path / "c2")])
        out, err = capsys.readouterr()
        assert code == 0, err
        events = [json.loads(line) for line in out.splitlines()]
        second = tmp_path / "c2" / folder.relative_to(tmp_path)
        assert events[0]["event"] == "start"
        assert events[-1] == {"event": "done", "message": f"Downloaded to {second}", "path": str(second)}
        progress = [e for e in events if e["event"] == "progress"]
        done = [e["done_bytes"] for e in progress]
        assert done == sorted(done) and done[-1] == progress[-1]["total_bytes"] == len(WEIGHTS) + 23
        assert done.count(done[-1]) <= 2 and len(hub.file_requests()) == 4


def test_pull_catalog_gguf_warns_and_fetches_one_quant(
    tmp_path: Path, online: None, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = catalog.find("llamacpp:32B:q4_k_m")
    assert entry is not None
    with fakehub.FakeHub({GGUF_REPO: GGUF_FILES}) as hub:
        code = cli.main(
            ["models", "pull", entry.id, "--endpoint", hub.endpoint, "--cache-dir", str(tmp_path)]
        )
        out, err = capsys.readouterr()
        assert code == 0, err
        assert [r.path.rsplit("/", 1)[1] for r in hub.file_requests()] == [
            "qwen2.5-coder-32b-instruct-q4_k_m.gguf"
        ]
    assert out.strip().endswith("qwen2.5-coder-32b-instruct-q4_k_m.gguf")
    warning = catalog.fit_warning(entry, memory())
    assert (warning is not None) == ("Warning: " in err)
    if warning:
        assert warning in err


def test_pull_failures_and_bad_input(
    tmp_path: Path, online: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with fakehub.FakeHub({REPO: FILES}) as hub:
        host = hub.endpoint.removeprefix("http://")
        assert cli.main(["models", "pull", "nobody/nothing", "--endpoint", hub.endpoint]) == 1
        assert f"No model nobody/nothing on {host}" in capsys.readouterr().err
        code = cli.main(["models", "pull", "nobody/nothing", "--json", "--endpoint", hub.endpoint])
        last = json.loads(capsys.readouterr().out.splitlines()[-1])
        assert (
            code == 1 and last["event"] == "error" and last["message"].startswith("No model nobody/nothing")
        )
    assert cli.main(["models", "pull", "mlx:7B:3bit"]) == 2
    assert "Nothing to pull: no catalog model 'mlx:7B:3bit'" in capsys.readouterr().err


def test_pull_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert cli.main(["models", "pull", REPO, "--cache-dir", str(tmp_path)]) == 1
    assert "HF_HUB_OFFLINE is set" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_pull_ctrl_c_cancels_then_resumes(
    tmp_path: Path, online: None, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    # slow enough that the download cannot end between the signal and its handling on a busy machine
    with fakehub.FakeHub({REPO: FILES}, throttle=250_000) as hub:
        cmd = [sys.executable, "-m", "studio", "models", "pull", REPO, "--json"]
        cmd += ["--endpoint", hub.endpoint, "--cache-dir", str(tmp_path)]
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            # a test run started in the background inherits SIGINT ignored; the user's terminal never does
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            if (
                event["event"] == "progress"
                and event["file"] == "model.safetensors"
                and event["done_bytes"] > 300_000
            ):
                proc.send_signal(signal.SIGINT)
                break
        rest, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert json.loads(rest.splitlines()[-1])["event"] == "cancelled"
        assert "run `models pull tester/tiny-model` again to resume" in err
        assert "Traceback" not in err
        served = hub.bytes_served("model.safetensors")
        assert served < len(WEIGHTS)
        hub.throttle = None  # the resumed part at full speed
        assert (
            cli.main(["models", "pull", REPO, "--endpoint", hub.endpoint, "--cache-dir", str(tmp_path)]) == 0
        )
        gets = hub.file_requests("model.safetensors")
        assert len(gets) == 2 and gets[1].status == 206 and gets[1].range is not None
        assert hub.bytes_served("model.safetensors") < 1.5 * len(WEIGHTS)
    capsys.readouterr()


def test_pull_pattern(tmp_path: Path, online: None, capsys: pytest.CaptureFixture[str]) -> None:
    with fakehub.FakeHub({REPO: FILES}) as hub:
        args = [
            "models",
            "pull",
            REPO,
            "--pattern",
            "*.json",
            "--endpoint",
            hub.endpoint,
            "--cache-dir",
            str(tmp_path),
        ]
        assert cli.main(args) == 0
        assert [r.path.rsplit("/", 1)[1] for r in hub.file_requests()] == ["config.json"]
    assert capsys.readouterr().out.strip().endswith("config.json")


def _good_folder(root: Path) -> Path:
    from safetensors.numpy import save_file

    root.mkdir()
    (root / "config.json").write_text(json.dumps({"model_type": "qwen2", "vocab_size": 16}))
    (root / "tokenizer.json").write_text("{}")
    import numpy as np

    save_file({"model.embed_tokens.weight": np.zeros((16, 4), np.float32)}, str(root / "model.safetensors"))
    return root


def test_add_list_remove_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STUDIO_CONFIG_DIR", str(tmp_path / "conf"))
    folder = _good_folder(tmp_path / "mymodel")
    assert cli.main(["models", "add", str(folder)]) == 0
    assert "Added mymodel (safetensors" in capsys.readouterr().out
    assert cli.main(["models", "--json", "--all"]) == 0
    local = json.loads(capsys.readouterr().out)["local"]
    assert [(m["name"], m["path"], m["available"]) for m in local] == [("mymodel", str(folder), True)]
    assert cli.main(["models", "--all"]) == 0
    assert "Model folders added here:\n  mymodel  safetensors  mlx, cuda" in capsys.readouterr().out
    (folder / "tokenizer.json").unlink()
    assert cli.main(["models", "add", str(folder), "--json"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out)["ok"] is False and "Not added: no tokenizer files" in err
    assert cli.main(["models", "remove", str(folder)]) == 0
    assert cli.main(["models", "remove", str(folder)]) == 1
    capsys.readouterr()
    assert cli.main(["models", "--all"]) == 0
    assert "Model folders added here: none" in capsys.readouterr().out
