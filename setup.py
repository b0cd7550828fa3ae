"""The one build step pyproject.toml cannot declare: ``conf/`` stays at the top of the
repository, where users look for it, and ships inside the package as ``bbp_torch/conf``
(read through :mod:`bbp_torch.paths`). Everything else is in pyproject.toml."""

from setuptools import find_namespace_packages, find_packages, setup

CONF = ["bbp_torch.conf", *(f"bbp_torch.conf.{name}" for name in find_namespace_packages("conf"))]

setup(
    packages=[*find_packages(include=["bbp_torch*"]), *CONF],
    package_dir={"bbp_torch.conf": "conf"},
    package_data={name: ["*.yaml"] for name in CONF},
)
