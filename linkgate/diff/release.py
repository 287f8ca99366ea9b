"""The release as a whole: what a new file of NEW does to the old release's floors and targets.

A file with no counterpart in OLD has nothing to be compared with, but it ships in
the same release: the release's floor in a namespace is the highest floor of any of
its files, and it runs on a target only if every file does. So a new file whose
floor is above the old release's (`GLIBC 2.17 -> 2.34`: a new helper built on a
newer system) raises the release's floor (`floor`, unless `diff.allow-floor`
allows it), and a new file that does not run on a target every old file ran on
loses the release that target (`targets-lost`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from linkgate.core.records import record
from linkgate.diff import floor, targets
from linkgate.diff.change import Build, Change
from linkgate.policy.compiled import CompiledDiff
from linkgate.rules.base import short_list


@record
class Release:
    """What the old release as a whole needs and runs on."""

    floors: Mapping[str, floor.Floor]
    # Profiles every file of the release runs on.
    runs_on: tuple[str, ...]


def release_of(builds: Iterable[Build]) -> Release | None:
    """The release of these files (None when there is none: nothing to rise above)."""
    readable = list(builds)
    if not readable:
        return None
    floors: dict[str, floor.Floor] = {}
    for build in readable:
        for namespace, version in floor.floors(build.judged).items():
            floors[namespace] = max(floors.get(namespace, version), version)
    names = dict.fromkeys(name for build in readable for name in build.verdicts)
    runs_on = tuple(name for name in names if all(not b.verdicts.get(name, ("?",)) for b in readable))
    return Release(floors, runs_on)


def added_regressions(build: Build, old: Release, settings: CompiledDiff) -> Iterator[tuple[str, Change]]:
    """(diff rule id, change) for each way the new file `build` makes the release worse."""
    for namespace, now in sorted(floor.floors(build.judged).items()):
        was = old.floors.get(namespace)
        if was is None or now > was:
            yield floor.RULE.id, _raised(build, namespace, was, now, settings)
    lost = [name for name in old.runs_on if build.verdicts.get(name)]
    if lost:
        first = lost[0]
        message = (
            f"the release ran on {short_list(lost, limit=6)}; this new file does not "
            f"({first} lacks {short_list(build.verdicts[first])})"
        )
        hint = f"see what it lacks with `linkgate check --policy {first}`, or `linkgate inspect`"
        yield targets.RULE.id, Change("targets", message, kind="targets-lost", hint=hint)


def _raised(build: Build, namespace: str, was: floor.Floor | None, now: floor.Floor, settings: CompiledDiff) -> Change:
    rose = floor.rising(namespace, was, now, build.judged, settings)
    message = f"new file raises the release's {rose.message}"
    return Change(rose.subject, message, rose.kind, rose.hint, rose.symbols)
