"""The "Remote server" tab of the model picker: an OpenAI-compatible server, its model, its API key.

Listing the server's models, reading the keyring and saving a key all run on a worker thread
(:class:`~studio.ui.jobs.BackgroundJob`), so the GUI thread never waits on the network or the keyring.
The key goes to the system keyring, never to the settings file.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.ui.jobs import BackgroundJob, one_line, start_job

_MAX_LIST_BYTES = 4 * 1024 * 1024


def list_server_models(base_url: str, api_key: str | None, timeout: float = 5.0) -> list[str]:
    """The model ids an OpenAI-compatible server lists at ``GET <base>/models`` (blocking).

    Uses httpx2 (imported here, off the GUI thread and after the window shows): proxies from the
    environment, the address's query string kept, no redirect followed (the key would go along).

    Raises:
        EngineError: a bad address, no answer, a refusal, or not an OpenAI-compatible answer.
    """
    import json
    from urllib.parse import urlsplit

    import httpx2

    from studio.engine.base import EngineError
    from studio.engine.openai_http import net_error, url_query
    from studio.store.secrets import normalize_base_url

    base = normalize_base_url(base_url)
    query = url_query(base_url)
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        with (
            httpx2.Client(timeout=timeout, follow_redirects=False) as client,
            client.stream("GET", base + "/models" + (f"?{query}" if query else ""), headers=headers) as resp,
        ):
            status, reason, where = resp.status_code, resp.reason_phrase, resp.headers.get("Location")
            raw = b""
            if status == 200:
                for part in resp.iter_bytes():
                    raw += part
                    if len(raw) >= _MAX_LIST_BYTES:
                        break
    except httpx2.HTTPError as e:  # one line: refused, DNS, TLS, timeout, dropped
        raise EngineError(net_error(e, base, urlsplit(base).hostname or "", timeout)) from None
    if 300 <= status < 400:
        raise EngineError(
            f"{base} answered {status}, a redirect to {where or 'elsewhere'}: not followed (the key would "
            "go along); give the address it redirects to"
        )
    if status != 200:
        hint = " (check the API key)" if status in (401, 403) else ""
        raise EngineError(f"{base} answered {status} {reason}{hint}")
    try:
        data = json.loads(raw[:_MAX_LIST_BYTES])
    except ValueError:
        raise EngineError(f"{base}/models did not answer JSON: is it an OpenAI-compatible server?") from None
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise EngineError(f"{base}/models is not an OpenAI model list")
    return [str(m["id"]) for m in items if isinstance(m, dict) and "id" in m]


class ServerForm(QWidget):
    """The "Remote server" tab: address, model, API key (kept in the system keyring), Test and Use.

    Signals:
        useRequested(str, dict): the model name and options (``base_url``; ``api_key`` only when the
            key could not be stored in a keyring and must be handed over for this session).
    """

    useRequested = Signal(str, dict)

    def __init__(self, base_url: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[BackgroundJob] = []
        self.base_url = QLineEdit(base_url or "")
        self.base_url.setPlaceholderText(
            "http://127.0.0.1:8080/v1 (llama.cpp, vLLM, Ollama, LM Studio, mlx_lm.server)"
        )
        self.model = QComboBox()
        self.model.setEditable(True)
        if (line := self.model.lineEdit()) is not None:
            line.setPlaceholderText("the server's model name (Test connection lists them)")
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("optional; kept in the system keyring, never in the settings file")
        self.keyring_note = QLabel("")
        self.keyring_note.setObjectName("keyringNote")
        self.keyring_note.setWordWrap(True)
        self.insecure_note = QLabel("")
        self.insecure_note.setObjectName("noticeError")
        self.insecure_note.setWordWrap(True)
        self.insecure_note.setVisible(False)
        self.base_url.textChanged.connect(self._check_insecure)
        self.api_key.textChanged.connect(self._check_insecure)
        self.status = QLabel("")
        self.status.setObjectName("serverStatus")
        self.status.setWordWrap(True)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.use_button = QPushButton("Use this server")
        self.use_button.clicked.connect(self.use)
        form = QFormLayout()
        form.addRow("Server address", self.base_url)
        form.addRow("Model", self.model)
        form.addRow("API key", self.api_key)
        form.addRow("", self.keyring_note)
        form.addRow("", self.insecure_note)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.test_button)
        row.addWidget(self.use_button)
        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addStretch(1)
        box.addLayout(row)
        self._run(lambda job: _keyring_state(), self._on_keyring, lambda e: None)
        self._check_insecure()

    def _run(self, fn: Any, on_done: Any, on_error: Any) -> BackgroundJob:
        return start_job(self._jobs, fn, on_done, on_error)

    @Slot()
    def _check_insecure(self) -> None:
        """Warn, in the form, when the typed key would go unencrypted to another machine."""
        from studio.store.secrets import ENV_KEY, env_key_owner, insecure_key_warning, normalize_base_url

        url = self.base_url.text().strip()
        try:
            base = normalize_base_url(url) if url else ""
        except Exception:  # not an address yet (being typed)
            base = ""
        has_key = bool(self.api_key.text().strip()) or (
            bool(os.environ.get(ENV_KEY, "").strip()) and env_key_owner() == base
        )
        warning = insecure_key_warning(base) if base and has_key else None
        self.insecure_note.setText(warning or "")
        self.insecure_note.setVisible(warning is not None)

    @Slot(object)
    def _on_keyring(self, available: bool) -> None:
        self.keyring_available = available
        if not available:
            self.keyring_note.setText(
                "No system keyring here: a key you type is used for this session only and not saved "
                "(set STUDIO_API_KEY to give one at every start)."
            )

    @Slot()
    def test_connection(self) -> None:
        """List the server's models (worker thread) into the model box."""
        url, key = self.base_url.text().strip(), self.api_key.text().strip() or None
        self.status.setText("Connecting…")
        self.test_button.setEnabled(False)

        def work(job: BackgroundJob) -> list[str]:
            from studio.store.secrets import normalize_base_url, resolve_api_key

            return list_server_models(url, resolve_api_key(normalize_base_url(url), key)[0])

        self._run(work, self._on_listed, self._on_test_failed)

    @Slot(object)
    def _on_listed(self, models: list[str]) -> None:
        self.test_button.setEnabled(True)
        typed = self.model.currentText().strip()
        self.model.clear()
        self.model.addItems(models)
        self.model.setCurrentText(typed if typed in models or not models else models[0])
        n = len(models)
        self.status.setText(f"Connected: the server lists {n} model{'s' if n != 1 else ''}.")

    @Slot(object)
    def _on_test_failed(self, exc: BaseException) -> None:
        self.test_button.setEnabled(True)
        self.status.setText(f"Could not connect: {one_line(exc)}")

    @Slot()
    def use(self) -> None:
        """Save the key in the keyring (worker thread), then hand the server over."""
        url, model, key = (
            self.base_url.text().strip(),
            self.model.currentText().strip(),
            self.api_key.text().strip(),
        )
        if not url or not model:
            self.status.setText("Give the server address and a model name (Test connection lists them).")
            return

        def work(job: BackgroundJob) -> dict[str, Any]:
            from studio.engine.base import EngineError
            from studio.engine.openai_http import url_query
            from studio.store.secrets import normalize_base_url, set_api_key

            base = normalize_base_url(url)
            query = url_query(url)  # e.g. Azure's ?api-version=...: the engine sends it on every request
            options: dict[str, Any] = {"base_url": base + (f"?{query}" if query else "")}
            if key:
                try:
                    set_api_key(base, key)
                except EngineError:  # no keyring: the key lives for this session only
                    options["api_key"] = key
            return options

        self._run(work, lambda opts: self.useRequested.emit(model, opts), self._on_test_failed)

    def wait_jobs(self, ms: int = 15_000) -> bool:
        return all(job.wait(ms) for job in self._jobs)


def _keyring_state() -> bool:
    from studio.store.secrets import keyring_available

    return keyring_available()


__all__ = ["ServerForm", "list_server_models"]
