"""Stage 2, check: every problem of the spec at once, each a diagnostic with a code and span."""

from engine.check.checks import CHECKS
from engine.check.context import CheckContext
from engine.errors import Collector
from engine.load.project import Project


def check_project(project: Project, collector: Collector) -> CheckContext:
    """Run every check in order; diagnostics land in the collector."""
    ctx = CheckContext(project, collector)
    for check in CHECKS:
        check(ctx)
    return ctx


__all__ = ["CHECKS", "CheckContext", "check_project"]
