"""Tests of linkgate/diff/."""
