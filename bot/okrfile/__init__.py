"""The OKR file: an organisation's teams, people, OKRs and rhythms as YAML (and key results as
CSV), loaded with every problem located by file, line and field. See docs/okr-file-format.md."""

from bot.okrfile.csvimport import load_key_results_csv, parse_key_results_csv
from bot.okrfile.dump import dump_organisation
from bot.okrfile.loader import load_organisation, parse_organisation
from bot.okrfile.problems import OkrFileError, Problem

__all__ = [
    "OkrFileError",
    "Problem",
    "dump_organisation",
    "load_key_results_csv",
    "load_organisation",
    "parse_key_results_csv",
    "parse_organisation",
]
