"""Tests of linkgate/core/."""
