"""Tests of linkgate/formats/."""
