"""Shipped policy presets (YAML); installed as the package linkgate.policies so they are found after pip install."""
