"""The fleet's SARIF, split into files that GitHub code scanning accepts: one run per tenant, ≤ 20 runs a file.

GitHub's published limits (https://docs.github.com/en/code-security/reference/code-scanning/sarif-files/
troubleshoot-sarif-uploads/results-exceed-limit, the table in "SARIF support for code scanning", "Validating
your SARIF file"): runs per file 20; results per run 25,000 (only the top 5,000 are stored, by severity); rules
per run 25,000; tool extensions per run 100; thread-flow locations per result 10,000; locations per result
1,000; tags per rule 20. A file may be at most 10 MB gzipped
(https://docs.github.com/en/code-security/reference/code-scanning/sarif-files/troubleshoot-sarif-uploads/
file-too-large). The rule's `fullDescription.text` is limited to 1,000 characters (the `reportingDescriptor`
table of "SARIF support for code scanning").

Split, not fold:

* Since June/July 2025 code scanning refuses a file whose runs share a tool and category
  (https://github.blog/changelog/2024-05-06-code-scanning-will-stop-combining-runs-from-a-single-upload/;
  codeql-action's error names https://github.blog/changelog/2025-07-21-code-scanning-will-stop-combining-
  multiple-sarif-runs-uploaded-in-the-same-sarif-file/). Folding tenants into fewer runs therefore means
  fewer categories, each holding many tenants: a tenant that could not be audited this time would be absent
  from its shared run, and code scanning would close its alerts as fixed; adding a tenant would move others
  between runs. One run per tenant, its category `sspr-audit/<tenant>/` as before, keeps every alert's
  identity (category + rule + `partialFingerprints`), and a tenant without a report leaves its last analysis
  untouched.
* `github/codeql-action/upload-sarif` given a directory combines every file in it into one upload
  (`combineSarifFiles` in src/sarif/index.ts, called by `postProcessSarifFiles` in src/upload-lib.ts), so
  the 20-runs cap applies to the directory as a whole. Each file written here is therefore one upload of
  its own (the fleet workflow posts each to the REST endpoint
  https://docs.github.com/en/rest/code-scanning/code-scanning#upload-an-analysis-as-sarif-data).

Files are `sspr-fleet.001.sarif`, `sspr-fleet.002.sarif`, … in fleet order, each ≤ `MAX_RUNS_PER_FILE` runs
and ≤ `MAX_GZIP_BYTES` gzipped. The size limit's unit (10^6 or 2^20) and whether it counts the gzip or its
base64 (the REST body) are not stated, so a file is packed so that even the base64 of its gzip is within
10,000,000 bytes. A tenant's run keeps at most `MAX_RESULTS_PER_RUN` results (the 5,000 GitHub stores), the
most severe first, and shrinks further if it alone would not fit in a file; what is left out is counted in a
`toolExecutionNotification` of the run and in the fleet report, never dropped silently.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_RUNS_PER_FILE = 20
MAX_RESULTS_PER_RUN = 5_000  # GitHub rejects above 25,000 and stores only the top 5,000
HARD_RESULTS_PER_RUN = 25_000
MAX_RULES_PER_RUN = 25_000
MAX_TOOL_EXTENSIONS_PER_RUN = 100
MAX_LOCATIONS_PER_RESULT = 1_000
MAX_THREAD_FLOW_LOCATIONS_PER_RESULT = 10_000
MAX_TAGS_PER_RULE = 20
MAX_FULL_DESCRIPTION = 1_000
GITHUB_MAX_BYTES = 10_000_000  # "10 MB", read as the smaller of 10^7 and 10 MiB
MAX_GZIP_BYTES = GITHUB_MAX_BYTES * 3 // 4  # base64 of the gzip within 10 MB too
LEFT_OUT_ID = "sspr-audit/results-left-out"
PART_PATTERN = re.compile(r"^sspr-fleet\.\d{3,}\.sarif$")


@dataclass
class TenantRun:
    """One tenant's run as it goes into a file: the run, how many results it had, how many were left out."""

    tenant: str
    run: dict[str, Any]
    results: int
    left_out: int = 0


@dataclass
class SarifPart:
    name: str
    runs: list[TenantRun] = field(default_factory=list)
    data: bytes = b""
    gzip_bytes: int = 0


CATEGORY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", re.ASCII)


def category(tenant: str) -> str:
    """The code-scanning category (`automationDetails.id`) of a tenant's run: the same since the first fleet run.

    A tenant's name is shaped where it enters (the inventory, `fleet merge`'s NAME): letters, digits, `.`, `_`,
    `-`. A name of any other shape (a control or bidi character, a `/`) is a bug here, never written to a file."""
    if not CATEGORY_NAME.fullmatch(tenant):
        raise ValueError(f"tenant name {tenant[:64]!a} is not shaped for a code-scanning category")
    return f"sspr-audit/{tenant}/"


def dump(log: dict[str, Any]) -> bytes:
    return (json.dumps(log, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def _log(runs: list[dict[str, Any]]) -> dict[str, Any]:
    from auditor.render.sarif import SARIF_SCHEMA, SARIF_VERSION

    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": runs}


def _priority(result: dict[str, Any], rules: list[dict[str, Any]]) -> tuple[int, float, int]:
    """Lower sorts first: the findings by severity (the finding's, else its rule's), at one severity a failure
    before an unknown before a waived one; the report sections last."""
    from auditor.checks.base import Severity
    from auditor.render.sarif import SECURITY_SEVERITY

    named = result.get("properties", {}).get("severity")
    score = (SECURITY_SEVERITY[Severity(named)] if named in Severity.__members__ else
             rules[result["ruleIndex"]].get("properties", {}).get("security-severity", "0"))
    severity = float(score)
    kind = result.get("kind")
    if kind == "fail" and not result.get("suppressions"):
        return 0, -severity, 0
    if kind == "open":
        return 0, -severity, 1
    if kind == "fail":
        return 0, -severity, 2
    return 1, 0.0, 0


def keep_results(run: dict[str, Any], limit: int) -> int:
    """Keep at most `limit` results of `run` (the most severe; their order as before) and say what went.

    Returns how many were left out."""
    results: list[dict[str, Any]] = run["results"]
    if len(results) <= limit:
        return 0
    rules = run["tool"]["driver"]["rules"]
    ranked = sorted(range(len(results)), key=lambda i: _priority(results[i], rules))
    kept = set(ranked[:limit])
    gone = [results[i] for i in ranked[limit:]]
    run["results"] = [r for i, r in enumerate(results) if i in kept]
    by_status = Counter(r.get("properties", {}).get("status", r.get("kind", "result")) for r in gone)
    by_rule = Counter(r["ruleId"] for r in gone)
    text = (f"{len(gone)} of {len(results)} results left out of this run to stay within GitHub code scanning's "
            f"limits ({limit} kept, the most severe first): "
            + ", ".join(f"{count} {status}" for status, count in sorted(by_status.items()))
            + ". The tenant's own report (sspr-audit.json, sspr-audit.html) has every finding.")
    notification = {"level": "warning", "message": {"text": text}, "descriptor": {"id": LEFT_OUT_ID},
                    "properties": {"leftOut": len(gone), "byRule": dict(sorted(by_rule.items()))}}
    invocation = run["invocations"][0]
    invocation.setdefault("toolExecutionNotifications", []).append(notification)
    return len(gone)


def tenant_run(tenant: str, report: Any, base_dir: Path) -> TenantRun:
    """The tenant's own SARIF run, named by its category, within the results and size limits of one file."""
    import copy

    from auditor.render.sarif import sarif_log

    original = sarif_log(report, base_dir=base_dir)["runs"][0]
    original["automationDetails"] = {"id": category(tenant)}
    original.setdefault("properties", {})["tenant"] = tenant
    total = len(original["results"])
    limit = MAX_RESULTS_PER_RUN
    while True:
        run = copy.deepcopy(original) if limit < total else original
        left_out = keep_results(run, limit)
        if limit == 0 or gzip_size(dump(_log([run]))) <= MAX_GZIP_BYTES:
            return TenantRun(tenant=tenant, run=run, results=total, left_out=left_out)
        limit = min(limit, len(run["results"])) // 2  # one tenant alone over the size cap: keep half as many


def pack(runs: list[TenantRun]) -> list[SarifPart]:
    """The runs in fleet order, in files of at most 20 runs and `MAX_GZIP_BYTES` gzipped each."""
    sizes = [gzip_size(dump(_log([r.run]))) for r in runs]
    groups: list[list[int]] = []
    current: list[int] = []
    budget = 0
    for index, size in enumerate(sizes):
        if current and (len(current) == MAX_RUNS_PER_FILE or budget + size > MAX_GZIP_BYTES):
            groups.append(current)
            current, budget = [], 0
        current.append(index)
        budget += size
    if current:
        groups.append(current)
    parts: list[SarifPart] = []
    pending = groups[::-1]
    while pending:
        group = pending.pop()
        data = dump(_log([runs[i].run for i in group]))
        packed = gzip_size(data)
        if packed > MAX_GZIP_BYTES and len(group) > 1:  # the estimate was short: split the file in two
            half = len(group) // 2
            pending += [group[half:], group[:half]]
            continue
        parts.append(SarifPart(name="", runs=[runs[i] for i in group], data=data, gzip_bytes=packed))
    width = max(3, len(str(len(parts))))
    for number, part in enumerate(parts, start=1):
        part.name = f"sspr-fleet.{number:0{width}d}.sarif"
    return parts


def problems(log: dict[str, Any], data: bytes | None = None) -> list[str]:
    """Every GitHub code-scanning limit `log` breaks (empty when GitHub accepts it)."""
    found = []
    runs = log.get("runs", [])
    if len(runs) > MAX_RUNS_PER_FILE:
        found.append(f"{len(runs)} runs > {MAX_RUNS_PER_FILE}")
    seen: set[tuple[str, str]] = set()
    for number, run in enumerate(runs):
        where = f"run {number}"
        key = (run["tool"]["driver"]["name"], (run.get("automationDetails") or {}).get("id", ""))
        if key in seen:
            found.append(f"{where}: tool and category {key} again")
        seen.add(key)
        results, rules = run.get("results", []), run["tool"]["driver"].get("rules", [])
        if len(results) > MAX_RESULTS_PER_RUN:
            found.append(f"{where}: {len(results)} results > {MAX_RESULTS_PER_RUN}")
        if len(rules) > MAX_RULES_PER_RUN:
            found.append(f"{where}: {len(rules)} rules > {MAX_RULES_PER_RUN}")
        if len(run["tool"].get("extensions", [])) > MAX_TOOL_EXTENSIONS_PER_RUN:
            found.append(f"{where}: more than {MAX_TOOL_EXTENSIONS_PER_RUN} tool extensions")
        for rule in rules:
            tags = rule.get("properties", {}).get("tags", [])
            if len(tags) > MAX_TAGS_PER_RULE:
                found.append(f"{where}: rule {rule['id']} has {len(tags)} tags > {MAX_TAGS_PER_RULE}")
            if len(rule.get("fullDescription", {}).get("text", "")) > MAX_FULL_DESCRIPTION:
                found.append(f"{where}: rule {rule['id']} fullDescription > {MAX_FULL_DESCRIPTION} characters")
        for result in results:
            if not result.get("locations") or len(result["locations"]) > MAX_LOCATIONS_PER_RESULT:
                found.append(f"{where}: result {result['ruleId']} has {len(result.get('locations', []))} locations")
            flows = sum(len(t.get("locations", [])) for f in result.get("codeFlows", []) for t in f["threadFlows"])
            if flows > MAX_THREAD_FLOW_LOCATIONS_PER_RESULT:
                found.append(f"{where}: result {result['ruleId']} has {flows} thread-flow locations")
    if data is not None and gzip_size(data) > MAX_GZIP_BYTES:
        found.append(f"{gzip_size(data)} bytes gzipped > {MAX_GZIP_BYTES}")
    return found


def fleet_sarif_parts(results: list[Any], base_dir: Path) -> list[SarifPart]:
    """The fleet's SARIF files: a run per tenant that has a report, packed within GitHub's limits."""
    runs = [tenant_run(r.name, r.report, base_dir) for r in results if r.report is not None]
    parts = pack(runs)
    for part in parts:
        wrong = problems(_log([r.run for r in part.runs]), part.data)
        if wrong:  # the packing above guarantees none; a file GitHub refuses must never be written
            raise RuntimeError(f"{part.name}: " + "; ".join(wrong))
    return parts


def stale_parts(folder: Path, written: list[str]) -> list[Path]:
    """Fleet SARIF files of an earlier run in `folder` that this run did not write (the old single file too)."""
    return [path for path in sorted(folder.glob("sspr-fleet.*sarif"))
            if path.name not in written and (PART_PATTERN.match(path.name) or path.name == "sspr-fleet.sarif")
            and path.is_file()]
