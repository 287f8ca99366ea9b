"""linkgate: a CI gate for compiled ELF artifacts."""

# The one place the version is written: packaging reads it (pyproject's dynamic version), the CLI
# prints it, SARIF pins its rule links to its tag (v0.1.0), and CHANGELOG.md's newest entry names it.
__version__ = "0.1.0"
# The project's home: SARIF's informationUri and the base of each rule's helpUri.
HOMEPAGE = "https://github.com/linkgate/linkgate"
