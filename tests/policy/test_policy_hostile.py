"""Hostile policy and profile files through the real CLI: each one a policy error, quickly.

Every case is a real file (FIFOs made with os.mkfifo) given to `linkgate check` in its
own process with a timeout, as a pull request could give it. Each must end with exit 2,
`FILE:LINE: KEY: message` on stderr, no internal error, and well under the time a YAML
bomb, /dev/zero or a FIFO would otherwise take (minutes, or forever).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from linkgate.core import yamlsource
from linkgate.core.sourcefile import POLICY_LIMIT, PROFILE_LIMIT
from linkgate.core.yamlsource import MAX_DEPTH
from linkgate.policy.errors import PolicyError
from linkgate.policy.loader import load_policy
from tests.helpers import REPO

ARTIFACT = "/usr/bin/true"
TIME_LIMIT = 2.0  # seconds; the process start-up is most of it
POLICY_ERROR = re.compile(
    r"^linkgate: policy error: (?P<file>[^\n]+?):(?P<line>\d+): (?P<key>[^:\n]+): (?P<msg>.+)$", re.M
)


def billion_laughs() -> str:
    """The classic: 9 levels of 9 aliases, 9**9 strings once expanded, in about 550 bytes."""
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        refs = ", ".join([f"*lol{level - 1}"] * 9)
        lines.append(f"lol{level}: &lol{level} [{refs}]")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Case:
    """Files to write (name -> text; None makes a FIFO), then what stderr must name."""

    files: dict[str, str | bytes | None]
    policy: str  # the --policy value; "{dir}" is the case's directory
    where: str  # the FILE the error names ("{dir}/..." or an absolute path)
    line: int
    key: str
    message: str  # a regular expression the message must match
    # libyaml stops a 10000-deep flow before our depth limit does: the key it names then.
    libyaml_key: str | None = None


def _case(policy_text: str | bytes, line: int, key: str, message: str, **extra: str | bytes | None) -> Case:
    return Case({"policy.yml": policy_text, **extra}, "{dir}/policy.yml", "{dir}/policy.yml", line, key, message)


def _deep_flow(depth: int) -> str:
    return "rules:\n  allowed-tokens: " + "[" * depth + "]" * depth + "\n"


def _deep_mapping(depth: int) -> str:
    return "rules:\n  allowed-tokens: " + "{a: " * depth + "1" + "}" * depth + "\n"


def _deep_block(depth: int) -> str:
    return "rules:\n  allowed-tokens:\n" + "".join(" " * (4 + i) + "- \n" for i in range(depth)) + "\n"


NOT_REGULAR = r"not a regular file \(a (FIFO|character device)\)"
ALIAS = r"alias \*\w+ refused"
CASES: dict[str, Case] = {
    "billion laughs": _case(billion_laughs() + "rules: {}\n", 2, "lol1", ALIAS),
    "recursive alias": _case("rules:\n  allowed-tokens: &a [*a]\n", 2, "rules.allowed-tokens", ALIAS),
    "alias of a scalar": _case("description: &d x\nextends: *d\n", 2, "extends", ALIAS),
    "merge key": _case("base: &b {max-glibc: '2.17'}\nrules:\n  <<: *b\n", 3, "rules.<<", ALIAS),
    "NUL character": _case("rules:\n  allowed-tokens: [a\x00b]\n", 2, "rules.allowed-tokens.0", "U\\+0000"),
    "control character": _case('rules:\n  max-glibc: "2.17\x07"\n', 2, "rules.max-glibc", "U\\+0007"),
    "not UTF-8": _case(b"rules:\n  max-glibc: '2.17'\n  allowed-tokens: [\xff]\n", 3, "(file)", "not UTF-8"),
    "list as a key": _case("rules:\n  ? [a, b]\n  : 1\n", 2, "rules", "a key must be a plain value"),
    "mapping as a key": _case("{[a]: 1}\n", 1, "(top level)", "a key must be a plain value"),
    "invalid date": _case(
        "waivers:\n  - rule: max-glibc\n    reason: known\n    expires: 2027-02-30\n",
        4,
        "waivers.0.expires",
        "invalid date '2027-02-30'",
    ),
    "5000-digit quoted version": _case(f"rules:\n  max-glibc: '2.{'1' * 5000}'\n", 2, "rules.max-glibc", "at most 32"),
    "5000-digit number": _case(f"rules:\n  max-glibc: {'1' * 5000}\n", 2, "rules.max-glibc", "longer than 40 digits"),
    "5000-digit max-versions": _case(
        f"rules:\n  max-versions:\n    GLIBCXX: '3.{'4' * 5000}'\n", 3, "rules.max-versions.GLIBCXX", "at most 32"
    ),
    "10000-deep lists": Case(
        {"policy.yml": _deep_flow(10_000)},
        "{dir}/policy.yml",
        "{dir}/policy.yml",
        2,
        "rules.allowed-tokens" + ".0" * (MAX_DEPTH - 3),
        "nesting depth|nested deeper",
        libyaml_key="rules.allowed-tokens",
    ),
    "100-deep lists": _case(_deep_flow(100), 2, "rules.allowed-tokens" + ".0" * (MAX_DEPTH - 3), "nested deeper"),
    "10000-deep mappings": _case(_deep_mapping(10_000), 2, "rules.allowed-tokens" + ".a" * (MAX_DEPTH - 3), "deeper"),
    # One list per line: the first node too deep is on line MAX_DEPTH + 1.
    "200-deep block lists": _case(
        _deep_block(200), MAX_DEPTH + 1, "rules.allowed-tokens" + ".0" * (MAX_DEPTH - 3), "nested deeper"
    ),
    "python tag": _case("rules: !!python/object/apply:os.system [true]\n", 1, "rules", "unsupported tag"),
    "NUL in a file name": _case('extends: "a\\0b.yml"\n', 1, "extends", "NUL"),
    "policy over the size limit": _case("rules: {}\n" + "#" * POLICY_LIMIT + "\n", 1, "(file)", "larger than"),
    # Absurdly long keys and values: still one short line.
    "10000-character key": _case(f"rules:\n  ? {'k' * 10_000}\n  : 1\n", 2, f"rules.{'k' * 57}...", "unknown key"),
    "10000-character namespace": _case(
        f"rules:\n  max-versions:\n    ? {'A_' * 5000}\n    : '1'\n",
        3,
        f"rules.max-versions.{'A_' * 28}A...",
        "is not a version namespace",
    ),
    "10000-character target": _case(f"rules:\n  target: ./{'x' * 10_000}.yml\n", 2, "rules.target", "too long"),
    "--policy /dev/zero": Case({}, "/dev/zero", "/dev/zero", 1, "(file)", NOT_REGULAR),
    "--policy a FIFO": Case({"fifo.yml": None}, "{dir}/fifo.yml", "{dir}/fifo.yml", 1, "(file)", NOT_REGULAR),
    "--policy a directory": Case({"dir.yml/x": "x"}, "{dir}/dir.yml", "{dir}/dir.yml", 1, "(file)", "directory"),
    "extends: /dev/zero": _case("description: x\nextends: /dev/zero\n", 2, "extends", "/dev/zero: " + NOT_REGULAR),
    "extends: a FIFO": _case("extends: ./fifo.yml\n", 1, "extends", NOT_REGULAR, **{"fifo.yml": None}),
    "extends: a missing file": _case("extends: ./gone.yml\n", 1, "extends", "not found"),
    "extends: a bomb": Case(
        {"policy.yml": "extends: ./bomb.yml\n", "bomb.yml": billion_laughs()},
        "{dir}/policy.yml",
        "{dir}/bomb.yml",
        2,
        "lol1",
        ALIAS,
    ),
    "target: /dev/zero": _case("rules:\n  target: /dev/zero\n", 2, "rules.target", "/dev/zero: " + NOT_REGULAR),
    "target: a FIFO": _case("rules:\n  target: ./fifo.yml\n", 2, "rules.target", NOT_REGULAR, **{"fifo.yml": None}),
    "override target: a FIFO": _case(
        "overrides:\n  - paths: ['*']\n    rules:\n      target: ./fifo.yml\n",
        4,
        "overrides.0.rules.target",
        NOT_REGULAR,
        **{"fifo.yml": None},
    ),
    # Issue 21: a tag on a key, and names longer than NAME_MAX (255), were internal errors.
    "tagged key": _case('rules:\n  !foo max-glibc: "2.17"\n', 2, "rules", "unsupported tag !foo on key 'max-glibc'"),
    "tagged top-level key": _case("!foo rules: {}\n", 1, "(top level)", "unsupported tag !foo"),
    "binary key": _case("rules:\n  ? !!binary AAAA\n  : 1\n", 2, "rules", "unsupported tag"),
    "target: a name over NAME_MAX": _case(f"rules:\n  target: {'a' * 300}\n", 2, "rules.target", "no such target"),
    "target: a file name over NAME_MAX": _case(
        f"rules:\n  target: ./{'a' * 300}.yml\n", 2, "rules.target", "File name too long"
    ),
    "extends: a file name over NAME_MAX": _case(f"extends: ./{'a' * 300}.yml\n", 1, "extends", "File name too long"),
    "extends: a preset name over NAME_MAX": _case(f"extends: {'a' * 300}\n", 1, "extends", "no such preset"),
    "target: an unknown name": _case("rules:\n  target: debian-1\n", 2, "rules.target", "no such target profile"),
    "target: a profile over the size limit": _case(
        "rules:\n  target: ./big.yml\n", 2, "rules.target", "larger than", **{"big.yml": "#" * (PROFILE_LIMIT + 1)}
    ),
}
# Problems inside a profile file: FILE is the profile, KEY is `target`, then the profile's own key.
PROFILE_CASES: dict[str, tuple[str, int, str]] = {
    "profile billion laughs": ("name: x\n" + billion_laughs(), 3, ALIAS),
    "profile recursive alias": ("name: x\naliases: &a [*a]\n", 2, ALIAS),
    "profile 5000-digit version": (
        f"name: x\nlibraries:\n  any:\n    libc.so.6:\n      max-versions: {{GLIBC: '2.{'1' * 5000}'}}\n",
        5,
        r"libraries\.any\.libc\.so\.6\.max-versions\.GLIBC: .*at most 32",
    ),
    "profile invalid date": ("name: x\nsource: {generator: g, date: 2027-02-30}\n", 2, "source.date: .*invalid date"),
    "profile deep nesting": ("name: x\nlibraries: " + "[" * 10_000 + "]" * 10_000 + "\n", 2, "nesting|nested"),
}
for _name, (_text, _line, _message) in PROFILE_CASES.items():
    CASES[_name] = Case(
        {"policy.yml": "rules:\n  target: ./profile.yml\n", "profile.yml": _text},
        "{dir}/policy.yml",
        "{dir}/profile.yml",
        _line,
        "target",
        _message,
    )


def write_case(directory: Path, files: dict[str, str | bytes | None]) -> None:
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def run_check(*args: str, cwd: Path | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    """`linkgate check ARGS /usr/bin/true` in a real process; a hang fails the test at the timeout."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITLAB_CI")}
    env["PYTHONPATH"] = str(REPO)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "linkgate", "check", *args, ARTIFACT],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=30,
        check=False,
    )
    return result, time.monotonic() - started


def assert_policy_error(result: subprocess.CompletedProcess[str], elapsed: float) -> re.Match[str]:
    assert "internal error" not in result.stderr
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
    assert elapsed < TIME_LIMIT, f"took {elapsed:.2f} s"
    found = POLICY_ERROR.search(result.stderr)
    assert found, result.stderr
    return found


@pytest.mark.parametrize("name", CASES)
def test_hostile_policy_is_a_policy_error(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    write_case(tmp_path, case.files)
    result, elapsed = run_check("--policy", case.policy.format(dir=tmp_path))
    found = assert_policy_error(result, elapsed)
    assert_names(case, found, tmp_path)
    assert len(result.stderr) < 1000, "a 5000-character value must not be echoed back"


def assert_names(case: Case, found: re.Match[str], directory: Path) -> None:
    key = case.key if found["key"] == case.libyaml_key else found["key"]
    where = (found["file"], int(found["line"]), key)
    assert where == (case.where.format(dir=directory), case.line, case.key), found[0]
    assert re.search(case.message, found["msg"]), found[0]


@pytest.mark.parametrize("name", CASES)
def test_pure_python_parser_refuses_alike(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PyYAML built without libyaml: the same error at the same place (in-process, the CLI's loader)."""
    monkeypatch.setattr(yamlsource, "_Loader", yamlsource._PythonLoader)
    case = CASES[name]
    write_case(tmp_path, case.files)
    started = time.monotonic()
    with pytest.raises(PolicyError) as caught:
        load_policy(case.policy.format(dir=tmp_path), tmp_path)
    assert time.monotonic() - started < TIME_LIMIT
    found = POLICY_ERROR.search(f"linkgate: policy error: {caught.value}")
    assert found, str(caught.value)
    assert_names(case, found, tmp_path)


@pytest.mark.parametrize("make", [os.mkfifo, lambda path: path.symlink_to("/dev/zero")], ids=["fifo", "devzero"])
def test_found_policy_file_that_is_not_regular_is_an_error(tmp_path: Path, make: Callable[[Path], None]) -> None:
    """A linkgate.yml that is a FIFO (or a link to a device) must not silently mean "no policy"."""
    make(tmp_path / "linkgate.yml")
    result, elapsed = run_check(cwd=tmp_path)
    found = assert_policy_error(result, elapsed)
    assert found["key"] == "(file)", result.stderr
    assert re.search(NOT_REGULAR, found["msg"]), result.stderr


def test_anchor_without_alias_is_accepted(tmp_path: Path) -> None:
    """Refusing aliases must not refuse the harmless anchor on its own, nor normal files."""
    write_case(tmp_path, {"policy.yml": "rules: &r\n  max-glibc: '2.99'\n"})
    result, _elapsed = run_check("--policy", str(tmp_path / "policy.yml"))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_file_swapped_after_the_check_is_refused_on_the_open_descriptor(tmp_path: Path, special: str) -> None:
    """The stat check is skipped, as if a FIFO or device replaced the file after it: the open must
    not block (O_NONBLOCK) and the descriptor's own type must refuse it. Its own process and a
    timeout, because without O_NONBLOCK this blocks forever."""
    path = tmp_path / "swapped.yml"
    if special == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(special)
    program = (
        "import sys\n"
        "from pathlib import Path\n"
        "from linkgate.core import sourcefile\n"
        "sourcefile.check_source = lambda path, limit: None\n"
        "try:\n"
        "    sourcefile.read_source(Path(sys.argv[1]), sourcefile.POLICY_LIMIT)\n"
        "except sourcefile.SourceFileError as error:\n"
        "    print(error.message)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", program, str(path)], capture_output=True, text=True, env=env, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert re.search(NOT_REGULAR, result.stdout), result.stdout


@pytest.mark.parametrize("spec", ["a" * 300, "./" + "a" * 300 + ".yml", "a" * 5000 + "/x.yml"])
def test_a_policy_name_longer_than_the_system_allows_is_a_policy_error(spec: str, tmp_path: Path) -> None:
    """Issue 21: --policy longer than NAME_MAX (or PATH_MAX) was `internal error: OSError`."""
    result, _elapsed = run_check("--policy", spec, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("linkgate: policy error: "), result.stderr
    assert re.search("no such preset|File name too long", result.stderr), result.stderr
    assert "internal error" not in result.stderr and len(result.stderr) < 1000
