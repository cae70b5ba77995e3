"""The picker's Download tab data: what this machine has, and the model catalog as table rows.

:func:`gather` collects the machine facts (memory, runnable engines, cached catalog models, added
folders); it blocks, so the picker calls it on a worker thread. :class:`CatalogModel` shows catalog
entries with their fit coloured and the recommended one marked; :class:`CatalogTable` is its view,
sized so the model column takes the spare width and the short columns stay readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from studio.models import catalog
from studio.models.catalog import Entry
from studio.models.sysinfo import Memory
from studio.ui.jobs import one_line

FIT_COLOURS = {"comfortable": "#1e8e3e", "tight": "#b06000", "too large": "#c5221f"}
COLUMNS = ("Model", "Engine", "Quantization", "Download", "Memory", "Fit", "Licence", "Installed")
RIGHT_ALIGNED = ("Download", "Memory")  # figures line up on their units


def licence_text(entry: Entry) -> str:
    """The licence, flagged when it is not Apache-2.0 ("Qwen Research License — not Apache-2.0")."""
    return entry.licence if entry.apache else f"{entry.licence} — not Apache-2.0"


def licence_short(entry: Entry) -> str:
    """The licence as the table cell shows it ("Qwen Research (not Apache-2.0)")."""
    return entry.licence if entry.apache else f"{entry.licence.removesuffix(' License')} (not Apache-2.0)"


def licence_tip(entry: Entry) -> str:
    """The licence cell's tooltip: the whole sentence."""
    if entry.apache:
        return f"{entry.licence}: the licence of {entry.repo}."
    return f"{licence_text(entry)}: read its licence before any commercial use ({entry.repo})."


@dataclass
class MachineInfo:
    """What the picker shows, gathered off the GUI thread by :func:`gather`."""

    memory: Memory | None
    engines: list[str]  # catalog engines that can run here
    installed: dict[str, str]  # catalog entry id -> local path (folder, or the GGUF file)
    local: list[Any] = field(default_factory=list)  # localmodels.LocalModel
    local_error: str | None = None

    def recommended(self, engine: str | None = None) -> Entry | None:
        engines = [engine] if engine else self.engines[:1]
        if self.memory is None or not engines or engines[0] not in catalog.ENGINES:
            return None
        return catalog.recommend(engines[0], self.memory)


def preferred_first(engines: list[str]) -> list[str]:
    """The engines with the one "auto" would pick for this machine first."""
    from studio.models.sysinfo import preferred_engine

    try:
        best = preferred_engine(set(engines))
    except Exception:
        return engines
    return sorted(engines, key=lambda e: e != best)


def gather(cache_dir: str | Path | None = None) -> MachineInfo:
    """Memory, runnable engines, cached catalog models and added folders (blocking: a worker calls it)."""
    from studio.models.hfcache import installed_paths
    from studio.models.registry import available_engines
    from studio.models.sysinfo import memory

    try:
        mem: Memory | None = memory()
    except OSError:
        mem = None
    engines = preferred_first(available_engines())
    entries = [e for e in catalog.catalog() if e.engine in engines]
    info = MachineInfo(mem, engines, installed_paths(entries, cache_dir))
    try:
        from studio.models.localmodels import installed_models

        info.local = list(installed_models(cache_dir=cache_dir))
    except Exception as e:
        info.local_error = one_line(e)
    return info


class CatalogModel(QAbstractTableModel):
    """Catalog entries as table rows (fit coloured, the recommended one marked)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[Entry] = []
        self.info: MachineInfo | None = None
        self.recommended: str | None = None

    def set_rows(self, rows: list[Entry], info: MachineInfo, recommended: Entry | None) -> None:
        self.beginResetModel()
        self.rows, self.info = rows, info
        self.recommended = recommended.id if recommended else None
        self.endResetModel()

    def fit(self, entry: Entry) -> str | None:
        mem = self.info.memory if self.info else None
        return catalog.fit(entry, mem) if mem else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def text(self, row: int, col: int) -> str:
        e = self.rows[row]
        installed = bool(self.info and e.id in self.info.installed)
        values = (
            f"★ {e.label} (recommended)" if e.id == self.recommended else e.label,
            catalog.engine_note(e.engine),
            e.quantization,
            f"{e.download_gb:.1f} GB",
            f"{e.memory_gb:.1f} GB",
            self.fit(e) or "unknown",
            licence_short(e),
            "✓" if installed else "",
        )
        return values[col]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(index.row(), index.column())
        entry = self.rows[index.row()]
        if role == Qt.ItemDataRole.ForegroundRole:
            if index.column() == 5 and (verdict := self.fit(entry)) in FIT_COLOURS:
                return QColor(FIT_COLOURS[verdict])
            if index.column() == 6 and not entry.apache:
                return QColor(FIT_COLOURS["tight"])
        if role == Qt.ItemDataRole.ToolTipRole:
            if index.column() == COLUMNS.index("Licence"):
                return licence_tip(entry)
            return f"{entry.repo} · context {entry.context_length:,} tokens"
        if role == Qt.ItemDataRole.TextAlignmentRole and COLUMNS[index.column()] in RIGHT_ALIGNED:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.TextAlignmentRole and COLUMNS[index.column()] == "Installed":
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.UserRole:
            return entry
        return None


class CatalogTable(QTableView):
    """The catalog rows, single whole-row selection.

    The short columns take their content's width; the model column takes the rest, but never less
    than its own content: on a narrow screen the table scrolls sideways instead of eliding the names.
    """

    def __init__(self, model: CatalogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        model.modelReset.connect(self.fit_columns)

    def column_width(self, column: int, padding: bool = True) -> int:
        """The width that shows the column's header and every cell whole (plus some air)."""
        air = self.fontMetrics().horizontalAdvance("M") if padding else 0
        return max(self.sizeHintForColumn(column), self.horizontalHeader().sectionSizeHint(column)) + air

    def fit_columns(self) -> None:
        """Size the short columns to their content and give the model column the rest."""
        model_col = COLUMNS.index("Model")
        widths = [self.column_width(c) for c in range(len(COLUMNS))]
        widths[model_col] = self.column_width(model_col, padding=False)  # its spare width is the air
        spare = self.viewport().width() - sum(widths) + widths[model_col]
        widths[model_col] = max(widths[model_col], spare)
        for c, width in enumerate(widths):
            self.setColumnWidth(c, width)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def reveal(self, row: int) -> None:
        """Select a row and scroll it into view (centred when it was out of sight)."""
        self.selectRow(row)
        self.scrollTo(self.model().index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)


__all__ = [
    "COLUMNS",
    "FIT_COLOURS",
    "CatalogModel",
    "CatalogTable",
    "MachineInfo",
    "gather",
    "licence_short",
    "licence_text",
    "licence_tip",
    "preferred_first",
]
