"""What the bundles leave out (packaging/lean.py): the shared lists, checked without building anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "packaging"))
import lean  # noqa: E402

KEPT = [
    # Linux
    "PySide6/Qt/lib/libQt6WebEngineCore.so.6",
    "PySide6/Qt/lib/libQt6Quick.so.6",  # QtWebEngineCore links to it
    "PySide6/Qt/plugins/platforms/libqxcb.so",
    "PySide6/Qt/plugins/platforms/libqwayland.so",
    "PySide6/Qt/plugins/platforms/libqoffscreen.so",
    "PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so",
    "PySide6/Qt/plugins/imageformats/libqwebp.so",
    "PySide6/Qt/translations/qtwebengine_locales/en-US.pak",
    "PySide6/Qt/resources/qtwebengine_resources.pak",
    "PySide6/Qt/resources/icudtl.dat",
    "PySide6/Qt/libexec/QtWebEngineProcess",
    "llama_cpp/lib/libllama.so",
    "llama_cpp/lib/libllama.so.0",
    "transformers/models/auto/modeling_auto.py",
    "transformers/models/qwen2/tokenization_qwen2.py",
    "transformers/models/llama/configuration_llama.py",
    "libnss3.so",
    # macOS
    "PySide6/Qt/lib/QtWebEngineCore.framework/Versions/A/QtWebEngineCore",
    "PySide6/Qt/lib/QtWebEngineCore.framework/Resources/qtwebengine_locales/en-US.pak",
    "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
    "PySide6/Qt/plugins/styles/libqmacstyle.dylib",
    "mlx/lib/mlx.metallib",
    # Windows
    "PySide6/Qt6WebEngineCore.dll",
    "PySide6/plugins/platforms/qwindows.dll",
    "PySide6/QtWebEngineProcess.exe",
]
DROPPED = [
    "PySide6/Qt/lib/libQt6Quick3D.so.6",
    "PySide6/Qt/lib/libQt6Charts.so.6",
    "PySide6/Qt/qml/QtQuick/Controls/libqtquickcontrols2plugin.so",
    "PySide6/Qt/plugins/platforms/libqvnc.so",
    "PySide6/Qt/plugins/platforms/libqeglfs.so",
    "PySide6/Qt/plugins/printsupport/libcupsprintersupport.so",
    "PySide6/Qt/plugins/position/libqtposition_geoclue2.so",
    "PySide6/Qt/plugins/generic/libqevdevmouseplugin.so",
    "PySide6/Qt/translations/qtwebengine_locales/de.pak",
    "PySide6/Qt/translations/qtbase_de.qm",
    "PySide6/Qt/resources/qtwebengine_devtools_resources.pak",
    "llama_cpp/lib/libllama.so.0.5.0",
    "transformers/models/qwen2/modeling_qwen2.py",
    "transformers/models/llava/image_processing_llava.py",
    "torch-2.14.1.dist-info/RECORD",
    "libcups.so.2",
    "PySide6/Qt/lib/QtCharts.framework/Versions/A/QtCharts",
    "PySide6/Qt/lib/QtWebEngineCore.framework/Resources/qtwebengine_locales/fr.pak",
    "PySide6/Qt6Quick3D.dll",
    "PySide6/qml/QtCharts/qtchartsqml2plugin.dll",
    "PySide6/plugins/platforms/qdirect2d.dll",
]


@pytest.mark.parametrize("dest", KEPT)
def test_what_the_app_loads_stays_in(dest: str) -> None:
    assert not lean.dropped(dest)
    assert not lean.dropped(dest.replace("/", "\\"))


@pytest.mark.parametrize("dest", DROPPED)
def test_what_the_app_never_loads_stays_out(dest: str) -> None:
    assert lean.dropped(dest)


def test_a_plugin_linking_to_a_dropped_qt_library_goes_too() -> None:
    toc = [
        ("PySide6/Qt/lib/libQt6Quick3D.so.6", "/x/libQt6Quick3D.so.6", "BINARY"),
        ("PySide6/Qt/plugins/imageformats/libq3d.so", "/x/libq3d.so", "BINARY"),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", "/x/libqjpeg.so", "BINARY"),
    ]
    links = {"/x/libq3d.so": {"libQt6Quick3D.so.6"}, "/x/libqjpeg.so": {"libQt6Gui.so.6"}}
    kept = lean.trim(toc, lambda path: links.get(path, set()))
    assert [e[0] for e in kept] == ["PySide6/Qt/plugins/imageformats/libqjpeg.so"]


def test_the_excludes_keep_every_binding_and_drop_the_rest() -> None:
    excludes = lean.python_excludes(["QtCore", "QtWebEngineWidgets", "QtQuick3D", "QtCharts"])
    assert {"PySide6.QtQuick3D", "PySide6.QtCharts", "torch", "triton"} <= set(excludes)
    assert not {"PySide6.QtCore", "PySide6.QtWebEngineWidgets"} & set(excludes)


def test_every_pyside6_binding_the_app_imports_is_kept() -> None:
    """Import every studio module; any PySide6 binding they load must be in lean.QT_BINDINGS."""
    code = (
        "import importlib, pkgutil, sys, studio\n"
        "for m in pkgutil.walk_packages(studio.__path__, 'studio.'):\n"
        "    if not m.name.endswith('__main__'):  # that one starts the app\n"
        "        importlib.import_module(m.name)\n"
        "print(' '.join(sorted({n.split('.')[1] for n in sys.modules if n.startswith('PySide6.Qt')})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=180, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    loaded = set(out.stdout.split())
    assert "QtWebEngineWidgets" in loaded
    assert loaded <= set(lean.QT_BINDINGS), loaded - set(lean.QT_BINDINGS)
