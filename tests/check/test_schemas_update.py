"""`ocw schemas update` against a local HTTP server laid out like the public catalogs: the datreeio CRDs catalog
(`<group>/<kind>_<version>.json`) and the bjw-s common library directory (`values.schema.json`, `schemas/*.json`)."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from check.tree_copy import HELMRELEASE_SCHEMA, TreeCopy, strict_helmrelease_schema
from ocw.schemas.catalog import VENDORED_SCHEMAS
from support.cli import CliResult, run_ocw, user_env

APP_TEMPLATE = "app-template-common-4.1.1"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """(served directory, base URL): `crds/` in the datreeio layout, `common/` as the bjw-s chart directory."""
    root = tmp_path / "served"
    shutil.copytree(VENDORED_SCHEMAS / "crds", root / "crds", ignore=shutil.ignore_patterns("LICENSE"))
    shutil.copytree(VENDORED_SCHEMAS / APP_TEMPLATE, root / "common", ignore=shutil.ignore_patterns("LICENSE"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def ocw(*args: str, env: dict[str, str] | None = None) -> CliResult:
    return run_ocw(*args, env=user_env(env, without=()), timeout=120)


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_update_fills_the_cache_which_then_takes_precedence(
    catalog: tuple[Path, str], private_schema_cache: Path, tree: TreeCopy
) -> None:
    served, base = catalog
    strict_helmrelease_schema(served)  # the catalog now serves a changed HelmRelease schema
    vendored_before = tree_digest(VENDORED_SCHEMAS)
    # The CRD catalog by flag, the values schema by environment variable: both ways of naming a mirror work.
    result = ocw(
        "schemas", "update", "--json", "--crd-catalog-url", f"{base}crds",
        env={"OCW_APP_TEMPLATE_SCHEMA_URL": f"{base}common/"},
    )  # fmt: skip
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    statuses = {f["path"]: f["status"] for f in document["files"]}
    assert statuses.pop(HELMRELEASE_SCHEMA) == "changed"
    assert statuses.pop(APP_TEMPLATE) == "unchanged"
    vendored_crds = {str(p.relative_to(VENDORED_SCHEMAS)) for p in (VENDORED_SCHEMAS / "crds").rglob("*.json")}
    assert set(statuses) == vendored_crds - {HELMRELEASE_SCHEMA}
    assert set(statuses.values()) == {"unchanged"}
    assert document["failed"] == 0
    assert "ocw schemas update: [1/" in result.stderr  # progress, one line per file
    # Written to the user cache, never into the package.
    assert (private_schema_cache / HELMRELEASE_SCHEMA).is_file()
    assert (private_schema_cache / APP_TEMPLATE / "schemas" / "containers.json").is_file()
    assert tree_digest(VENDORED_SCHEMAS) == vendored_before
    assert not list(private_schema_cache.parent.glob("*.partial"))

    check = ocw("check", "--repo", str(tree.root), "--json")
    crd_errors = [f for f in json.loads(check.stdout)["findings"] if f["rule"] == "schema-crd"]
    assert crd_errors and all("'ocwRequiredMarker' is a required property" in f["message"] for f in crd_errors)


def test_a_file_the_catalog_lacks_is_reported_and_the_rest_is_written(
    catalog: tuple[Path, str], private_schema_cache: Path
) -> None:
    served, base = catalog
    (served / "crds" / "volsync.backube" / "replicationsource_v1alpha1.json").unlink()
    result = ocw("schemas", "update", "--crd-catalog-url", f"{base}crds/", "--app-template-url", f"{base}common")
    assert result.code == 1
    assert "failed    crds/volsync.backube/replicationsource_v1alpha1.json: " in result.stdout
    assert "answered HTTP 404" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("FAILED: 1 file(s) could not be downloaded")
    assert (private_schema_cache / "crds" / "volsync.backube" / "replicationdestination_v1alpha1.json").is_file()
    assert not (private_schema_cache / "crds" / "volsync.backube" / "replicationsource_v1alpha1.json").exists()


def test_an_unreachable_catalog_changes_nothing(private_schema_cache: Path) -> None:
    private_schema_cache.mkdir(parents=True)
    kept = strict_helmrelease_schema(private_schema_cache)
    before = tree_digest(private_schema_cache)
    result = ocw("schemas", "update")  # conftest points both catalogs at loopback's discard port
    assert result.code == 2
    assert "127.0.0.1 could not be reached" in result.stderr
    assert "the cache is unchanged" in result.stderr
    assert tree_digest(private_schema_cache) == before and kept.is_file()
    assert not list(private_schema_cache.parent.glob("*.partial"))


def test_where_lists_the_layers_in_search_order(private_schema_cache: Path) -> None:
    result = ocw("schemas", "where", "--json")
    assert result.code == 0
    assert json.loads(result.stdout) == [
        {"layer": "cache", "path": str(private_schema_cache)},
        {"layer": "vendored", "path": str(VENDORED_SCHEMAS)},
    ]
