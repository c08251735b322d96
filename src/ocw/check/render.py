"""What app-template renders from a HelmRelease, as far as the checks need it: the routes (names, labels,
hostnames, parents) and each controller's pod (containers with env, mounts, probes; volumes).

Deliberately minimal and honest: fields the chart derives in ways not modelled here (service ports on the
container, default labels beyond the instance/name pair) are left out rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ocw.flux.build import Manifest
from ocw.helm import app_template

# Container fields app-template passes through to the pod unchanged.
_PASS_THROUGH = (
    "workingDir",
    "ports",
    "resources",
    "securityContext",
    "lifecycle",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "stdin",
    "tty",
    "restartPolicy",
    "imagePullPolicy",
)
_PROBES = ("liveness", "readiness", "startup")


@dataclass
class Route:
    """An HTTPRoute as the cluster will hold it: a tree object or one app-template renders."""

    name: str
    namespace: str
    kind: str
    hostnames: list[str]
    source_hostnames: list[str]  # before Flux substitution
    parent_refs: list[dict[str, Any]]
    labels: dict[str, str]
    rules: list[dict[str, Any]]
    origin: Manifest  # the HTTPRoute or the HelmRelease that renders it
    identifier: str | None = None  # the app-template route identifier


@dataclass
class Pod:
    controller: app_template.Controller
    spec: dict[str, Any]
    # Secret and ConfigMap reads, for the link checks: (kind, name, key or None for the whole object, where).
    reads: list[tuple[str, str, str | None, str]] = field(default_factory=list)


def release_values(helmrelease: Manifest) -> dict[str, Any]:
    return dict((helmrelease.obj.get("spec") or {}).get("values") or {})


def _source_values(helmrelease: Manifest) -> dict[str, Any]:
    raw = helmrelease.raw or helmrelease.obj
    return dict((raw.get("spec") or {}).get("values") or {})


def _release_name(helmrelease: Manifest) -> str:
    return str((helmrelease.obj.get("spec") or {}).get("releaseName") or helmrelease.name)


def chart_labels(helmrelease: Manifest, values: dict[str, Any]) -> dict[str, str]:
    release = _release_name(helmrelease)
    name = ((values.get("global") or {}).get("nameOverride")) or release
    labels = {"app.kubernetes.io/instance": release, "app.kubernetes.io/name": str(name)}
    labels["app.kubernetes.io/managed-by"] = "Helm"
    labels.update({str(k): str(v) for k, v in ((values.get("global") or {}).get("labels") or {}).items()})
    return labels


def routes_of_release(helmrelease: Manifest) -> list[Route]:
    values = release_values(helmrelease)
    source = _source_values(helmrelease)
    release = _release_name(helmrelease)
    names = app_template.route_names(release, values)
    routes: list[Route] = []
    for identifier, name in names.items():
        spec = (values.get("route") or {}).get(identifier) or {}
        source_spec = (source.get("route") or {}).get(identifier) or {}
        labels = {
            **chart_labels(helmrelease, values),
            **{str(k): str(v) for k, v in (spec.get("labels") or {}).items()},
        }
        routes.append(
            Route(
                name=name,
                namespace=helmrelease.namespace or "default",
                kind=str(spec.get("kind", "HTTPRoute")),
                hostnames=[str(h) for h in spec.get("hostnames") or []],
                source_hostnames=[str(h) for h in source_spec.get("hostnames") or []],
                parent_refs=[dict(p) for p in spec.get("parentRefs") or [] if isinstance(p, dict)],
                labels=labels,
                rules=[dict(r) for r in spec.get("rules") or [] if isinstance(r, dict)],
                origin=helmrelease,
                identifier=identifier,
            )
        )
    return routes


def route_object(manifest: Manifest) -> Route:
    spec = manifest.obj.get("spec") or {}
    source_spec = (manifest.raw or manifest.obj).get("spec") or {}
    return Route(
        name=manifest.name,
        namespace=manifest.namespace or "default",
        kind=manifest.kind,
        hostnames=[str(h) for h in spec.get("hostnames") or []],
        source_hostnames=[str(h) for h in source_spec.get("hostnames") or []],
        parent_refs=[dict(p) for p in spec.get("parentRefs") or [] if isinstance(p, dict)],
        labels={str(k): str(v) for k, v in ((manifest.obj.get("metadata") or {}).get("labels") or {}).items()},
        rules=[dict(r) for r in spec.get("rules") or [] if isinstance(r, dict)],
        origin=manifest,
    )


def pods_of_release(helmrelease: Manifest) -> list[Pod]:
    values = release_values(helmrelease)
    release = _release_name(helmrelease)
    service_ports = _service_ports(values)
    return [_pod(controller, values, service_ports) for controller in app_template.controllers(release, values)]


def _service_ports(values: dict[str, Any]) -> dict[str, int]:
    """controller identifier -> the first port of its first service (app-template's default probe port)."""
    ports: dict[str, int] = {}
    for service in (values.get("service") or {}).values():
        if not isinstance(service, dict) or service.get("enabled", True) is False:
            continue
        for port in (service.get("ports") or {}).values():
            if isinstance(port, dict) and isinstance(port.get("port"), int):
                ports.setdefault(str(service.get("controller")), port["port"])
    return ports


def _pod(controller: app_template.Controller, values: dict[str, Any], ports: dict[str, int]) -> Pod:
    pod = Pod(controller=controller, spec={})
    init = [_container(c, pod, probe_port=None) for c in controller.init_containers]
    main = [_container(c, pod, probe_port=ports.get(controller.identifier)) for c in controller.containers]
    pod.spec = {"initContainers": init, "containers": main, "volumes": _volumes(controller, values, pod)}
    if controller.pod_security_context:
        pod.spec["securityContext"] = controller.pod_security_context
    return pod


def _container(container: app_template.Container, pod: Pod, probe_port: int | None) -> dict[str, Any]:
    spec = container.values
    rendered: dict[str, Any] = {"name": container.name, "image": container.image}
    if container.command:
        rendered["command"] = _as_list(spec.get("command"))
    if container.args:
        rendered["args"] = _as_list(spec.get("args"))
    rendered.update({key: spec[key] for key in _PASS_THROUGH if key in spec})
    env = _env(spec.get("env"), container.name, pod)
    if env:
        rendered["env"] = env
    env_from = _env_from(spec.get("envFrom"), container.name, pod)
    if env_from:
        rendered["envFrom"] = env_from
    mounts = [_mount(m) for m in container.mounts]
    if mounts:
        rendered["volumeMounts"] = mounts
    if not container.init:
        rendered.update(_probes(spec.get("probes") or {}, probe_port))
    return rendered


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def go_string(value: Any) -> str:
    """Helm's `toString` of a YAML scalar: booleans lower case, whole floats without a decimal point."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _env(raw: Any, container: str, pod: Pod) -> list[dict[str, Any]]:
    entries: list[tuple[str, Any]]
    if isinstance(raw, dict):
        entries = [(str(k), v) for k, v in raw.items()]
    elif isinstance(raw, list):
        entries = [(str(e.get("name")), e) for e in raw if isinstance(e, dict)]
    else:
        return []
    rendered: list[dict[str, Any]] = []
    for name, spec in entries:
        # The chart renders a plain value with `toString | quote` and leaves a null one out, so a substituted
        # `true` or `5` reaches the pod as the string "true" or "5".
        value = spec.get("value") if isinstance(spec, dict) else spec
        if not isinstance(spec, dict) or "value" in spec:
            if value is not None:
                rendered.append({"name": name, "value": go_string(value)})
            continue
        source = spec.get("valueFrom") or {k: v for k, v in spec.items() if k not in ("name", "dependsOn")}
        rendered.append({"name": name, "valueFrom": source})
        for kind, key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
            ref = source.get(key) if isinstance(source, dict) else None
            if isinstance(ref, dict) and not ref.get("optional"):
                pod.reads.append((kind, str(ref.get("name")), str(ref.get("key")), f"{container} env {name}"))
    return rendered


def _env_from(raw: Any, container: str, pod: Pod) -> list[dict[str, Any]]:
    rendered: list[dict[str, Any]] = []
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict):
            continue
        item: dict[str, Any] = {"prefix": entry["prefix"]} if entry.get("prefix") else {}
        for kind, short, long in (("Secret", "secret", "secretRef"), ("ConfigMap", "configMap", "configMapRef")):
            if short in entry or long in entry:
                ref = {"name": str(entry[short])} if short in entry else dict(entry[long])
                item[long] = ref
                if not ref.get("optional"):
                    pod.reads.append((kind, str(ref.get("name")), None, f"{container} envFrom"))
        rendered.append(item)
    return rendered


def _mount(mount: app_template.Mount) -> dict[str, Any]:
    rendered: dict[str, Any] = {"name": mount.volume.identifier, "mountPath": mount.path}
    if mount.read_only:
        rendered["readOnly"] = True
    if mount.sub_path:
        rendered["subPath"] = mount.sub_path
    return rendered


def _probes(probes: dict[str, Any], port: int | None) -> dict[str, Any]:
    rendered: dict[str, Any] = {}
    for probe in _PROBES:
        spec = probes.get(probe) or {}
        if spec.get("enabled", probe != "startup") is False:
            continue
        if spec.get("custom"):
            rendered[f"{probe}Probe"] = dict(spec.get("spec") or {})
        elif port is not None and spec.get("enabled", False):
            rendered[f"{probe}Probe"] = {"tcpSocket": {"port": port}, **dict(spec.get("spec") or {})}
    return rendered


def _volumes(controller: app_template.Controller, values: dict[str, Any], pod: Pod) -> list[dict[str, Any]]:
    used = {m.volume.identifier for c in (*controller.init_containers, *controller.containers) for m in c.mounts}
    rendered: list[dict[str, Any]] = []
    for identifier, volume in app_template.volumes(values).items():
        if identifier not in used:
            continue
        item = (values.get("persistence") or {}).get(identifier) or {}
        rendered.append({"name": identifier, **_volume_source(volume, item, pod)})
    return rendered


def _volume_source(volume: app_template.Volume, item: dict[str, Any], pod: Pod) -> dict[str, Any]:
    projection: dict[str, Any] = {}
    if volume.default_mode is not None:
        projection["defaultMode"] = volume.default_mode
    if volume.items:
        projection["items"] = [{"key": key, "path": path} for key, path in volume.items]
    # A configMap or secret given by `identifier` is one the chart itself renders from values.configMaps/secrets.
    name = volume.source or volume.from_chart
    if volume.type == "secret":
        keys: list[str | None] = [key for key, _ in volume.items] or [None]
        for key in keys if not volume.from_chart else []:
            pod.reads.append(("Secret", str(volume.source), key, f"volume {volume.identifier}"))
        return {"secret": {"secretName": name, **projection}}
    if volume.type == "configMap":
        keys = [key for key, _ in volume.items] or [None]
        for key in keys if not volume.from_chart else []:
            pod.reads.append(("ConfigMap", str(volume.source), key, f"volume {volume.identifier}"))
        return {"configMap": {"name": name, **projection}}
    if volume.type == "emptyDir":
        empty = {k: item[k] for k in ("medium", "sizeLimit") if k in item}
        return {"emptyDir": empty}
    if volume.type == "hostPath":
        return {
            "hostPath": {"path": volume.source, **({"type": item["hostPathType"]} if "hostPathType" in item else {})}
        }
    if volume.type == "persistentVolumeClaim":
        claim = volume.source or str(item.get("nameOverride") or volume.identifier)
        return {"persistentVolumeClaim": {"claimName": claim}}
    return {}
