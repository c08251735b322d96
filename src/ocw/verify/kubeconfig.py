"""Which cluster to talk to, resolved the way kubectl resolves it.

Order: `--kubeconfig PATH` (must exist); else every file listed in `KUBECONFIG` (path-separated, missing files ignored,
merged: the first file to define a name wins, the first `current-context` wins); else `~/.kube/config`; else the
in-cluster service account. `--context` picks a context, otherwise the merged `current-context`. Relative file paths
inside a kubeconfig are resolved against the file that holds them, as kubectl does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError

from ocw.errors import OcwError
from ocw.inputs import read_text, yaml_problem

_PATH_KEYS = {
    "cluster": ("certificate-authority",),
    "user": ("client-certificate", "client-key", "tokenFile"),
}
_SECTIONS = (("clusters", "cluster"), ("contexts", "context"), ("users", "user"))


def kubeconfig_files(kubeconfig: Path | None, environ: Mapping[str, str]) -> list[Path]:
    if kubeconfig is not None:
        if not kubeconfig.expanduser().is_file():
            raise OcwError(
                f"--kubeconfig {kubeconfig}: expected a kubeconfig file, found none",
                hint="pass the path kubectl uses (e.g. ~/.kube/config)",
            )
        return [kubeconfig.expanduser()]
    listed = environ.get("KUBECONFIG", "")
    if listed.strip():
        return [Path(p).expanduser() for p in listed.split(os.pathsep) if p.strip() and Path(p).expanduser().is_file()]
    default = Path(environ.get("HOME") or Path.home()) / ".kube" / "config"
    return [default] if default.is_file() else []


def _absolute_paths(entry: dict[str, Any], kind: str, base: Path) -> dict[str, Any]:
    body = dict(entry.get(kind) or {})
    for key in _PATH_KEYS.get(kind, ()):
        value = body.get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            body[key] = str(base / value)
    return {**entry, kind: body}


def merge_kubeconfigs(files: list[Path]) -> dict[str, Any]:
    merged: dict[str, Any] = {"clusters": [], "contexts": [], "users": [], "current-context": None}
    for path in files:
        text = read_text(path, "kubeconfig", hint="check the file with `kubectl config view`")
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise OcwError(
                f"kubeconfig {path}: not valid YAML ({yaml_problem(exc)})",
                hint="check the file with `kubectl config view`",
            ) from exc
        if not isinstance(doc, dict):
            raise OcwError(f"kubeconfig {path} is not a mapping", hint="check the file with `kubectl config view`")
        if not merged["current-context"] and doc.get("current-context"):
            merged["current-context"] = doc["current-context"]
        for section, kind in _SECTIONS:
            known = {e.get("name") for e in merged[section]}
            for entry in doc.get(section) or []:
                if isinstance(entry, dict) and entry.get("name") not in known:
                    merged[section].append(_absolute_paths(entry, kind, path.parent))
                    known.add(entry.get("name"))
    return merged


def load_config(kubeconfig: Path | None, context: str | None, environ: Mapping[str, str] | None = None) -> SingleConfig:
    env = os.environ if environ is None else environ
    files = kubeconfig_files(kubeconfig, env)
    if not files:
        if env.get("KUBERNETES_SERVICE_HOST"):
            try:
                config = KubeConfig.from_service_account().get(context)
            except (ConfigError, KeyError) as exc:
                raise OcwError(f"in-cluster configuration unusable: {exc}", hint="pass --kubeconfig") from exc
            if config is None:
                raise OcwError("in-cluster configuration has no context", hint="pass --kubeconfig")
            return config
        raise OcwError(
            "no kubeconfig: expected --kubeconfig, KUBECONFIG or ~/.kube/config",
            hint="pass --kubeconfig PATH (and --context NAME), as you would to kubectl",
        )
    merged = merge_kubeconfigs(files)
    where = ", ".join(str(f) for f in files)
    try:
        config = KubeConfig.from_dict(merged, fname=files[0]).get(context)
    except ConfigError as exc:
        names = ", ".join(str(c.get("name")) for c in merged["contexts"]) or "none"
        wanted = f"context {context!r}" if context else "a current-context"
        raise OcwError(
            f"expected {wanted} in {where}; it defines: {names} ({exc})",
            hint="pick one with --context NAME (see `kubectl config get-contexts`)",
        ) from exc
    except KeyError as exc:
        raise OcwError(
            f"kubeconfig {where}: a context refers to the undefined cluster or user {exc}",
            hint="check it with `kubectl config view`",
        ) from exc
    if config is None:
        raise OcwError(f"no current-context in {where}", hint="pick a context with --context NAME")
    return config
