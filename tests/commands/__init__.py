"""Tests of linkgate/commands/."""
