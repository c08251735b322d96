"""What the bjw-s app-template chart (4.x, values compatible with 5.x) renders from a HelmRelease's values.

Only the parts ocw needs: resource names (a release with exactly one enabled item of a kind names it `<release>`,
with several `<release>-<identifier>`; `forceRename`, `prefix`, `suffix` override), and each controller's pod:
containers with their command, args, env, envFrom, working directory and volume mounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CHART_URL_SUFFIX = "/app-template"


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None = None
    secret_ref: tuple[str, str] | None = None  # (secret name, key)
    config_map_ref: tuple[str, str] | None = None
    other_source: dict[str, Any] | None = None  # fieldRef and friends: not meaningful outside a cluster


@dataclass(frozen=True)
class EnvFrom:
    kind: str  # "Secret" or "ConfigMap"
    name: str
    prefix: str = ""


@dataclass(frozen=True)
class Volume:
    identifier: str
    type: str  # persistentVolumeClaim, emptyDir, configMap, secret, hostPath, ...
    source: str | None  # claim / configMap / secret name
    items: tuple[tuple[str, str], ...] = ()  # (key, path) projections for configMap/secret
    default_mode: int | None = None
    size: str | None = None
    storage_class: str | None = None
    access_mode: str | None = None
    # For a configMap/secret given by `identifier`: the entry of values.configMaps / values.secrets the chart renders.
    from_chart: str | None = None


@dataclass(frozen=True)
class Mount:
    volume: Volume
    path: str
    read_only: bool = False
    sub_path: str | None = None


@dataclass
class Container:
    name: str
    init: bool
    image: str
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    env: list[EnvVar] = field(default_factory=list)
    env_from: list[EnvFrom] = field(default_factory=list)
    working_dir: str | None = None
    mounts: list[Mount] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)
    security_context: dict[str, Any] = field(default_factory=dict)
    probes: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Controller:
    identifier: str
    name: str
    type: str
    replicas: int | None
    strategy: str | None
    annotations: dict[str, str]
    pod_security_context: dict[str, Any]
    init_containers: list[Container]
    containers: list[Container]
    values: dict[str, Any] = field(repr=False)


def _enabled(items: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {
        key: value
        for key, value in (items or {}).items()
        if isinstance(value, dict) and value.get("enabled", True) is not False
    }


def resource_names(release: str, items: dict[str, Any] | None) -> dict[str, str]:
    """identifier -> rendered name, for controllers, services, routes, ingresses alike."""
    enabled = _enabled(items)
    names: dict[str, str] = {}
    for identifier, item in enabled.items():
        if item.get("forceRename"):
            names[identifier] = str(item["forceRename"])
            continue
        base = release if len(enabled) == 1 else f"{release}-{identifier}"
        if item.get("prefix"):
            base = f"{item['prefix']}-{base}"
        if item.get("suffix"):
            base = f"{base}-{item['suffix']}"
        names[identifier] = base
    return names


def route_names(release: str, values: dict[str, Any]) -> dict[str, str]:
    return resource_names(release, values.get("route"))


def volumes(values: dict[str, Any]) -> dict[str, Volume]:
    result: dict[str, Volume] = {}
    for identifier, item in _enabled(values.get("persistence")).items():
        kind = str(item.get("type", "persistentVolumeClaim"))
        source: str | None
        if kind == "persistentVolumeClaim":
            source = str(item["existingClaim"]) if item.get("existingClaim") else None
        elif kind in ("configMap", "secret"):
            source = str(item["name"]) if item.get("name") else None
        else:
            source = str(item["hostPath"]) if item.get("hostPath") else None
        from_chart = str(item["identifier"]) if kind in ("configMap", "secret") and item.get("identifier") else None
        items = tuple((str(i.get("key")), str(i.get("path"))) for i in item.get("items") or [] if isinstance(i, dict))
        mode = item.get("defaultMode")
        result[identifier] = Volume(
            identifier=identifier,
            type=kind,
            source=source,
            items=items,
            default_mode=int(mode) if isinstance(mode, int) else None,
            size=item.get("size"),
            storage_class=item.get("storageClass"),
            access_mode=item.get("accessMode"),
            from_chart=from_chart,
        )
    return result


def _mounts_for(values: dict[str, Any], controller: str, container: str) -> list[Mount]:
    known = volumes(values)
    mounts: list[Mount] = []
    for identifier, item in _enabled(values.get("persistence")).items():
        volume = known[identifier]
        global_mounts = item.get("globalMounts")
        advanced = item.get("advancedMounts")
        entries: list[dict[str, Any]] = []
        if global_mounts is None and advanced is None:
            entries = [{"path": f"/{identifier}"}]
        if global_mounts:
            entries.extend(m for m in global_mounts if isinstance(m, dict))
        if isinstance(advanced, dict):
            entries.extend(m for m in ((advanced.get(controller) or {}).get(container) or []) if isinstance(m, dict))
        for entry in entries:
            mounts.append(
                Mount(
                    volume=volume,
                    path=str(entry.get("path", f"/{identifier}")),
                    read_only=bool(entry.get("readOnly", False)),
                    sub_path=entry.get("subPath"),
                )
            )
    return mounts


def _env(raw: Any) -> list[EnvVar]:
    result: list[EnvVar] = []
    entries: list[tuple[str, Any]]
    if isinstance(raw, dict):
        entries = list(raw.items())
    elif isinstance(raw, list):
        entries = [(str(e.get("name")), e) for e in raw if isinstance(e, dict)]
    else:
        return result
    for name, spec in entries:
        if not isinstance(spec, dict):
            result.append(EnvVar(name=str(name), value="" if spec is None else str(spec)))
            continue
        if "value" in spec:
            result.append(EnvVar(name=str(name), value=str(spec["value"])))
            continue
        source = spec.get("valueFrom", spec)
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            result.append(EnvVar(name=str(name), secret_ref=(str(ref.get("name")), str(ref.get("key")))))
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            result.append(EnvVar(name=str(name), config_map_ref=(str(ref.get("name")), str(ref.get("key")))))
        else:
            result.append(EnvVar(name=str(name), other_source=dict(source)))
    return result


def _env_from(raw: Any) -> list[EnvFrom]:
    result: list[EnvFrom] = []
    for entry in raw or []:
        if not isinstance(entry, dict):
            continue
        prefix = str(entry.get("prefix", ""))
        if "secretRef" in entry or "secret" in entry:
            name = entry.get("secret") or (entry.get("secretRef") or {}).get("name")
            result.append(EnvFrom("Secret", str(name), prefix))
        elif "configMapRef" in entry or "configMap" in entry:
            name = entry.get("configMap") or (entry.get("configMapRef") or {}).get("name")
            result.append(EnvFrom("ConfigMap", str(name), prefix))
    return result


def _image(spec: dict[str, Any]) -> str:
    image = spec.get("image") or {}
    repository = str(image.get("repository", ""))
    tag = image.get("tag")
    digest = image.get("digest")
    reference = repository + (f":{tag}" if tag else "")
    return reference + (f"@{digest}" if digest else "")


def _container(values: dict[str, Any], controller: str, name: str, spec: dict[str, Any], init: bool) -> Container:
    return Container(
        name=name,
        init=init,
        image=_image(spec),
        command=[str(c) for c in _as_list(spec.get("command"))],
        args=[str(a) for a in _as_list(spec.get("args"))],
        env=_env(spec.get("env")),
        env_from=_env_from(spec.get("envFrom")),
        working_dir=str(spec["workingDir"]) if spec.get("workingDir") else None,
        mounts=_mounts_for(values, controller, name),
        resources=dict(spec.get("resources") or {}),
        security_context=dict(spec.get("securityContext") or {}),
        probes=dict(spec.get("probes") or {}),
        values=spec,
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def controllers(release: str, values: dict[str, Any]) -> list[Controller]:
    names = resource_names(release, values.get("controllers"))
    pod_defaults = values.get("defaultPodOptions") or {}
    result: list[Controller] = []
    for identifier, spec in _enabled(values.get("controllers")).items():
        pod = {**pod_defaults, **(spec.get("pod") or {})}
        init = [
            _container(values, identifier, name, c, init=True)
            for name, c in _enabled(spec.get("initContainers")).items()
        ]
        main = [
            _container(values, identifier, name, c, init=False) for name, c in _enabled(spec.get("containers")).items()
        ]
        result.append(
            Controller(
                identifier=identifier,
                name=names[identifier],
                type=str(spec.get("type", "deployment")),
                replicas=spec.get("replicas", 1),
                strategy=spec.get("strategy"),
                annotations={str(k): str(v) for k, v in (spec.get("annotations") or {}).items()},
                pod_security_context=dict(pod.get("securityContext") or {}),
                init_containers=init,
                containers=main,
                values=spec,
            )
        )
    return result


def is_app_template(helmrelease: dict[str, Any], oci_urls: dict[str, str]) -> bool:
    """Whether the HelmRelease renders app-template, judged from the OCIRepository its chartRef names."""
    chart_ref = (helmrelease.get("spec") or {}).get("chartRef") or {}
    url = oci_urls.get(str(chart_ref.get("name", "")), "")
    return url.rstrip("/").endswith(CHART_URL_SUFFIX)
