"""`ocw check`: the check run for the command line (arguments.py defines what it accepts)."""

from __future__ import annotations

import argparse
import json

from ocw.check.run import run_check
from ocw.cli_options import output_format, repo_path
from ocw.console import Progress, emit
from ocw.errors import EXIT_FAILED, EXIT_OK


def handle(args: argparse.Namespace) -> int:
    report = run_check(
        repo_path(args),
        args.vars,
        args.schemas,
        args.only,
        kubernetes_version=args.kubernetes_version,
        host_description=args.host,
        cluster=args.cluster,
        path=args.path,
        progress=Progress("check"),
    )
    fmt = output_format(args)
    emit(json.loads(report.to_json()) if fmt != "text" else None, report.to_text(), fmt)
    return EXIT_OK if report.ok else EXIT_FAILED
