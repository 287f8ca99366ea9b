"""Renderers: pure functions from a report (or facts) to text. They never decide pass or fail."""
