"""Find, read, validate and merge policy files; every error names file, line and key."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from linkgate.core.findings import Severity
from linkgate.core.sourcefile import POLICY_LIMIT, PROFILE_LIMIT, SourceFileError, check_source, read_source
from linkgate.core.yamlsource import Location, YamlDocument, YamlError, dotted, load_yaml
from linkgate.policy import pyproject, suggest, targets
from linkgate.policy.compiled import CompiledDiff, CompiledOverride, CompiledPolicy, CompiledWaiver
from linkgate.policy.errors import PolicyError
from linkgate.policy.locate import (
    DEFAULT_PRESET,
    PYPROJECT,
    find_policy_file,
    is_preset_name,
    preset_names,
    presets_dir,
)
from linkgate.policy.model import PolicyFile, Rules, Waiver, diff_values, rule_values
from linkgate.profiles.errors import ProfileError
from linkgate.profiles.index import TargetIndex
from linkgate.rules.schema import parse_version

_MAX_EXTENDS_DEPTH = 16


def load_policy(spec: str | None, cwd: Path) -> CompiledPolicy:
    """--policy value (file path or preset name), else the nearest policy file, else `default`."""
    if spec is None:
        found = find_policy_file(cwd)
        spec = str(found) if found else DEFAULT_PRESET
    chain = list(_extends_chain(_locate(spec, cwd), depth=0))
    return _merge(spec, chain)


def _locate(spec: str, base: Path) -> Path:
    if is_preset_name(spec):
        path = presets_dir() / f"{spec}.yml"
        # A shipped target profile is a preset too: `--policy debian-11` means "runs on Debian 11".
        profile = None if targets.is_file(path) else targets.shipped_path(spec, presets_dir())
        if not targets.is_file(path) and profile is None:
            # A preset and a profile may share a name (manylinux_2_28): list it once.
            known = ", ".join(
                numbered_runs(list(dict.fromkeys([*preset_names(), *targets.shipped_names(presets_dir())])))
            )
            raise PolicyError(spec, None, None, f"no such preset (known: {known})")
        return profile or path
    try:
        path = (base / spec).resolve()
        found = path.exists()
    except OSError as error:  # a name longer than NAME_MAX, a path longer than PATH_MAX
        raise PolicyError(spec[:200], None, None, f"cannot read: {error.strerror or error}") from None
    if not found:
        raise PolicyError(spec, None, None, "policy file not found")
    return path  # what kind of file it is, _read checks


# One file of an extends chain: where it is, what it says, and the line of each key.
ChainLink = tuple[Path, PolicyFile, Mapping[Location, int]]


def _extends_chain(path: Path, depth: int) -> Iterator[ChainLink]:
    """Ancestors first, the named file last."""
    if depth > _MAX_EXTENDS_DEPTH:
        raise PolicyError(str(path), None, "extends", "extends chain too deep (a cycle?)")
    document, lines = _read(path)
    if document.extends is not None:
        yield from _extends_chain(_locate(document.extends, path.parent), depth + 1)
    yield path, document, lines


def _read(path: Path) -> tuple[PolicyFile, Mapping[Location, int]]:
    """One policy file, validated; every problem is a PolicyError with file, line and key."""
    if path.parent == targets.profiles_dir(presets_dir()):
        return targets.profile_preset(path), {}
    try:
        text = read_source(path, POLICY_LIMIT)
        source = pyproject.load_table(text) if path.name == PYPROJECT else load_yaml(text)
    except SourceFileError as error:
        raise PolicyError(str(path), error.line, "(file)", error.message) from None
    except YamlError as error:
        raise PolicyError(str(path), error.line, error.key, f"invalid YAML: {error}") from None
    except pyproject.TomlError as error:
        raise PolicyError(str(path), error.line, error.key or "(file)", error.message) from None
    data = source.data if source.data is not None else {}
    if not isinstance(data, dict):
        raise PolicyError(str(path), 1, "(top level)", "a policy is a mapping (rules:, extends:, ...)")
    return _validated(path, data, source)


def _validated(path: Path, data: dict[str, Any], source: YamlDocument) -> tuple[PolicyFile, Mapping[Location, int]]:
    try:
        document = targets.anchored(PolicyFile.model_validate(data), path.parent)
    except ValidationError as error:
        first = error.errors()[0]
        # pydantic appends "[key]" when a mapping key is what is wrong; the key's path says that already.
        location = tuple(part for part in first["loc"] if part != "[key]")
        message = _describe(first, location)
        raise PolicyError(str(path), source.line_of(location), dotted(location), message) from None
    _check_references(path, document, source)
    return document, source.lines


def _check_references(path: Path, document: PolicyFile, source: YamlDocument) -> None:
    """A missing, special or oversized `extends:` or `target:` file, reported at the line naming it.

    The files are read later; this only makes the common mistakes point at the policy.
    """
    references: list[tuple[Location, str, int]] = []
    if document.extends is not None:
        references.append((("extends",), document.extends, POLICY_LIMIT))
    scopes: list[tuple[Location, Rules]] = [(("rules",), document.rules)]
    scopes += [(("overrides", i, "rules"), o.rules) for i, o in enumerate(document.overrides)]
    for where, rules in scopes:
        target = rule_values(rules).get("target")
        if isinstance(target, str) and target:
            references.append(((*where, "target"), target, PROFILE_LIMIT))
    for location, spec, limit in references:
        try:
            _check_reference(spec, path.parent, location[0] == "extends", limit)
        except (PolicyError, SourceFileError) as error:
            line, key = source.line_of(location), dotted(location)
            named = spec if len(spec) <= 200 else spec[:197] + "..."
            raise PolicyError(str(path), line, key, f"{named}: {error.message}") from None


def _check_reference(spec: str, base: Path, extends: bool, limit: int) -> None:
    if extends:
        found = _locate(spec, base)
        if found.parent not in (presets_dir(), targets.profiles_dir(presets_dir())):
            check_source(found, limit)
    elif targets.is_path_spec(spec):
        check_source(Path(spec), limit)  # already made absolute by targets.anchored
    elif targets.shipped_path(spec, presets_dir()) is None:
        known = ", ".join(targets.shipped_names(presets_dir()))
        raise SourceFileError(f"no such target profile (shipped: {known})")


def _describe(error: object, location: Location) -> str:
    assert isinstance(error, dict)
    if error["type"] == "extra_forbidden":
        return "unknown key" + suggest.did_you_mean(str(location[-1]), suggest.keys_at(PolicyFile, location[:-1]))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "literal_error" and isinstance(error.get("input"), str):  # `hardening: {pei: true}`
        close = suggest.close_to(error["input"], re.findall(r"'([^']*)'", str(error["ctx"]["expected"])))
        message += f" (did you mean {close}?)" if close else ""
    return message


def _merge(name: str, chain: list[ChainLink]) -> CompiledPolicy:
    """Later files win key by key; overrides and waivers accumulate."""
    values: dict[str, object] = {}
    overrides: list[CompiledOverride] = []
    waivers: list[CompiledWaiver] = []
    severity: dict[str, Severity] = {}
    diff: dict[str, object] = {}
    for path, document, _lines in chain:
        values.update(rule_values(document.rules))
        diff.update(_anchored_diff(diff_values(document.diff), path.parent))
        overrides.extend(CompiledOverride(o.paths, rule_values(o.rules)) for o in document.overrides)
        waivers.extend(_compiled_waiver(w) for w in document.waivers)
        severity.update({rule: Severity(level) for rule, level in document.severity.items()})
    source, _document, lines = chain[-1]
    shipped = source.parent in (presets_dir(), targets.profiles_dir(presets_dir()))
    specs = _target_specs(values, overrides)
    diff_targets = _diff_targets(diff)
    return CompiledPolicy(
        name=name if is_preset_name(name) else str(source),
        source=None if shipped else str(source),
        values=values,
        overrides=tuple(overrides),
        waivers=tuple(waivers),
        severity=severity,
        rule_lines=_rule_lines(values, lines),
        profiles=_target_profiles(specs),
        sources=_sources(chain, [*specs, *(diff_targets or ())]),
        diff=_compiled_diff(diff, diff_targets),
    )


def _anchored_diff(diff: dict[str, object], directory: Path) -> dict[str, object]:
    """`diff: {targets: [./prod.yml]}` is relative to the policy file that says it, like `target:`."""
    specs = diff.get("targets")
    if isinstance(specs, tuple):
        anchored = [str((directory / s).resolve()) if targets.is_path_spec(s) else s for s in map(str, specs)]
        return {**diff, "targets": tuple(anchored)}
    return diff


def _diff_targets(diff: Mapping[str, object]) -> list[str] | None:
    """`diff.targets` as written (None when absent: the command then judges every shipped profile)."""
    specs = diff.get("targets")
    if not isinstance(specs, tuple):
        return None
    return [str(spec) for spec in specs]


def _compiled_diff(diff: Mapping[str, object], specs: list[str] | None) -> CompiledDiff:
    """The merged `diff:` keys as plain data; its target profiles loaded and indexed like `target:`'s."""
    allow = diff.get("allow-floor") or {}
    ignore = diff.get("ignore") or ()
    assert isinstance(allow, dict)
    assert isinstance(ignore, tuple)
    return CompiledDiff(
        allow_floor={str(ns): parse_version(str(version)) for ns, version in allow.items()},
        ignore=frozenset(str(change) for change in ignore),
        targets=None if specs is None else _target_profiles(specs, "diff.targets"),
    )


def _sources(chain: list[ChainLink], specs: list[str]) -> tuple[str, ...]:
    """What the compiled policy was made from: the extends chain, the profiles, and the shipped directories."""
    shipped = targets.profiles_dir(presets_dir())
    profiles = [p for p in (targets.profile_path(spec, presets_dir()) for spec in specs) if p is not None]
    paths = [*(path for path, _document, _lines in chain), *profiles, presets_dir(), shipped]
    aliases = shipped / targets.ALIASES_FILE
    return tuple(dict.fromkeys(str(p) for p in [*paths, *([aliases] if aliases.is_file() else [])]))


def _compiled_waiver(waiver: Waiver) -> CompiledWaiver:
    return CompiledWaiver(waiver.rule, waiver.paths, waiver.subject, waiver.reason, waiver.expires)


def _target_specs(values: Mapping[str, object], overrides: list[CompiledOverride]) -> list[str]:
    """Every `target:` value of the policy, overrides included."""
    return [str(v["target"]) for v in (values, *(o.values for o in overrides)) if v.get("target") is not None]


def _target_profiles(specs: list[str], key: str = "target") -> dict[str, TargetIndex]:
    """Every profile a `target:` (or `diff.targets`) of the policy names, loaded and indexed once."""
    try:
        return {spec: profile.index() for spec, profile in targets.load_profiles(specs, presets_dir()).items()}
    except ProfileError as error:
        raise PolicyError(error.source, error.line, key, error.message) from None


def _rule_lines(rules: Mapping[str, object], lines: Mapping[Location, int]) -> dict[str, int]:
    """Each configured rule's key in the named file; a rule inherited from a preset points at `extends:`."""
    extends = lines.get(("extends",))
    found = {key: lines.get(("rules", key), extends) for key in rules}
    return {key: line for key, line in found.items() if line is not None}


_NUMBERED = re.compile(r"(.*?[-_])(\d+)")
_RUN = 5  # consecutive numbers from which a family is written as a range


def numbered_runs(names: list[str]) -> list[str]:
    """`android-21 … android-36` for a run of consecutive numbered names (so the list stays readable)."""
    shown: list[str] = []
    run: list[tuple[str, int, str]] = []
    for name in [*names, ""]:
        match = _NUMBERED.fullmatch(name)
        step = (match.group(1), int(match.group(2)), name) if match else None
        if step and run and step[0] == run[-1][0] and step[1] == run[-1][1] + 1:
            run.append(step)
            continue
        shown += [f"{run[0][2]} … {run[-1][2]}"] if len(run) >= _RUN else [r[2] for r in run]
        run = [step] if step else []
        if not step and name:
            shown.append(name)
    return shown
