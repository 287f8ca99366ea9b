"""`linkgate diff OLD NEW`: what changed for a user of the artifacts between two builds.

The scan layer: read both sides once (scan.read_candidate, every symbol joined),
pair their ELF files (pairing.py), compare each pair with one module per diff
rule (catalogue.py), and express the changes as Findings in a Report, so every
renderer and the one verdict (Report.passed) serve `diff` as they serve `check`.
"""
