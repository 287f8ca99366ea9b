"""The one thing pyproject.toml cannot say: ship the top-level policies/ as linkgate.policies."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["linkgate", "linkgate.*"]), "linkgate.policies"],
    package_dir={"linkgate.policies": "policies"},
)
