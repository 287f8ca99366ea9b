"""Maintainer scripts: generate the shipped target profiles (run from the repository root)."""
