"""linkgate: a CI gate for compiled ELF artifacts."""

__version__ = "0.1.0"
