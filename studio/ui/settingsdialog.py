"""The settings dialog: model, engine, temperature, max tokens, system prompt, network default.

It edits a :class:`studio.store.settings.Settings` and saves it with ``save_settings``; flags given
on the command line still win for the running session (the window applies them over these).
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.store.settings import Settings, SettingsState, save_settings

if TYPE_CHECKING:
    from studio.engine.base import GenerationParams

log = logging.getLogger(__name__)


def engine_names() -> list[str]:
    """The engines this install knows (the registry), falling back to "mlx"."""
    try:
        from studio.models.registry import available

        names = ["auto", *sorted(available())]
    except Exception:  # an engine plugin that fails to import must not break the dialog
        log.debug("could not list engines", exc_info=True)
        names = []
    return names or ["mlx"]


class SettingsDialog(QDialog):
    """Edit and save the user's settings.

    Args:
        settings: the values to start from.
        path: where to save (default: the per-user config folder).
        overridden: names of settings that command-line flags override this session (noted in the dialog).

    Signals:
        saved(object): the Settings just written.
    """

    saved = Signal(object)

    def __init__(
        self,
        settings: Settings,
        path: str | os.PathLike[str] | None = None,
        *,
        overridden: frozenset[str] = frozenset(),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._base = settings
        self._path = Path(path) if path is not None else None
        self.model = QLineEdit(settings.model or "")
        self.model.setPlaceholderText("a local model folder or repo id")
        self.engine = QComboBox()
        self.engine.setEditable(True)
        names = engine_names()
        if settings.engine not in names:
            names.append(settings.engine)
        self.engine.addItems(names)
        self.engine.setCurrentText(settings.engine)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 5.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(2)
        self.temperature.setValue(settings.temperature)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 1_000_000)
        self.max_tokens.setValue(settings.max_tokens)
        self.system_prompt = QPlainTextEdit(settings.system_prompt or "")
        self.system_prompt.setPlaceholderText("empty: the built-in system prompt")
        self.allow_network = QCheckBox("Let new artifacts reach the network")
        self.allow_network.setChecked(settings.allow_network)
        self.auto_fix = QSpinBox()
        self.auto_fix.setRange(0, 3)
        self.auto_fix.setValue(settings.auto_fix)
        self.auto_fix.setSuffix(" times")
        self.auto_fix.setToolTip("A failing artifact goes back to the model with its errors, without a click")
        self._model_access = dict(settings.model_access)
        self.model_access = QLabel()
        self.forget_access = QPushButton("Forget")
        self.forget_access.setToolTip("Artifacts ask again before their next use of the model")
        self.forget_access.clicked.connect(self._forget_access)
        access = QHBoxLayout()
        access.addWidget(self.model_access, 1)
        access.addWidget(self.forget_access)
        self._show_access()

        self.theme = QComboBox()
        for mode in ("system", "light", "dark"):
            self.theme.addItem({"system": "Follow the system"}.get(mode, mode.capitalize()), mode)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))

        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Engine", self.engine)
        form.addRow("Temperature", self.temperature)
        form.addRow("Max tokens", self.max_tokens)
        form.addRow("System prompt", self.system_prompt)
        form.addRow("Network", self.allow_network)
        form.addRow("Auto-fix up to", self.auto_fix)
        form.addRow("Theme", self.theme)
        form.addRow("Artifacts using the model", access)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        if overridden:
            note = QLabel("Set on the command line for this session: " + ", ".join(sorted(overridden)) + ".")
            note.setWordWrap(True)
            layout.addWidget(note)
        layout.addWidget(self.buttons)

    def value(self) -> Settings:
        """The settings as entered (unknown keys of the original are kept)."""
        prompt = self.system_prompt.toPlainText().strip()
        return replace(
            self._base,
            model=self.model.text().strip() or None,
            engine=self.engine.currentText().strip() or "auto",
            temperature=round(self.temperature.value(), 2),
            max_tokens=self.max_tokens.value(),
            system_prompt=prompt or None,
            allow_network=self.allow_network.isChecked(),
            auto_fix=self.auto_fix.value(),
            theme=self.theme.currentData() or "system",
            model_access=dict(self._model_access),
        )

    def _show_access(self) -> None:
        allowed = sum(self._model_access.values())
        denied = len(self._model_access) - allowed
        self.model_access.setText(
            f"{allowed} allowed, {denied} denied"
            if self._model_access
            else "none remembered (each asks first)"
        )
        self.forget_access.setEnabled(bool(self._model_access))

    def _forget_access(self) -> None:
        self._model_access.clear()
        self._show_access()

    def accept(self) -> None:
        settings = self.value()
        try:
            save_settings(settings, self._path)
        except OSError as e:
            log.error("could not save the settings: %s", e)
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.warning(self, "Settings", f"The settings could not be saved: {e}")
            return
        self.saved.emit(settings)
        super().accept()


def open_settings_dialog(prefs: SettingsState, parent: QWidget) -> SettingsDialog:
    """Open the dialog over ``parent`` (window-modal); ``saved`` tells who applies the new settings."""
    dialog = SettingsDialog(prefs.saved, prefs.file, overridden=frozenset(prefs.overridden), parent=parent)
    dialog.open()
    return dialog


def apply_settings(
    prefs: SettingsState, saved: Settings, params: GenerationParams
) -> tuple[GenerationParams, str]:
    """Keep ``saved`` in ``prefs``; returns the next answers' parameters and system prompt (flags win)."""
    from studio.core.prompts import default_prompt

    prefs.saved = saved
    eff = prefs.effective()
    return replace(params, temperature=eff.temperature, max_tokens=eff.max_tokens), (
        eff.system_prompt or default_prompt()
    )
