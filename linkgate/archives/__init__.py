"""Release artifacts as uploaded (zip, wheel, tar, .deb, .rpm, .apk, container images), read in place.

Nothing is extracted: members are streamed, ELF ones parsed one at a time, and
each archive becomes a `Unit`: its members by path, as unpacked, with problems
(corrupt, hostile, over a bound) kept as data for the `archive-format` rule.
Formats are recognised by content. docs/archives.md describes the model.
"""
