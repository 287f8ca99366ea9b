"""The one thing pyproject.toml cannot say: ship the top-level policies/ as linkgate.policies.

policies/profiles/ and policies/android/ hold only YAML; each is listed as a package of its own (a data-only one, mapped
by the parent's mapping) so setuptools ships its files without warning.
"""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["linkgate", "linkgate.*"]),
        "linkgate.policies",
        "linkgate.policies.profiles",
        "linkgate.policies.android",
    ],
    package_dir={"linkgate.policies": "policies"},
)
