"""The `ocw schemas` command line: where the schemas come from, and refreshing them."""

from __future__ import annotations

import argparse
from typing import Any

from ocw.cli_options import add_output, output_format
from ocw.console import Progress, emit
from ocw.errors import EXIT_FAILED, EXIT_OK
from ocw.schemas.catalog import SchemaCatalog, cache_schemas_dir
from ocw.schemas.download import (
    APP_TEMPLATE_SCHEMA_ENV,
    CRD_CATALOG_ENV,
    app_template_schema_url,
    crd_catalog_url,
)
from ocw.schemas.update import UpdateResult, update_schemas


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "schemas",
        help="show or refresh the CRD and app-template schemas ocw check uses",
        description=(
            "ocw check validates custom resources and app-template values against JSON schemas: those given with "
            "--schemas DIR first, then the user cache, then the copies vendored in ocw."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    update = actions.add_parser(
        "update",
        help="download the current schemas from the public catalogs into the user cache",
        description=(
            f"Refresh every schema ocw knows (the vendored ones and any already cached) into {cache_schemas_dir()}, "
            "which takes precedence over the vendored copies. CRDs come from the datreeio CRDs catalog "
            "(<group>/<kind>_<version>.json), the values schema from the bjw-s common library. Nothing is written "
            "when the catalogs cannot be reached."
        ),
        epilog="Exit codes: 0 all refreshed, 1 some files failed (the rest were written), 2 could not run "
        "(catalog unreachable: nothing was changed), 130 interrupted.",
    )
    update.add_argument(
        "--crd-catalog-url",
        metavar="URL",
        help=f"base URL of a CRDs catalog mirror (default: ${CRD_CATALOG_ENV}, else the public datreeio catalog)",
    )
    update.add_argument(
        "--app-template-url",
        metavar="URL",
        help="base URL of the bjw-s common library chart directory holding values.schema.json "
        f"(default: ${APP_TEMPLATE_SCHEMA_ENV}, else the public bjw-s-labs/helm-charts tag)",
    )
    add_output(update)
    update.set_defaults(handler=handle_update)
    where = actions.add_parser("where", help="list the schema directories in the order ocw check searches them")
    add_output(where, "the directories")
    where.set_defaults(handler=handle_where)


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
