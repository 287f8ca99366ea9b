"""Tests of linkgate/elf/."""
