"""What `ocw schemas` accepts: its parsers and help, built on every `ocw schemas` run, so it imports nothing of the
update (command.py does the work)."""

from __future__ import annotations

import argparse
from typing import Any

from ocw.cli_options import add_output, runs
from ocw.schemas.catalog import cache_schemas_dir
from ocw.schemas.download import APP_TEMPLATE_SCHEMA_ENV, CRD_CATALOG_ENV


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
    runs(update, "ocw.schemas.command:handle_update")
    where = actions.add_parser("where", help="list the schema directories in the order ocw check searches them")
    add_output(where, "the directories")
    runs(where, "ocw.schemas.command:handle_where")
