"""The one thing pyproject.toml cannot say: ship the top-level policies/ as linkgate.policies.

policies/profiles/ holds only YAML; it is listed as a package of its own (a data-only one, mapped
to policies/profiles/ by the parent's mapping) so setuptools ships its files without warning.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["linkgate", "linkgate.*"]), "linkgate.policies", "linkgate.policies.profiles"],
    package_dir={"linkgate.policies": "policies"},
)
