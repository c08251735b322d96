"""YAML as Flux and kustomize read it, strictly: duplicate keys are errors that name the file and line, as a careful
reviewer would want, and nothing Flux accepts (merge keys, anchors redefined, the `=` value tag, custom `!` tags,
non-string and complex keys) is ever a crash. A file that genuinely does not parse is a YamlError with its line."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent

try:
    _BaseLoader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _BaseLoader = yaml.SafeLoader

_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

MERGE_TAG = "tag:yaml.org,2002:merge"
VALUE_TAG = "tag:yaml.org,2002:value"
STR_TAG = "tag:yaml.org,2002:str"


class YamlError(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _hashable(key: Any) -> Any:
    """A mapping key usable in a dict. A complex key (`? [a, b]`, or `{{ .X }}` read as a flow mapping) becomes its
    flow-style text: Flux's YAML-to-JSON step turns every key into a string as well."""
    try:
        hash(key)
    except TypeError:
        return yaml.safe_dump(key, default_flow_style=True).strip()
    return key


class _Tolerant:
    """Constructor behaviour shared by the fast (libyaml) and the pure-Python loader."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # Duplicates are looked for among the keys written in this mapping; keys brought in by a merge key
        # (`<<: *anchor`) are defaults that explicit keys override, as YAML defines.
        seen: dict[Any, int] = {}
        simple = True
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == STR_TAG:
                key: Any = key_node.value  # the common case, without constructing anything
            else:
                simple = False
                key = _hashable(self.construct_object(key_node, deep=True))  # type: ignore[attr-defined]
            line = key_node.start_mark.line + 1
            if key in seen:
                raise YamlError(f"duplicate key {key!r} (first defined at line {seen[key]})", line)
            seen[key] = line
        if simple:
            mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)  # type: ignore[misc]
            return mapping
        self.flatten_mapping(node)  # type: ignore[attr-defined]
        mapping = {}
        for key_node, value_node in node.value:
            key = _hashable(self.construct_object(key_node, deep=deep))  # type: ignore[attr-defined]
            mapping[key] = self.construct_object(value_node, deep=deep)  # type: ignore[attr-defined]
        return mapping


def _construct_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """The `=` scalar (YAML 1.1 value key): Go's YAML reads it as the string "=" (e.g. an Alertmanager matchType)."""
    return loader.construct_scalar(node)  # type: ignore[arg-type]


def _construct_untagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    """A custom tag such as `!env_var` or `!secret`: kustomize and Flux keep the node's value and ignore the tag
    (the application reading the file interprets it)."""
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


class _StrictLoader(_Tolerant, _BaseLoader):  # type: ignore[valid-type,misc]
    """libyaml's parser: node positions included, five times faster than the pure-Python one."""


class _RedefiningLoader(_Tolerant, yaml.SafeLoader):
    """Pure-Python loader that lets an anchor be defined again (`&name` used twice), as YAML 1.2 and Go's parser
    allow; the later definition wins for the aliases after it. libyaml's composer refuses that, so files with a
    redefined anchor come here."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if not self.check_event(AliasEvent):
            anchor = self.peek_event().anchor  # type: ignore[no-untyped-call]
            if anchor is not None:
                self.anchors.pop(anchor, None)
        return super().compose_node(parent, index)


class _FastLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """For trusted machine output: no duplicate check, but the same tags as the strict loaders."""


_LOADERS: dict[str, type[yaml.SafeLoader]] = {
    loader.__name__: loader for loader in (_StrictLoader, _RedefiningLoader, _FastLoader)
}
for _loader in _LOADERS.values():
    _loader.add_constructor(VALUE_TAG, _construct_value)
    _loader.add_multi_constructor("!", _construct_untagged)
    _loader.add_multi_constructor("tag:", _construct_untagged)  # any other explicit tag, e.g. !!python/x


def _load(text: str, loader: type[yaml.SafeLoader]) -> list[Any]:
    """The documents of text, each call its own copy. A run reads the same text more than once (install checks the
    repository as written and as it was, which differ in a few files; a render or build is read again): parsing is
    kept per text and loader, and copying what was parsed costs a fraction of parsing it again."""
    return copy.deepcopy(_parsed(text, loader.__name__))


@lru_cache(maxsize=2048)
def _parsed(text: str, loader: str) -> list[Any]:
    return [doc for doc in yaml.load_all(text, Loader=_LOADERS[loader]) if doc is not None]


def load_all_strict(text: str) -> list[Any]:
    """Every document of a YAML stream, refusing duplicate keys. Raises YamlError with the offending line, never
    anything else."""
    try:
        try:
            return _load(text, _StrictLoader)
        except ComposerError as exc:
            if "duplicate anchor" not in str(exc):
                raise
            return _load(text, _RedefiningLoader)
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise YamlError(f"{exc.problem or exc}", line) from exc
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        # ValueError/TypeError: a scalar a constructor cannot read (a timestamp or number out of range).
        raise YamlError(f"{type(exc).__name__}: {exc}") from exc


def load_all_fast(text: str) -> list[Any]:
    """Every document of trusted machine output (kustomize's), through libyaml when present."""
    return _load(text, _FastLoader)


def iter_yaml_files(root: Path) -> Iterator[Path]:
    for pattern in ("*.yaml", "*.yml"):
        yield from sorted(p for p in root.rglob(pattern) if p.is_file())


def dump(obj: Any) -> str:
    """Block-style YAML in the objects' own key order, through libyaml's emitter when present: it loads back as the
    same objects as the pure-Python emitter's text (a long quoted string may be folded elsewhere), in a fourth of the
    time."""
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
