"""Report renderers: a registry of formats, each one small class in its own module.

Importing this package registers every built-in format; a new format is a `Renderer`
subclass decorated with `@register` in a module imported below.
"""

from auditor.render import csv_report, html, json_report, junit, markdown, sarif
from auditor.render.base import RENDERERS, Renderer, get_renderer, register, write_atomically, write_reports
from auditor.render.json_report import report_json_schema

__all__ = [
    "RENDERERS",
    "Renderer",
    "csv_report",
    "get_renderer",
    "html",
    "json_report",
    "junit",
    "markdown",
    "register",
    "report_json_schema",
    "sarif",
    "write_atomically",
    "write_reports",
]
