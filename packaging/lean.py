"""What every bundle leaves out: one list for Linux, macOS and Windows (read by artifacts-studio.spec).

The app is QtWidgets + QtWebEngineWidgets. What it loads was read from a running bundle (its
``/proc/PID/maps`` and ``strace -e openat`` over the window, ``check`` and ``generate``); the rest of
PySide6 (QML, Quick 3D, Charts, Multimedia...), Chromium's non-English locales, the DevTools pack,
Qt's own translations and the plugins for other displays (eglfs, VNC, linuxfb, evdev) stay out.
Pure functions over PyInstaller's TOC entries ``(dest, source, kind)``, so tests check them without
building anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# The PySide6 bindings the app imports (``PySide6.QtWebEngineWidgets`` brings the last four).
QT_BINDINGS = (
    "QtCore",
    "QtGui",
    "QtWidgets",
    "QtWebEngineCore",
    "QtWebEngineWidgets",
    "QtNetwork",
    "QtPrintSupport",
    "QtWebChannel",
)

# Python packages never bundled: the CUDA engine's stack (PyTorch alone is ~5 GB, triton 880 MB)
# and what only tests, notebooks or other apps use.
EXCLUDES = (
    "tkinter",
    "pytest",
    "_pytest",
    "IPython",
    "matplotlib",
    "torch",
    "torchvision",
    "torchaudio",
    "triton",
    "accelerate",
    "bitsandbytes",
    "tensorflow",
    "jax",
)

# The Qt libraries the kept bindings, QtWebEngineProcess and the kept plugins link to (Linux names
# without "libQt6"/".so.6", macOS framework names without "Qt", Windows DLL names without "Qt6").
QT_KEEP = frozenset(
    {
        "Core",
        "DBus",
        "Gui",
        "Network",
        "OpenGL",
        "OpenGLWidgets",
        "Positioning",
        "PrintSupport",
        "Qml",
        "QmlMeta",
        "QmlModels",
        "QmlWorkerScript",
        "Quick",
        "QuickWidgets",
        "WebChannel",
        "WebEngineCore",
        "WebEngineWidgets",
        "Widgets",
        "XcbQpa",
        "Svg",
        "WaylandClient",
        "WlShellIntegration",
    }
)

# Plugin folders the app loads (display, input methods, image formats, TLS, the native style);
# within platforms/ and platformthemes/, only these plugins.
PLUGIN_DIRS = frozenset(
    {
        "platforms",
        "platformthemes",
        "platforminputcontexts",
        "xcbglintegrations",
        "wayland-decoration-client",
        "wayland-graphics-integration-client",
        "wayland-shell-integration",
        "imageformats",
        "iconengines",
        "tls",
        "styles",
    }
)
PLATFORMS = frozenset({"qxcb", "qwayland", "qoffscreen", "qcocoa", "qwindows"})
PLATFORM_THEMES = frozenset({"qgtk3", "qxdgdesktopportal"})
LOCALE = "en-US.pak"  # Chromium's UI strings: the app's UI is English

# System libraries PyInstaller's analysis collects that nothing kept links to or opens (the CUPS print
# plugin's chain; the CUDA runtime a ctypes probe names).
UNUSED_LIBS = frozenset(
    {
        "libcups.so.2",
        "libavahi-client.so.3",
        "libavahi-common.so.3",
        "libgnutls.so.30",
        "libhogweed.so.6",
        "libnettle.so.8",
        "libgmp.so.10",
        "libidn2.so.0",
        "libunistring.so.2",
        "libtasn1.so.6",
        "libp11-kit.so.0",
        "libcudart.so",
    }
)
# transformers ships as source (its lazy imports read it); without PyTorch only the configuration and
# tokenizer files of each model are usable (mlx-lm's AutoTokenizer): the model code stays out.
_TRANSFORMERS_MODEL_CODE = re.compile(
    r"transformers/models/(?!auto/)[^/]+/"
    r"(modeling_|modular_|image_processing|video_processing|feature_extraction|processing_)[^/]*\.py"
)
_QT_LIB = re.compile(r"(?:libQt6(\w+)\.so\.6|Qt6(\w+)\.dll|Qt(\w+)\.framework)")
_VERSIONED_SO = re.compile(r"\.so\.\d+\.\d+(\.\d+)?$")


def python_excludes(pyside_modules: Iterable[str]) -> list[str]:
    """PyInstaller ``excludes``: :data:`EXCLUDES` plus every PySide6 binding the app does not import.

    Args:
        pyside_modules: ``PySide6.__all__`` of the build environment (``["QtCore", ...]``).
    """
    return list(EXCLUDES) + [f"PySide6.{m}" for m in sorted(pyside_modules) if m not in QT_BINDINGS]


def qt_module(dest: str) -> str | None:
    """The Qt module a bundled path belongs to (``"WebEngineCore"``), None for anything else."""
    for part in dest.replace("\\", "/").split("/"):
        m = _QT_LIB.fullmatch(part)
        if m:
            return next(g for g in m.groups() if g)
    return None


def _plugin_kept(rel: str) -> bool:
    """``rel``: the path under ``plugins/``, such as ``platforms/libqxcb.so``."""
    folder, _, name = rel.partition("/")
    if folder not in PLUGIN_DIRS:
        return False
    stem = re.sub(r"^lib", "", name.split(".", 1)[0])
    if folder == "platforms":
        return stem in PLATFORMS
    if folder == "platformthemes":
        return stem in PLATFORM_THEMES
    return True


def dropped(dest: str) -> bool:
    """Whether a bundled file (its destination path inside the bundle) stays out."""
    d = dest.replace("\\", "/")
    name = d.rsplit("/", 1)[-1]
    if d.startswith("PySide6/") and ("/qml/" in d or "/plugins/qmltooling/" in d):
        return True  # PySide6's QtQml hook collects every QML module (3D, Charts, Controls...)
    module = qt_module(d)
    if module is not None and module not in QT_KEEP:
        return True
    if d.startswith("PySide6/") and "/plugins/" in d:
        return not _plugin_kept(d.split("/plugins/", 1)[1])
    if "qtwebengine_locales/" in d:
        return name != LOCALE
    if "/translations/" in d and name.endswith(".qm"):
        return True  # Qt's own UI translations: the app is English
    if name == "qtwebengine_devtools_resources.pak":
        return True  # the app never opens DevTools
    if "/" not in d and name in UNUSED_LIBS:
        return True
    if _TRANSFORMERS_MODEL_CODE.fullmatch(d):
        return True
    if d.startswith("llama_cpp/lib/") and _VERSIONED_SO.search(name):
        return True  # libllama.so (loaded by ctypes) and libllama.so.0 (the soname) suffice
    return bool(re.fullmatch(r"(torch|triton|nvidia_\w+|bitsandbytes|accelerate)-[^/]*\.dist-info", d.split("/")[0]))


def trim(toc: list[tuple[str, str, str]], needed: Callable[[str], set[str]] | None = None) -> list:
    """The TOC without the :func:`dropped` entries, nor any plugin linking to a dropped Qt library.

    Args:
        toc: PyInstaller's ``a.binaries`` or ``a.datas``.
        needed: the libraries a binary links to (``readelf -d``'s NEEDED); None skips that check.
    """
    gone = {e[0].replace("\\", "/").rsplit("/", 1)[-1] for e in toc if dropped(e[0])}
    out = []
    for entry in toc:
        dest = entry[0].replace("\\", "/")
        if dropped(dest):
            continue
        if needed is not None and dest.startswith("PySide6/") and "/plugins/" in dest and needed(entry[1]) & gone:
            continue
        out.append(entry)
    return out


def elf_needed(path: str) -> set[str]:
    """The NEEDED entries of an ELF file (Linux; empty when ``readelf`` cannot read it)."""
    import subprocess

    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=False).stdout
    return {line.split("[", 1)[1].split("]", 1)[0] for line in out.splitlines() if "(NEEDED)" in line}
