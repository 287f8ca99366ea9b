"""`python -m linkgate`."""

from linkgate.cli import main

raise SystemExit(main())
