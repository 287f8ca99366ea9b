"""Tests of linkgate/archives/."""
