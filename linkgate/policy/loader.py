"""Find, read, validate and merge policy files; every error names file, line and key."""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from linkgate.policy import targets
from linkgate.policy.model import Override, PolicyFile, Rules, Waiver
from linkgate.policy.resolved import Policy
from linkgate.policy.sourcefile import POLICY_LIMIT, PROFILE_LIMIT, SourceFileError, check_source, read_source
from linkgate.policy.yamlsource import Location, YamlDocument, YamlError, dotted, load_yaml
from linkgate.profiles.errors import ProfileError

if TYPE_CHECKING:
    from linkgate.profiles.model import Profile

DEFAULT_PRESET = "default"
POLICY_FILE_NAMES = ("linkgate.yml", ".linkgate.yml")
_MAX_EXTENDS_DEPTH = 16


class PolicyError(Exception):
    """The policy cannot be used; the CLI prints it and exits 2."""

    def __init__(self, source: str, line: int | None, key: str | None, message: str) -> None:
        where = source + (f":{line}" if line else "") + (f": {key}" if key else "")
        super().__init__(f"{where}: {message}")
        self.source, self.line, self.key, self.message = source, line, key, message


def presets_dir() -> Path:
    """The shipped presets: package data after `pip install`, the top-level policies/ in a checkout."""
    try:
        return Path(str(importlib.resources.files("linkgate.policies")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "policies"


def preset_names() -> list[str]:
    return sorted(path.stem for path in presets_dir().glob("*.yml"))


def find_policy_file(start: Path) -> Path | None:
    """linkgate.yml or .linkgate.yml in `start` or the nearest parent that has one."""
    for directory in (start, *start.parents):
        for name in POLICY_FILE_NAMES:
            candidate = directory / name
            # Not is_file(): a linkgate.yml that is a FIFO or a dangling link is an error, not "no policy".
            if candidate.is_symlink() or candidate.exists():
                return candidate
    return None


def load_policy(spec: str | None, cwd: Path) -> Policy:
    """--policy value (file path or preset name), else the nearest policy file, else `default`."""
    if spec is None:
        found = find_policy_file(cwd)
        spec = str(found) if found else DEFAULT_PRESET
    chain = list(_extends_chain(_locate(spec, cwd), depth=0))
    return _merge(spec, chain)


def _is_preset_name(spec: str) -> bool:
    return "/" not in spec and not spec.endswith((".yml", ".yaml"))


def _locate(spec: str, base: Path) -> Path:
    if _is_preset_name(spec):
        path = presets_dir() / f"{spec}.yml"
        # A shipped target profile is a preset too: `--policy debian-11` means "runs on Debian 11".
        profile = None if path.is_file() else targets.shipped_path(spec, presets_dir())
        if not path.is_file() and profile is None:
            known = ", ".join([*preset_names(), *targets.shipped_names(presets_dir())])
            raise PolicyError(spec, None, None, f"no such preset (known: {known})")
        return profile or path
    path = (base / spec).resolve()
    if not path.exists():
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
        source = load_yaml(read_source(path, POLICY_LIMIT))
    except SourceFileError as error:
        raise PolicyError(str(path), error.line, "(file)", error.message) from None
    except YamlError as error:
        raise PolicyError(str(path), error.line, error.key, f"invalid YAML: {error}") from None
    data = source.data if source.data is not None else {}
    if not isinstance(data, dict):
        raise PolicyError(str(path), 1, "(top level)", "a policy is a mapping (rules:, extends:, ...)")
    try:
        document = targets.anchored(PolicyFile.model_validate(data), path.parent)
    except ValidationError as error:
        first = error.errors()[0]
        # pydantic appends "[key]" when a mapping key is what is wrong; the key's path says that already.
        location = tuple(part for part in first["loc"] if part != "[key]")
        raise PolicyError(str(path), source.line_of(location), dotted(location), _describe(first)) from None
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
    references += [((*where, "target"), rules.target, PROFILE_LIMIT) for where, rules in scopes if rules.target]
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


def _describe(error: object) -> str:
    assert isinstance(error, dict)
    if error["type"] == "extra_forbidden":
        return "unknown key"
    return str(error["msg"]).removeprefix("Value error, ")


def _merge(name: str, chain: list[ChainLink]) -> Policy:
    """Later files win key by key; overrides and waivers accumulate."""
    rules: dict[str, object] = {}
    overrides: list[Override] = []
    waivers: list[Waiver] = []
    severity: dict[str, str] = {}
    for _path, document, _lines in chain:
        rules.update(document.rules.model_dump(by_alias=True, exclude_unset=True))
        overrides.extend(document.overrides)
        waivers.extend(document.waivers)
        severity.update(document.severity)
    source, _document, lines = chain[-1]
    merged = Rules.model_validate(rules)
    shipped = source.parent in (presets_dir(), targets.profiles_dir(presets_dir()))
    return Policy(
        name=name if _is_preset_name(name) else str(source),
        source=None if shipped else source,
        rules=merged,
        overrides=tuple(overrides),
        waivers=tuple(waivers),
        severity=severity,
        rule_lines=_rule_lines(rules, lines),
        profiles=_target_profiles(merged, overrides),
    )


def _target_profiles(rules: Rules, overrides: list[Override]) -> dict[str, Profile]:
    """Every profile a `target:` of the policy names, loaded once."""
    specs = [r.target for r in (rules, *(o.rules for o in overrides)) if r.target is not None]
    try:
        return targets.load_profiles(specs, presets_dir())
    except ProfileError as error:
        raise PolicyError(error.source, error.line, "target", error.message) from None


def _rule_lines(rules: Mapping[str, object], lines: Mapping[Location, int]) -> dict[str, int]:
    """Each configured rule's key in the named file; a rule inherited from a preset points at `extends:`."""
    extends = lines.get(("extends",))
    found = {key: lines.get(("rules", key), extends) for key in rules}
    return {key: line for key, line in found.items() if line is not None}
