"""`python -m linkgate`."""

from linkgate.cli import run

run()
