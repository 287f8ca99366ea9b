"""`linkgate completion bash|zsh|fish`: a shell completion script, written from the parser itself.

The commands, their options and the choices of each option come from the same argparse parser
that reads the command line, so the script cannot drift from it; `--policy` also offers the
shipped presets and target profiles (and files). Install:

    linkgate completion bash > ~/.local/share/bash-completion/completions/linkgate
    linkgate completion zsh > "${fpath[1]}/_linkgate"
    linkgate completion fish > ~/.config/fish/completions/linkgate.fish
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from linkgate.core.exitcodes import ExitCode
from linkgate.core.records import field, record

SHELLS = ("bash", "zsh", "fish")


@record
class Option:
    flags: tuple[str, ...]
    help: str = ""
    takes_value: bool = False
    # The values it offers: its argparse choices, the presets for --policy; None: files.
    values: tuple[str, ...] | None = None


@record
class Command:
    """One command path (`profile capture`): its options, subcommands, and whether it takes files."""

    path: str
    help: str = ""
    options: tuple[Option, ...] = ()
    subcommands: tuple[str, ...] = ()
    files: bool = False
    # The values of a positional argument that has choices (`completion bash|zsh|fish`).
    choices: tuple[str, ...] = ()
    children: dict[str, Command] = field(default_factory=dict)


def add_parser(commands: Any) -> None:
    """The `completion` command on the main parser's subparsers."""
    completion = commands.add_parser("completion", help="print a shell completion script (bash, zsh or fish)")
    completion.add_argument("shell", choices=SHELLS)


def run(args: argparse.Namespace) -> int:
    tree = command_tree(args.parser, "", "", policy_names())
    sys.stdout.write({"bash": bash, "zsh": zsh, "fish": fish}[args.shell](flatten(tree)))
    return ExitCode.OK


def policy_names() -> tuple[str, ...]:
    """What `--policy NAME` accepts besides a file: the presets and the shipped target profiles."""
    from linkgate.policy.locate import preset_names, presets_dir  # noqa: PLC0415 - lazy: start-up
    from linkgate.policy.targets import shipped_names  # noqa: PLC0415 - lazy: start-up

    return tuple(dict.fromkeys([*preset_names(), *shipped_names(presets_dir())]))


def command_tree(parser: argparse.ArgumentParser, path: str, help_text: str, policies: tuple[str, ...]) -> Command:
    options: list[Option] = []
    children: dict[str, Command] = {}
    files = False
    choices: tuple[str, ...] = ()
    helps = _subcommand_helps(parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                children[name] = command_tree(sub, f"{path} {name}".strip(), helps.get(name, ""), policies)
        elif action.option_strings:
            options.append(_option(action, policies))
        elif action.choices is not None:
            choices += tuple(str(c) for c in action.choices)
        else:
            files = True
    return Command(path, help_text, tuple(options), tuple(children), files, choices, children)


def _subcommand_helps(parser: argparse.ArgumentParser) -> dict[str, str]:
    helps: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps |= {choice.dest: choice.help or "" for choice in action._choices_actions}
    return helps


def _option(action: argparse.Action, policies: tuple[str, ...]) -> Option:
    takes_value = action.nargs != 0
    values = tuple(str(c) for c in action.choices) if action.choices is not None else None
    if "--policy" in action.option_strings:
        values = policies
    help_text = "" if action.help in (None, argparse.SUPPRESS) else str(action.help)
    return Option(tuple(action.option_strings), help_text, takes_value, values)


def flatten(tree: Command) -> list[Command]:
    """Every command path, the root ("") first."""
    return [tree, *(c for child in tree.children.values() for c in flatten(child))]


# --- bash ------------------------------------------------------------------------------------------


def bash(commands: list[Command]) -> str:
    paths = " | ".join(f'"{_join(c.path, "")}"' for c in commands[1:])
    lines = [
        "# bash completion for linkgate (written by `linkgate completion bash`)",
        "_linkgate() {",
        '    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} path="" word i',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        "        word=${COMP_WORDS[i]}",
        '        case "${path:+$path }$word" in',
        f'            {paths}) path="${{path:+$path }}$word" ;;',
        "        esac",
        "    done",
        '    case "$path|$prev" in',
        *[line for c in commands for o in c.options if o.takes_value for line in _bash_value(c, o)],
        "    esac",
        "    if [[ $cur == -* ]]; then",
        '        case "$path" in',
        *[f'            "{c.path}") COMPREPLY=($(compgen -W "{_words(c)}" -- "$cur")) ;;' for c in commands],
        "        esac",
        "        return",
        "    fi",
        '    case "$path" in',
        *[f'        "{c.path}") {_bash_words(c)} ;;' for c in commands],
        "    esac",
        "}",
        "complete -o filenames -o bashdefault -F _linkgate linkgate",
    ]
    return "\n".join(lines) + "\n"


def _join(path: str, word: str) -> str:
    return f"{path} {word}".strip()


def _words(command: Command) -> str:
    return " ".join(flag for option in command.options for flag in option.flags)


def _bash_value(command: Command, option: Option) -> list[str]:
    keys = "|".join(f'"{command.path}|{flag}"' for flag in option.flags)
    if option.values is None:
        reply = 'COMPREPLY=($(compgen -f -- "$cur"))'
    else:
        extra = ' $(compgen -f -- "$cur")' if "--policy" in option.flags else ""
        reply = f'COMPREPLY=($(compgen -W "{" ".join(option.values)}" -- "$cur"){extra})'
    return [f"        {keys}) {reply}; return ;;"]


def _bash_words(command: Command) -> str:
    if command.subcommands or command.choices:
        return f'COMPREPLY=($(compgen -W "{" ".join(command.subcommands or command.choices)}" -- "$cur"))'
    return 'COMPREPLY=($(compgen -f -- "$cur"))' if command.files else "COMPREPLY=()"


# --- zsh -------------------------------------------------------------------------------------------


def zsh(commands: list[Command]) -> str:
    paths = " | ".join(f'"{c.path}"' for c in commands[1:])
    lines = [
        "#compdef linkgate",
        "# zsh completion for linkgate (written by `linkgate completion zsh`)",
        "_linkgate() {",
        '    local cur=${words[CURRENT]} prev=${words[CURRENT-1]} cmdpath="" word i',
        "    for ((i = 2; i < CURRENT; i++)); do",
        "        word=${words[i]}",
        '        case "${cmdpath:+$cmdpath }$word" in',
        f'            {paths}) cmdpath="${{cmdpath:+$cmdpath }}$word" ;;',
        "        esac",
        "    done",
        '    case "$cmdpath|$prev" in',
        *[line for c in commands for o in c.options if o.takes_value for line in _zsh_value(c, o)],
        "    esac",
        "    if [[ $cur == -* ]]; then",
        '        case "$cmdpath" in',
        *[f'            "{c.path}") compadd -- {_words(c)} ;;' for c in commands],
        "        esac",
        "        return",
        "    fi",
        '    case "$cmdpath" in',
        *[f'        "{c.path}") {_zsh_words(c)} ;;' for c in commands],
        "    esac",
        "}",
        # As a file in $fpath zsh runs it as the function; sourced, it registers the function.
        'if [ "$funcstack[1]" = "_linkgate" ]; then _linkgate "$@"; else compdef _linkgate linkgate; fi',
    ]
    return "\n".join(lines) + "\n"


def _zsh_value(command: Command, option: Option) -> list[str]:
    keys = "|".join(f'"{command.path}|{flag}"' for flag in option.flags)
    if option.values is None:
        reply = "_files"
    else:
        reply = f"compadd -- {' '.join(option.values)}" + ("; _files" if "--policy" in option.flags else "")
    return [f"        {keys}) {reply}; return ;;"]


def _zsh_words(command: Command) -> str:
    if command.subcommands or command.choices:
        return f"compadd -- {' '.join(command.subcommands or command.choices)}"
    return "_files" if command.files else ":"


# --- fish ------------------------------------------------------------------------------------------


def fish(commands: list[Command]) -> str:
    lines = ["# fish completion for linkgate (written by `linkgate completion fish`)", "complete -c linkgate -f"]
    for command in commands:
        condition = _fish_condition(command)
        for name in command.subcommands:
            child = command.children[name]
            lines.append(f"complete -c linkgate -n {_quoted(condition)} -a {name} -d {_quoted(child.help)}")
        lines += [_fish_option(condition, option) for option in command.options]
        if command.choices:
            lines.append(f"complete -c linkgate -n {_quoted(condition)} -a {_quoted(' '.join(command.choices))}")
        elif command.files and not command.subcommands:
            lines.append(f"complete -c linkgate -n {_quoted(condition)} -F")
    return "\n".join(lines) + "\n"


def _fish_condition(command: Command) -> str:
    """True while the command line is at `command` (its words seen, none of its subcommands yet)."""
    seen = [f"__fish_seen_subcommand_from {word}" for word in command.path.split()]
    if command.subcommands:
        seen.append(f"not __fish_seen_subcommand_from {' '.join(command.subcommands)}")
    return "; and ".join(seen) or "true"


def _fish_option(condition: str, option: Option) -> str:
    flags = " ".join(f"-l {f[2:]}" if f.startswith("--") else f"-s {f[1:]}" for f in option.flags)
    words = [f"complete -c linkgate -n {_quoted(condition)} {flags}"]
    if option.takes_value and option.values is not None:
        # -x: the value is one of these; --policy also takes a file (-r -F).
        words.append(("-r -F" if "--policy" in option.flags else "-x") + f" -a {_quoted(' '.join(option.values))}")
    elif option.takes_value:
        words.append("-r -F")
    words.append(f"-d {_quoted(option.help)}")
    return " ".join(words)


def _quoted(text: str) -> str:
    """A fish single-quoted string (backslash and quote escaped)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
