"""Evaluate routes on your own tasks: suites, runs, pass rates with their uncertainty, cost per passed task.

No Streamlit here. `suite` reads promptfoo-style YAML, `assertions` checks answers, `runner`
calls the targets through the live client, `stats` holds the intervals, `summary` the figures
the page and the CLI share, `storage` the runs kept in the warehouse.
"""

from dashboard.evaluate.runner import EvalResult, EvalRun, TargetSpec, parse_target, run_suite
from dashboard.evaluate.suite import ASSERTION_TYPES, Suite, SuiteError, load_suite
from dashboard.evaluate.summary import TargetSummary, differences, run_json, side_by_side, summarize

__all__ = [
    "ASSERTION_TYPES",
    "EvalResult",
    "EvalRun",
    "Suite",
    "SuiteError",
    "TargetSpec",
    "TargetSummary",
    "differences",
    "load_suite",
    "parse_target",
    "run_json",
    "run_suite",
    "side_by_side",
    "summarize",
]
