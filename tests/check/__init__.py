"""Tests of linkgate/check/."""
