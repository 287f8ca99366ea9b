"""Tests of linkgate/rules/."""
