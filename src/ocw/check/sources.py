"""Rules over the tree's files as written: strict YAML, the required `$schema` comments, secrets in files,
tracing and credentials in scripts, and scripts that Flux substitution would alter."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ocw.check.inventory import Release
from ocw.findings import Finding
from ocw.flux.substitution import DISABLE_KEY, DISABLE_VALUE, is_disabled
from ocw.kube.manifest import Manifest
from ocw.schemas.verdicts import Verdicts
from ocw.secrets.redact import GITHUB_TOKEN
from ocw.yamlio import YamlError, load_all_strict

TREE = Path("kubernetes")
# The roadmap's own check (SEC-01): `grep -r 'ghp_\|auth.json' kubernetes/apps/opencode/` prints nothing.
ROADMAP_GREP = re.compile(r"ghp_|auth.json")
ROADMAP_SCOPE = TREE / "apps" / "opencode"
XTRACE = re.compile(r"(^|[;&|]\s*)set\s+(-[A-Za-z]*x[A-Za-z]*\b|-o\s+xtrace\b)|\b(ba|da)?sh\s+-[A-Za-z]*x[A-Za-z]*\b")
URL_CREDENTIAL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/@'\"]+:[^\s/@'\"]*@|x-access-token:")
SCRIPT_SUFFIXES = (".sh", ".bash")
SCHEMA_PREFIX = "# yaml-language-server: $schema="
REQUIRED_SCHEMA = {
    "ks.yaml": "https://raw.githubusercontent.com/fluxcd-community/flux2-schemas/main/kustomization-kustomize-v1.json",
    "kustomization.yaml": "https://json.schemastore.org/kustomization",
}
HELMRELEASE_SCHEMA_HOST = "https://raw.githubusercontent.com/bjw-s/helm-charts/"
HELMRELEASE_SCHEMA_FILE = "helmrelease-helm-v2.schema.json"
FLUX_HELMRELEASE_SCHEMA = (
    "https://raw.githubusercontent.com/fluxcd-community/flux2-schemas/main/helmrelease-helm-v2.json"
)
OTHER_HELMRELEASE_SCHEMA = re.compile(r"helmrelease[-_][a-z0-9-]*\.(schema\.)?json$")


@dataclass(frozen=True)
class TextFile:
    path: str  # relative to the repository root
    text: str


def tree_files(repo: Path) -> list[TextFile]:
    files: list[TextFile] = []
    for path in sorted((repo / TREE).rglob("*")):
        if not path.is_file():
            continue
        try:
            files.append(TextFile(str(path.relative_to(repo)), path.read_text()))
        except (UnicodeDecodeError, OSError):
            continue  # binary files carry no YAML and no script
    return files


def _is_yaml(file: TextFile) -> bool:
    return file.path.endswith((".yaml", ".yml"))


def _is_script(name: str, text: str) -> bool:
    return name.endswith(SCRIPT_SUFFIXES) or text.startswith("#!")


def check_files(files: Iterable[TextFile], verdicts: Verdicts | None = None) -> list[Finding]:
    """The file rules; what strict YAML parsing found in a file's text is kept between runs, with the verdicts."""
    kept = Verdicts() if verdicts is None else verdicts
    findings: list[Finding] = []
    try:
        files = list(files)
        keys = {file.path: kept.key("yaml-strict", file.text, "") for file in files if _is_yaml(file)}
        kept.prefetch(key for key in keys.values() if key is not None)
        for file in files:
            if _is_yaml(file):
                findings.extend(_strict_yaml(file, keys[file.path], kept))
            findings.extend(_secrets(file))
            if _is_script(file.path, file.text):
                findings.extend(_script(file.path, "-", file.text))
    finally:
        kept.flush()
    return findings


def _strict_yaml(file: TextFile, key: bytes | None, verdicts: Verdicts) -> list[Finding]:
    errors = _kept_errors(verdicts.get(key)) if key is not None else None
    if errors is None:
        try:
            load_all_strict(file.text)
            errors = []
        except YamlError as exc:
            errors = [(exc.message, exc.line)]
        if key is not None:
            verdicts.put(key, [json.dumps(error) for error in errors])
    return [Finding(file.path, "yaml-strict", "-", message, line=line) for message, line in errors]


def _kept_errors(verdict: list[str] | None) -> list[tuple[str, int | None]] | None:
    """A kept verdict's (message, line) errors; None when there is none or it cannot be read."""
    try:
        entries = [json.loads(entry) for entry in verdict or ()]
    except ValueError:
        return None
    if verdict is None or not all(
        isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], str)
        and (entry[1] is None or type(entry[1]) is int)
        for entry in entries
    ):
        return None
    return [(entry[0], entry[1]) for entry in entries]


def check_schema_comments(files: Iterable[TextFile], app_template_files: set[str]) -> list[Finding]:
    """The `$schema` comments. A helmrelease.yaml of app-template points at the bjw-s schema; one of another chart
    at any HelmRelease schema (flux2-schemas' helmrelease-helm-v2.json is what the cluster uses)."""
    findings: list[Finding] = []
    for file in files:
        if _is_yaml(file):
            findings.extend(_schema_comment(file, file.path in app_template_files))
    return findings


def _schema_comment(file: TextFile, app_template: bool) -> Iterator[Finding]:
    name = Path(file.path).name
    if name not in (*REQUIRED_SCHEMA, "helmrelease.yaml"):
        return
    first = next((line.strip() for line in file.text.splitlines() if line.strip() not in ("", "---")), "")
    url = first.removeprefix(SCHEMA_PREFIX) if first.startswith(SCHEMA_PREFIX) else None
    if name in REQUIRED_SCHEMA:
        expected = REQUIRED_SCHEMA[name]
        if url != expected:
            yield Finding(
                file.path,
                "schema-comment",
                "-",
                f"the first line must be `{SCHEMA_PREFIX}{expected}` (the cluster's pre-commit check), found "
                f"{first[:120]!r}",
            )
        return
    if not app_template:
        if url is None or not OTHER_HELMRELEASE_SCHEMA.search(url):
            yield Finding(
                file.path,
                "schema-comment",
                "-",
                f"the first line must be a HelmRelease schema comment such as `{SCHEMA_PREFIX}"
                f"{FLUX_HELMRELEASE_SCHEMA}`, found {first[:120]!r}",
            )
        return
    if url is None or not url.startswith(HELMRELEASE_SCHEMA_HOST) or not url.endswith(HELMRELEASE_SCHEMA_FILE):
        yield Finding(
            file.path,
            "schema-comment",
            "-",
            f"the first line must be `{SCHEMA_PREFIX}{HELMRELEASE_SCHEMA_HOST}main/charts/other/app-template/schemas/"
            f"{HELMRELEASE_SCHEMA_FILE}`, found {first[:120]!r}",
        )
    elif "bjw-s-labs" in url:
        yield Finding(
            file.path,
            "schema-comment",
            "-",
            "the schema URL contains `bjw-s-labs`, which the cluster's pre-commit check rejects: use the "
            "bjw-s/helm-charts URL",
        )


def _secrets(file: TextFile) -> Iterator[Finding]:
    in_scope = Path(file.path).is_relative_to(ROADMAP_SCOPE)
    for number, line in enumerate(file.text.splitlines(), start=1):
        token = GITHUB_TOKEN.search(line)
        if token:
            yield Finding(
                file.path,
                "sec01-secret-in-manifest",
                "-",
                f"a GitHub token ({token.group(0)[:4]}…) is written in the file: remove it from git (and from history),"
                f" revoke it, and deliver it through the workspace's ExternalSecret from Doppler",
                line=number,
            )
        elif in_scope and (hit := ROADMAP_GREP.search(line)):
            yield Finding(
                file.path,
                "sec01-secret-in-manifest",
                "-",
                f"matches the roadmap's check `grep -r 'ghp_\\|auth.json' {ROADMAP_SCOPE}/` "
                f"({hit.group(0)!r}): keep tokens and auth.json out of the manifests; the "
                f"Copilot auth document reaches the pod through the ExternalSecret",
                line=number,
            )


def _script(path: str, subject: str, text: str) -> Iterator[Finding]:
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0] if not line.lstrip().startswith("#!") else ""
        if XTRACE.search(code):
            yield Finding(
                path,
                "sec03-init-script",
                subject,
                "the script turns on xtrace (set -x), which prints every command with its expanded arguments to the "
                "log, tokens included: remove it",
                line=number,
            )
        if URL_CREDENTIAL.search(code):
            yield Finding(
                path,
                "sec03-init-script",
                subject,
                "a credential is put inside a URL (user:token@ or x-access-token:), where git prints it in errors and "
                "stores it in .git/config: hand the token to git through a credential helper reading the Secret file",
                line=number,
            )


def check_built(
    manifests: Iterable[Manifest], files: Iterable[TextFile], repo_scripts: dict[str, str]
) -> list[Finding]:
    """Rules over built objects: scripts carried by ConfigMaps, and container commands and args."""
    findings: list[Finding] = []
    seen_scripts = {file.text for file in files if _is_script(file.path, file.text)}
    for manifest in manifests:
        if manifest.kind == "ConfigMap":
            findings.extend(_configmap(manifest, seen_scripts, repo_scripts))
    return findings


def _configmap(manifest: Manifest, seen_scripts: set[str], repo_scripts: dict[str, str]) -> Iterator[Finding]:
    raw = manifest.raw or manifest.obj
    for key, value in (raw.get("data") or {}).items():
        text = str(value)
        source = repo_scripts.get(key, manifest.file)
        if not _is_script(str(key), text):
            continue
        if not is_disabled(raw) and ("${" in text or "$$" in text):
            marker = "${" if "${" in text else "$$"
            number = next(i for i, line in enumerate(text.splitlines(), 1) if marker in line)
            effect = (
                "Flux replaces every ${...} in the object (an undefined variable by an empty string)"
                if marker == "${"
                else "Flux reads $$ as its escape sequence"
            )
            yield Finding(
                source,
                "flux-script-substitution",
                manifest.ref,
                f"script {key} contains `{marker}`: {effect}, so the pod would not run the script as written. "
                f"Write $VAR without braces (and no $$), or annotate the ConfigMap {DISABLE_KEY}: {DISABLE_VALUE} "
                f"(generatorOptions.annotations for a generator; then no ${{...}} of the ConfigMap is substituted, its "
                f"name included)",
                line=number,
            )
        if text not in seen_scripts:
            yield from _script(source, manifest.ref, text)


def check_commands(releases: Iterable[Release]) -> list[Finding]:
    """Container command and args of the pods releases render: no xtrace, no credential inside a URL."""
    findings: list[Finding] = []
    for release in releases:
        helmrelease = release.helmrelease
        for work in release.workloads:
            for container in work.all_containers:
                subject = f"{helmrelease.ref} container {container.name}"
                text = " ".join([*container.command, *container.args])
                findings.extend(replace(f, owner=helmrelease.owner) for f in _script(helmrelease.file, subject, text))
    return findings


def script_sources(files: Iterable[TextFile]) -> dict[str, str]:
    """ConfigMap data key -> the file it was generated from, for keys that name exactly one script in the tree."""
    by_name: dict[str, list[str]] = {}
    for file in files:
        if not _is_yaml(file):
            by_name.setdefault(Path(file.path).name, []).append(file.path)
    return {name: paths[0] for name, paths in by_name.items() if len(paths) == 1}
