"""Wheels carry the app's resources (runtime pack, eval prompts, icons) inside the package.

pyproject.toml holds the metadata; this hook only copies ``resources/`` into ``studio/resources``
of the built package. A source checkout or editable install reads ``resources/`` where it is.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESOURCES = ("runtime/manifest.json", "runtime/pack", "eval", "icons")


class BuildPyWithResources(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        src = Path(__file__).parent / "resources"
        dest = Path(self.build_lib) / "studio" / "resources"
        for rel in RESOURCES:
            path = src / rel
            if path.is_dir():
                shutil.copytree(path, dest / rel, dirs_exist_ok=True)
            elif path.is_file():
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest / rel)


setup(cmdclass={"build_py": BuildPyWithResources})
