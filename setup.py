"""Map the repository folders onto import names: utils/ -> deepclean.utils, services/ ->
deepclean.services.

Everything else lives in pyproject.toml; only the package list must be computed, because
setuptools' declarative discovery cannot rename folders. A built package also carries
pyproject.toml as ``deepclean/utils/defaults.toml``: its ``[tool.deepclean]`` tables (the
settings' defaults and the training profiles) are read from there when no repository is around.
"""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


class BuildPy(build_py):
    """build_py that also ships pyproject.toml as deepclean/utils/defaults.toml."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "deepclean" / "utils" / "defaults.toml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Path(__file__).resolve().with_name("pyproject.toml").read_bytes())


ROOTS = {"deepclean.utils": "utils", "deepclean.services": "services"}

packages = []
for name, folder in ROOTS.items():
    packages.append(name)
    packages.extend(f"{name}.{sub}" for sub in find_packages(folder))

setup(packages=packages, package_dir=ROOTS, cmdclass={"build_py": BuildPy})
