"""The window's status bar: the model, and honest speed figures for the last answer."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from studio.engine.base import Chunk


def format_stats(chunk: Chunk, final: bool) -> str:
    """One line of figures: time to first token, tok/s, token counts.

    Args:
        chunk: the latest (or last) chunk of an answer; its counters are cumulative.
        final: the answer has ended (show the full line, with the prompt size).
    """
    parts: list[str] = []
    if chunk.ttft is not None:
        parts.append(f"TTFT {chunk.ttft:.2f} s")
    if chunk.tps:
        parts.append(f"{chunk.tps:.1f} tok/s")
    if final:
        cached = chunk.prompt_tokens - chunk.prefilled_tokens if chunk.prefilled_tokens else 0
        prompt = f"{chunk.prompt_tokens} prompt" + (f" ({cached} cached)" if cached > 0 else "")
        parts.append(f"{prompt} + {chunk.generated_tokens} generated tokens")
    else:
        parts.append(f"{chunk.generated_tokens} tokens")
    return " · ".join(parts)


class StudioStatusBar(QStatusBar):
    """Model name on the left, figures of the last answer on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.model_label = QLabel("No model")
        self.model_label.setObjectName("modelLabel")
        self.stats_label = QLabel("")
        self.stats_label.setObjectName("statsLabel")
        self.addWidget(self.model_label, 1)
        self.addPermanentWidget(self.stats_label)

    def set_model(self, text: str) -> None:
        self.model_label.setText(text)

    def set_stats(self, chunk: Chunk, final: bool) -> None:
        self.stats_label.setText(format_stats(chunk, final))

    def set_note(self, text: str) -> None:
        """A plain message in the figures slot (e.g. "Stopped", an error)."""
        self.stats_label.setText(text)
