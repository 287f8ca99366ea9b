"""Subcommands that live beside the main CLI module (the command-line layer)."""
