"""The JSON report: the `AuditReport` model as data, plus the JSON Schema it follows.

Model fields keep their declaration order (`format` first, then the metadata, `summary`,
`findings`). Free-form values (a finding's expected / actual, evidence values) have their
keys sorted, and the summary's counts follow the `Status` and `Severity` order, so two runs
over the same state give byte-identical files that diff cleanly.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from auditor.checks.base import Severity, Status
from auditor.render.base import Renderer, register
from auditor.report import REPORT_FORMAT, AuditReport

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_FIX_ORDER = ("portal", "graph", "powershell")


@register
class JsonRenderer(Renderer):
    name = "json"
    extension = "json"
    media_type = "application/json"

    def render(self, report: AuditReport) -> bytes:
        import orjson  # the same bytes as json.dumps(indent=2, ensure_ascii=False) + newline, ten times as fast

        options = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
        return orjson.dumps(report_data(report), option=options)


def report_data(report: AuditReport) -> dict[str, Any]:
    """`report` as JSON-ready data in a stable order."""
    data = report.model_dump(mode="json")
    summary = data["summary"]
    summary["by_status"] = _ordered(summary["by_status"], [s.value for s in Status])
    summary["failed_by_severity"] = _ordered(
        summary["failed_by_severity"], [s.value for s in sorted(Severity, key=lambda s: -s.rank)]
    )
    for finding in data["findings"]:
        finding["expected"] = _sorted_keys(finding["expected"])
        finding["actual"] = _sorted_keys(finding["actual"])
        finding["fix"] = _ordered(finding["fix"], list(_FIX_ORDER))
        for evidence in finding["evidence"]:
            evidence["value"] = _sorted_keys(evidence["value"])
    return data


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the JSON report, generated from `AuditReport`.

    Every property is required, defaults included, because the renderer always writes every
    field (`null` when empty): a consumer can rely on `expected`, `actual` and the rest being there.
    """
    schema = AuditReport.model_json_schema(mode="serialization", schema_generator=_EveryFieldWritten)
    schema["properties"]["format"]["const"] = REPORT_FORMAT
    return {"$schema": JSON_SCHEMA_DIALECT, **schema, "title": "sspr-auditor report"}


class _EveryFieldWritten(GenerateJsonSchema):
    def field_is_required(self, field: Any, total: bool) -> bool:
        return True


def _ordered(mapping: dict[str, Any], order: list[str]) -> dict[str, Any]:
    """`mapping` with the keys named in `order` first, in that order, then the rest sorted."""
    rank = {key: index for index, key in enumerate(order)}
    return {key: mapping[key] for key in sorted(mapping, key=lambda k: (rank.get(k, len(rank)), k))}


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value
