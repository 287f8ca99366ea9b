"""diff-targets: target systems the old build ran on and the new one does not.

Each side is judged against target profiles as the `target` rule judges it
(the target's loader: interpreter, libraries shipped beside the artifact or on
the target, version needs): every shipped profile (`linkgate profile list`),
or those named by `diff: {targets: [debian-11, rhel-8, ./prod-host.yml]}`.

Worse (`targets-lost`): "ran on debian-11, rhel-8; now does not", with what
the first lost target lacks. Noted only: targets gained.
UPX-packed files are judged by their payload.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.diff.change import Build, Change
from linkgate.policy.compiled import CompiledDiff
from linkgate.rules.base import Rule, short_list

RULE = Rule("diff-targets", __doc__ or "")


def compare(old: Build, new: Build, _settings: CompiledDiff) -> Iterator[Change]:
    judged = [name for name in new.verdicts if name in old.verdicts]
    lost = [name for name in judged if not old.verdicts[name] and new.verdicts[name]]
    gained = [name for name in judged if old.verdicts[name] and not new.verdicts[name]]
    if lost:
        first = lost[0]
        yield Change(
            "targets",
            f"ran on {short_list(lost, limit=6)}; now does not ({first} lacks {short_list(new.verdicts[first])})",
            kind="targets-lost",
            hint=f"see what each target lacks with `linkgate check --policy {first}`, or `linkgate inspect`",
        )
    if gained:
        yield Change("targets-gained", f"now also runs on {short_list(gained, limit=6)}")
