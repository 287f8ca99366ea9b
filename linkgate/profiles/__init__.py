"""Target profiles: what a system's dynamic loader can find (interpreters, libraries, versions)."""
