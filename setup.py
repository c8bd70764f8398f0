"""Map the repository folders onto import names: utils/ -> deepclean.utils, services/ -> deepclean.services.

Everything else lives in pyproject.toml; only the package list must be computed, because
setuptools' declarative discovery cannot rename folders.
"""

from setuptools import find_packages, setup

ROOTS = {"deepclean.utils": "utils", "deepclean.services": "services"}

packages = []
for name, folder in ROOTS.items():
    packages.append(name)
    packages.extend(f"{name}.{sub}" for sub in find_packages(folder))

setup(packages=packages, package_dir=ROOTS)
