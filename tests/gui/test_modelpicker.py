"""The model picker: catalog rows with fit and licence flags, local folders, a remote server."""

from __future__ import annotations

import http.server
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import fakehub
import pytest
import shiboken6
import tiny_model
from PySide6.QtCore import Qt

from studio.models import catalog
from studio.models.sysinfo import Memory
from studio.ui.modelpicker import COLUMNS, MachineInfo, ModelPicker, gather
from tests.gui.httpserver import counting_server


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model.cached_tiny_model(tmp_path_factory.mktemp("models"))


@pytest.fixture
def make_picker(qtbot) -> Iterator[Callable[..., ModelPicker]]:  # type: ignore[no-untyped-def]
    made: list[ModelPicker] = []

    def make(machine: Callable[[], MachineInfo] | None = None, **kw) -> ModelPicker:  # type: ignore[no-untyped-def]
        picker = ModelPicker(native_dialogs=False, machine=machine, **kw)
        made.append(picker)
        with qtbot.waitSignal(picker.ready, timeout=20_000):
            picker.show()
        return picker

    yield make
    for picker in made:
        assert picker.wait_jobs()
        if shiboken6.isValid(picker):
            shiboken6.delete(picker)


class ModelsHandler(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible server's model list (only that)."""

    def do_GET(self) -> None:
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        if self.path != "/v1/models":
            self.send_error(404)
            return
        body = json.dumps(
            {"object": "list", "data": [{"id": "qwen2.5-coder-7b"}, {"id": "llama-3"}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def col(name: str) -> int:
    return COLUMNS.index(name)


def test_catalog_rows_show_fit_and_licence_and_preselect_the_recommendation(make_picker) -> None:  # type: ignore[no-untyped-def]
    mem = Memory.of(16)
    installed = {"mlx:0.5B:4bit": "/models/qwen-0.5b"}
    picker = make_picker(lambda: MachineInfo(mem, ["mlx"], dict(installed)))
    model = picker.catalog_model
    assert [e.id for e in model.rows] == [e.id for e in catalog.entries_for("mlx")]
    fits = {e.id: model.text(r, col("Fit")) for r, e in enumerate(model.rows)}
    assert fits["mlx:7B:4bit"] == "comfortable"  # 5.6 GB of 12.8 usable
    assert fits["mlx:14B:4bit"] == "tight"  # 11.1 GB
    assert fits["mlx:32B:4bit"] == "too large"
    colour = model.data(
        model.index(model.rows.index(catalog.find("mlx:32B:4bit")), col("Fit")),
        Qt.ItemDataRole.ForegroundRole,
    )
    assert colour.name() == "#c5221f"
    licences = {e.size: model.text(r, col("Licence")) for r, e in enumerate(model.rows)}
    assert licences["3B"] == "Qwen Research (not Apache-2.0)"  # short in the cell...
    assert {v for k, v in licences.items() if k != "3B"} == {"Apache-2.0"}
    row_3b = next(r for r, e in enumerate(model.rows) if e.size == "3B")
    tip = model.data(model.index(row_3b, col("Licence")), Qt.ItemDataRole.ToolTipRole)
    assert (
        tip.startswith("Qwen Research License — not Apache-2.0") and "commercial use" in tip
    )  # ...whole here
    ticks = [e.id for r, e in enumerate(model.rows) if model.text(r, col("Installed")) == "✓"]
    assert ticks == ["mlx:0.5B:4bit"]
    # The recommendation: the biggest comfortable size in its default quantization, selected and marked.
    chosen = picker.selected_entry()
    assert chosen is not None and chosen.id == "mlx:7B:4bit"
    row = model.rows.index(chosen)
    assert model.text(row, col("Model")).startswith("★") and "recommended" in model.text(row, col("Model"))
    assert sum(model.text(r, 0).startswith("★") for r in range(len(model.rows))) == 1
    assert "fits this machine comfortably" in picker.fit_label.text()
    assert picker.download_button.text() == "Download"


def test_the_picker_fits_the_screen_and_shows_every_column_and_the_recommended_row(  # type: ignore[no-untyped-def]
    make_picker, qtbot
) -> None:
    from studio.ui.modelpicker import DEFAULT_SIZE

    # cuda first: its recommendation sits below the 24 mlx and llama.cpp rows, out of the first screenful
    picker = make_picker(lambda: MachineInfo(Memory.of(24), ["cuda", "mlx", "llamacpp"], {}))
    area = picker.screen().availableGeometry()
    assert picker.width() <= area.width() and picker.height() <= area.height()
    assert picker.size() == DEFAULT_SIZE.boundedTo(area.size())
    table, model = picker.table, picker.catalog_model
    assert len(model.rows) == 36
    chosen = picker.selected_entry()
    assert chosen is not None and chosen.engine == "cuda"
    index = model.index(model.rows.index(chosen), 0)
    qtbot.waitUntil(lambda: table.viewport().rect().contains(table.visualRect(index)), timeout=5000)
    assert table.rowAt(0) > 0  # it had to scroll down to get there
    # At the default size every column is on screen, the short ones untruncated, the model one stretched.
    picker.resize(DEFAULT_SIZE)
    qtbot.waitUntil(lambda: table.viewport().width() > 900, timeout=5000)
    header = table.horizontalHeader()
    # (whether everything fits without scrolling depends on the machine's font: not asserted)
    assert header.length() >= table.viewport().width()  # the model column takes any spare width
    for c in range(len(COLUMNS)):
        assert header.sectionSize(c) >= table.sizeHintForColumn(c), COLUMNS[c]
    # Narrower than its content, the table scrolls sideways rather than eliding the model names.
    picker.resize(700, 500)
    qtbot.waitUntil(lambda: table.viewport().width() < 700, timeout=5000)
    for c in range(len(COLUMNS)):
        assert header.sectionSize(c) >= table.sizeHintForColumn(c), COLUMNS[c]
    assert header.length() > table.viewport().width() and table.horizontalScrollBar().isVisible()


def test_selecting_a_tight_or_too_large_model_shows_the_fit_warning(make_picker) -> None:  # type: ignore[no-untyped-def]
    mem = Memory.of(16)
    picker = make_picker(lambda: MachineInfo(mem, ["mlx"], {"mlx:0.5B:4bit": "/models/qwen-0.5b"}))
    assert picker.select_entry("mlx:32B:4bit")
    assert picker.fit_label.text().startswith(catalog.fit_warning(catalog.find("mlx:32B:4bit"), mem) or "?")
    assert "will not fit" in picker.fit_label.text()
    assert picker.select_entry("mlx:14B:4bit")
    assert "it will load, but close other apps" in picker.fit_label.text()
    assert picker.select_entry("mlx:3B:4bit")
    assert "Qwen Research License — not Apache-2.0" in picker.fit_label.text()
    # An installed row is used as it is, without a download.
    assert picker.select_entry("mlx:0.5B:4bit")
    assert picker.download_button.text() == "Use"
    got: list[tuple[str, str, dict]] = []
    picker.chosen.connect(lambda *a: got.append(a))
    assert picker.use_or_download() is None
    assert got == [("mlx", "/models/qwen-0.5b", {"catalog_id": "mlx:0.5B:4bit"})]


def test_engine_combo_lists_missing_engines_disabled_with_their_install_command(make_picker) -> None:  # type: ignore[no-untyped-def]
    picker = make_picker(lambda: MachineInfo(Memory.of(32), ["llamacpp"], {}))
    items = [picker.engine.itemText(i) for i in range(picker.engine.count())]
    assert items[:2] == ["auto", "llamacpp"]
    cuda = next(i for i in range(picker.engine.count()) if picker.engine.itemData(i) == "cuda")
    assert "pip install 'artifacts-studio[cuda]'" in picker.engine.itemText(cuda)
    assert not picker.engine.model().item(cuda).isEnabled()
    assert {e.engine for e in picker.catalog_model.rows} == {"llamacpp"}
    assert not picker.device.isEnabled()


def test_the_real_machine_facts_load_off_the_gui_thread(make_picker) -> None:  # type: ignore[no-untyped-def]
    picker = make_picker()  # the real gather(): memory, engines, HF cache, added folders
    info = picker.info
    assert info is not None and info.memory is not None and info.memory.total_gb > 0
    assert info.engines == gather().engines
    if info.engines:
        assert picker.selected_entry() == catalog.recommend(info.engines[0], info.memory)


def test_adding_a_broken_folder_shows_one_line(make_picker, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    picker = make_picker(lambda: MachineInfo(Memory.of(16), ["mlx"], {}))
    broken = tmp_path / "not-a-model"
    broken.mkdir()
    (broken / "config.json").write_text("{ this is not json")
    picker.tabs.setCurrentIndex(1)
    picker.add_folder(str(broken))
    qtbot.waitUntil(lambda: picker.local_error.text().startswith("Not added:"), timeout=10_000)
    text = picker.local_error.text()
    assert "\n" not in text and "Traceback" not in text and "config.json" in text, text
    assert all(str(broken) not in picker.local_list.item(i).text() for i in range(picker.local_list.count()))


def test_adding_the_tiny_model_through_the_folder_dialog_lists_it_and_uses_it(  # type: ignore[no-untyped-def]
    make_picker, qtbot, tiny_model_path
) -> None:
    picker = make_picker(lambda: MachineInfo(Memory.of(16), ["mlx"], {}))
    picker.tabs.setCurrentIndex(1)
    dialog = picker.add_folder_dialog()
    assert dialog.testOption(dialog.Option.DontUseNativeDialog)
    dialog.fileSelected.emit(str(tiny_model_path))  # what choosing the folder in the dialog sends
    dialog.reject()
    qtbot.waitUntil(
        lambda: any(
            str(tiny_model_path) in picker.local_list.item(i).text() for i in range(picker.local_list.count())
        ),
        timeout=15_000,
    )
    assert picker.local_error.text() == ""
    got: list[tuple[str, str, dict]] = []
    picker.chosen.connect(lambda *a: got.append(a))
    picker.use_local()
    assert got == [("mlx", str(tiny_model_path), {})]


def test_remote_server_test_connection_lists_the_models(make_picker, qtbot) -> None:  # type: ignore[no-untyped-def]
    with counting_server(ModelsHandler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        picker = make_picker(lambda: MachineInfo(Memory.of(16), [], {}), tab="remote")
        form = picker.server
        assert picker.tabs.currentWidget() is form
        assert form.api_key.echoMode() == form.api_key.EchoMode.Password
        form.base_url.setText(url)
        qtbot.mouseClick(form.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: form.status.text().startswith("Connected"), timeout=10_000)
        assert [form.model.itemText(i) for i in range(form.model.count())] == ["qwen2.5-coder-7b", "llama-3"]
        got: list[tuple[str, str, dict]] = []
        picker.chosen.connect(lambda *a: got.append(a))
        form.model.setCurrentText("llama-3")
        with qtbot.waitSignal(picker.chosen, timeout=10_000):
            form.use()
    assert got[0][0] == "openai" and got[0][1] == "llama-3"
    assert got[0][2]["base_url"] == url + "/v1"
    assert server.hits == ["/v1/models"]


def test_remote_server_that_is_not_there_says_so_in_one_line(make_picker, qtbot) -> None:  # type: ignore[no-untyped-def]
    picker = make_picker(lambda: MachineInfo(Memory.of(16), [], {}), tab="remote")
    form = picker.server
    form.base_url.setText("http://127.0.0.1:9/v1")  # the discard port: nothing listens
    form.test_connection()
    qtbot.waitUntil(lambda: form.status.text().startswith("Could not connect"), timeout=10_000)
    assert "127.0.0.1:9" in form.status.text() and "\n" not in form.status.text()
    assert "No local engine is installed" in picker.engine_note.text()


def test_download_button_fetches_the_row_from_the_hub_then_chooses_it(make_picker, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    entry = catalog.find("mlx:1.5B:4bit")
    assert entry is not None
    files = {
        "config.json": b'{"model_type": "qwen2"}',
        "tokenizer.json": b"{}",
        "model.safetensors": b"\0" * 300_000,
    }
    with fakehub.FakeHub({entry.repo: files}) as hub, fakehub.hub_online():
        opts = {"endpoint": hub.endpoint, "cache_dir": tmp_path / "hf"}
        picker = make_picker(lambda: MachineInfo(Memory.of(16), ["mlx"], {}), download_options=opts)
        assert picker.select_entry(entry.id) and picker.download_button.text() == "Download"
        with qtbot.waitSignal(picker.chosen, timeout=20_000) as got:
            dialog = picker.use_or_download()
            assert dialog is not None and dialog.isVisible()
    engine, path, options = got.args
    assert engine == "mlx" and options == {"catalog_id": entry.id}
    assert (Path(path) / "model.safetensors").stat().st_size == 300_000
    assert picker.info is not None and picker.info.installed[entry.id] == path


def test_an_api_key_never_goes_to_the_settings_and_without_a_keyring_lives_for_the_session(  # type: ignore[no-untyped-def]
    make_picker, qtbot
) -> None:
    from studio.store.secrets import keyring_available

    picker = make_picker(
        lambda: MachineInfo(Memory.of(16), [], {}), tab="remote", base_url="http://127.0.0.1:8080"
    )
    form = picker.server
    assert form.base_url.text() == "http://127.0.0.1:8080"
    form.model.setCurrentText("qwen")
    form.api_key.setText("sk-test-123")
    with qtbot.waitSignal(picker.chosen, timeout=10_000) as got:
        form.use()
    options = got.args[2]
    assert options["base_url"] == "http://127.0.0.1:8080/v1"
    if keyring_available():
        assert "api_key" not in options
    else:
        assert options["api_key"] == "sk-test-123"
        qtbot.waitUntil(lambda: "No system keyring" in form.keyring_note.text(), timeout=5000)
