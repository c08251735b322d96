"""`ocw check`: validate the GitOps tree offline, the way Flux, the API server and the controllers would see it."""

from ocw.check.report import CheckReport
from ocw.check.run import run_check

__all__ = ["CheckReport", "run_check"]
