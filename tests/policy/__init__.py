"""Tests of linkgate/policy/."""
