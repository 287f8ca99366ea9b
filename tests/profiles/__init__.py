"""Tests of linkgate/profiles/."""
