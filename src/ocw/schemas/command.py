"""The `ocw schemas` command line: where the schemas come from, and refreshing them."""

from __future__ import annotations

import argparse
from typing import Any

from ocw.cli_options import output_format
from ocw.console import Progress, emit
from ocw.errors import EXIT_FAILED, EXIT_OK
from ocw.schemas.catalog import SchemaCatalog
from ocw.schemas.download import (
    app_template_schema_url,
    crd_catalog_url,
)
from ocw.schemas.update import UpdateResult, update_schemas


def handle_update(args: argparse.Namespace) -> int:
    result = update_schemas(
        crd_catalog_url(args.crd_catalog_url),
        app_template_schema_url(args.app_template_url),
        progress=Progress("schemas update"),
    )
    emit(_as_document(result), _as_text(result), output_format(args))
    return EXIT_FAILED if result.failed else EXIT_OK


def handle_where(args: argparse.Namespace) -> int:
    layers = SchemaCatalog(None).layers
    lines = [f"{layer.name:9} {layer.root}{'' if layer.root.is_dir() else '  (empty)'}" for layer in layers]
    emit([{"layer": layer.name, "path": str(layer.root)} for layer in layers], lines, output_format(args))
    return EXIT_OK


def _as_document(result: UpdateResult) -> dict[str, Any]:
    return {
        "cache": str(result.cache),
        "crd_catalog": result.crd_catalog,
        "app_template": result.app_template,
        "files": [{"path": f.path, "status": f.status, "detail": f.detail} for f in result.files],
        "failed": len(result.failed),
    }


def _as_text(result: UpdateResult) -> str:
    lines = [f"{f.status:9} {f.path}{': ' + f.detail if f.detail else ''}" for f in result.files]
    counts = {status: sum(f.status == status for f in result.files) for status in ("new", "changed", "unchanged")}
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    verdict = f"FAILED: {len(result.failed)} file(s) could not be downloaded" if result.failed else "ok"
    return "\n".join([*lines, f"{verdict}: {summary}; cache {result.cache}"])
