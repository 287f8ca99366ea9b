"""Structure-aware fuzzing of linkgate's readers (docs/fuzzing.md): `python -m fuzz --help`."""
