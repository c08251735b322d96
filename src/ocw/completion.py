"""`ocw completion bash|zsh|fish`: a completion script for the shell, made from ocw's own parser, so it offers
exactly the commands, options and choices this ocw has (a folder or file where an option takes one)."""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from ocw.cli_options import runs

SHELLS: Final = ("bash", "zsh", "fish")
Kind = Literal["flag", "value", "file", "dir"]


@dataclass
class Option:
    names: list[str]
    help: str
    kind: Kind
    choices: list[str] = field(default_factory=list)


@dataclass
class Command:
    path: tuple[str, ...]
    help: str = ""
    options: list[Option] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)  # the choices of its positional arguments
    children: dict[str, Command] = field(default_factory=dict)

    def walk(self) -> list[Command]:
        return [self, *(node for child in self.children.values() for node in child.walk())]


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        description="Print the completion script for SHELL on stdout. Load it in the current shell, or for good:\n"
        "  bash: source <(ocw completion bash)   (or save it in ~/.local/share/bash-completion/completions/ocw)\n"
        "  zsh:  source <(ocw completion zsh)    (after compinit, e.g. in ~/.zshrc)\n"
        "  fish: ocw completion fish > ~/.config/fish/completions/ocw.fish",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    runs(parser, "ocw.completion:handle")


def handle(args: argparse.Namespace) -> int:
    # ocw.cli imports this module to register it: its parser is reached at run time, with every command loaded.
    parser: argparse.ArgumentParser = importlib.import_module("ocw.cli").build_parser()
    tree = command_tree(parser)
    print({"bash": bash, "zsh": zsh, "fish": fish}[args.shell](tree), end="")
    return 0


def _kind(action: argparse.Action) -> Kind:
    if action.nargs == 0:
        return "flag"
    metavar = str(action.metavar or "")
    if metavar == "DIR" or action.dest in ("repo", "state_dir", "schemas"):
        return "dir"
    if action.type is Path or metavar in ("FILE", "PATH", "PEM"):
        return "file"
    return "value"


def command_tree(parser: argparse.ArgumentParser, path: tuple[str, ...] = (), help_text: str = "") -> Command:
    node = Command(path, help_text)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: str(choice.help or "") for choice in action._choices_actions}
            for name, child in action.choices.items():
                node.children[name] = command_tree(child, (*path, name), helps.get(name, ""))
        elif action.option_strings:
            choices = [str(c) for c in action.choices] if action.choices else []
            node.options.append(Option(list(action.option_strings), str(action.help or ""), _kind(action), choices))
        elif action.choices:
            node.arguments.extend(str(c) for c in action.choices)
    return node


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _words(node: Command) -> list[str]:
    return [*node.children, *node.arguments, *(name for option in node.options for name in option.names)]


def bash(tree: Command) -> str:
    nodes = tree.walk()
    steps = "\n".join(
        f"      {_quote(' '.join((*node.path[:-1], '')) + '|' + node.path[-1])}) path={_quote(' '.join(node.path))} ;;"
        for node in nodes
        if node.path
    )
    values = []
    for node in nodes:
        for option in node.options:
            if option.kind == "flag":
                continue
            action = {
                "dir": 'COMPREPLY=($(compgen -d -- "$cur"))',
                "file": 'COMPREPLY=($(compgen -f -- "$cur"))',
                "value": f'COMPREPLY=($(compgen -W {_quote(" ".join(option.choices))} -- "$cur"))',
            }[option.kind]
            pattern = "|".join(_quote(f"{' '.join(node.path)}|{name}") for name in option.names)
            values.append(f"    {pattern}) {action}; return ;;")
    words = "\n".join(f"    {_quote(' '.join(node.path))}) words={_quote(' '.join(_words(node)))} ;;" for node in nodes)
    return f"""# bash completion for ocw (`ocw completion bash`)
_ocw() {{
  local cur prev path="" words="" i word
  cur="${{COMP_WORDS[COMP_CWORD]}}"
  prev="${{COMP_WORDS[COMP_CWORD-1]}}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="${{COMP_WORDS[i]}}"
    case "${{path:+$path }}|$word" in
{steps}
    esac
  done
  case "$path|$prev" in
{chr(10).join(values)}
  esac
  case "$path" in
{words}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -F _ocw ocw
"""


def zsh(tree: Command) -> str:
    """zsh loads the bash function through bashcompinit: one script to keep right, the same answers in both."""
    return (
        "#compdef ocw\n# zsh completion for ocw (`ocw completion zsh`): the bash completion, through bashcompinit\n"
        "autoload -U +X compinit && { (( $+functions[compdef] )) || compinit; }\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + bash(tree).split("\n", 1)[1]
    )


def _fish_condition(path: tuple[str, ...], children: list[str]) -> str:
    if not path:
        return "__fish_use_subcommand"
    seen = "; and ".join(f"__fish_seen_subcommand_from {word}" for word in path)
    if children:
        return f"{seen}; and not __fish_seen_subcommand_from {' '.join(children)}"
    return seen


def fish(tree: Command) -> str:
    lines = ["# fish completion for ocw (`ocw completion fish`)", "complete -c ocw -f"]
    for node in tree.walk():
        condition = _quote(_fish_condition(node.path, list(node.children)))
        for name, child in node.children.items():
            lines.append(f"complete -c ocw -n {condition} -a {name} -d {_quote(child.help)}")
        if node.arguments:
            lines.append(f"complete -c ocw -n {condition} -a {_quote(' '.join(node.arguments))}")
        for option in node.options:
            flags = " ".join(f"-l {name[2:]}" if name.startswith("--") else f"-s {name[1:]}" for name in option.names)
            extra = {"flag": "", "value": " -x", "file": " -r -F", "dir": " -r -F"}[option.kind]
            if option.choices:
                extra += f" -a {_quote(' '.join(option.choices))}"
            lines.append(f"complete -c ocw -n {condition} {flags}{extra} -d {_quote(option.help[:80])}")
    return "\n".join(lines) + "\n"
