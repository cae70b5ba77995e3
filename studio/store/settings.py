"""User settings: a small JSON file in the per-user config folder; command-line flags override it.

Unknown keys are kept (a newer app's settings survive an older one); a bad value falls back to its
default with a warning; an unreadable file is left untouched and the defaults are used.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from studio.store import paths

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Settings:
    """What the user chose.

    Attributes:
        model: model folder or repo id loaded at start (None: ask).
        engine: backend name ("auto", "mlx", "llamacpp", "cuda", "openai"); auto picks one for this machine.
        base_url: the OpenAI-compatible server the "openai" engine talks to (its API key lives in the
            system keyring, never here).
        device: where the "cuda" engine runs: "auto", "cpu", "cuda" or "cuda:N".
        temperature: sampling temperature (0 = greedy).
        max_tokens: most tokens per answer.
        system_prompt: replaces the built-in system prompt when set.
        allow_network: the default network permission of new artifacts.
        auto_fix: how many times a failing artifact is sent back to the model unasked (0 to 3).
        prompt_lookup: speculative decoding with n-gram drafts from the prompt (edits copy the file);
            None: each engine's default (on for MLX on Metal and CUDA on a GPU, off on a CPU).
        draft_model: a small model folder or repo id drafting for the loaded one (MLX, CUDA; the catalog
            pairs Qwen2.5-Coder-0.5B with 7B/14B/32B), or None.
        theme: the look: "system" (follow the platform's light or dark mode), "light" or "dark".
        model_access: the user's answer per artifact id to "may it use the model?" (window.studio);
            an artifact not listed is asked on its first call. The Settings dialog forgets them.
        extra: keys this version does not know, kept as they were.
    """

    model: str | None = None
    engine: str = "auto"
    base_url: str | None = None
    device: str = "auto"
    temperature: float = 0.2
    max_tokens: int = 4096
    system_prompt: str | None = None
    allow_network: bool = False
    auto_fix: int = 1
    prompt_lookup: bool | None = None
    draft_model: str | None = None
    theme: str = "system"
    model_access: dict[str, bool] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.temperature < 0 or self.temperature > 5:
            raise ValueError("temperature must be between 0 and 5")
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be >= 1")
        if not self.engine:
            raise ValueError("engine must not be empty")
        if not 0 <= self.auto_fix <= 3:
            raise ValueError("auto_fix must be between 0 and 3")
        if self.theme not in ("system", "light", "dark"):
            raise ValueError("theme must be system, light or dark")
        if not all(isinstance(k, str) and isinstance(v, bool) for k, v in self.model_access.items()):
            raise ValueError("model_access must map artifact ids to true or false")

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "extra"}
        return {**self.extra, **data}


_TYPES: dict[str, tuple[type, ...]] = {
    "model": (str, type(None)),
    "engine": (str,),
    "base_url": (str, type(None)),
    "device": (str,),
    "temperature": (float, int),
    "max_tokens": (int,),
    "system_prompt": (str, type(None)),
    "allow_network": (bool,),
    "auto_fix": (int,),
    "prompt_lookup": (bool, type(None)),
    "draft_model": (str, type(None)),
    "theme": (str,),
    "model_access": (dict,),
}


def from_json(data: dict[str, Any]) -> Settings:
    """Settings from a parsed JSON object; a bad value keeps its default (with a warning)."""
    known = {f.name for f in fields(Settings)} - {"extra"}
    good: dict[str, Any] = {}
    for key in known & data.keys():
        value = data[key]
        flags = ("allow_network", "prompt_lookup")
        ok = isinstance(value, _TYPES[key]) and not (key not in flags and isinstance(value, bool))
        if ok:
            try:
                replace(Settings(), **{key: value})
            except ValueError:
                ok = False
        if ok:
            good[key] = float(value) if key == "temperature" else value
        else:
            log.warning("settings: ignoring the bad value %r for %s", value, key)
    extra = {k: v for k, v in data.items() if k not in known}
    return Settings(**good, extra=extra)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read the settings file (default: the per-user config folder); defaults when absent or unreadable."""
    target = Path(path) if path is not None else paths.settings_path()
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("settings: cannot read %s (%s); using the defaults", target, exc)
        return Settings()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        log.warning("settings: %s is not valid JSON (%s); using the defaults", target, exc)
        return Settings()
    if not isinstance(data, dict):
        log.warning("settings: %s does not hold a JSON object; using the defaults", target)
        return Settings()
    return from_json(data)


def write_json_atomic(target: Path, data: object) -> Path:
    """Write ``data`` as JSON atomically (a temp file renamed over the old one); returns ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".json", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def save_settings(settings: Settings, path: str | os.PathLike[str] | None = None) -> Path:
    """Write the settings atomically; returns the path."""
    return write_json_atomic(Path(path) if path is not None else paths.settings_path(), settings.to_json())


def with_overrides(settings: Settings, **flags: Any) -> Settings:
    """The settings with every flag that is not None applied (command-line flags win).

    Keyword names are the :class:`Settings` fields (``model``, ``engine``, ``temperature``,
    ``max_tokens``, ``system_prompt``, ``allow_network``).
    """
    known = {f.name for f in fields(Settings)} - {"extra"}
    unknown = set(flags) - known
    if unknown:
        raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
    return replace(settings, **{k: v for k, v in flags.items() if v is not None})


@dataclass
class SettingsState:
    """The settings of a running window: as saved, where they are saved, and this session's flags.

    Attributes:
        saved: the settings as loaded (the Settings dialog and a model choice change and save them).
        file: where they are saved (None: the per-user config folder).
        overridden: settings given as command-line flags this session (they keep winning).
    """

    saved: Settings = field(default_factory=Settings)
    file: Path | None = None
    overridden: dict[str, Any] = field(default_factory=dict)

    def effective(self) -> Settings:
        """The saved settings with this session's flags applied."""
        return with_overrides(self.saved, **self.overridden)
