"""Issue 28 item 6: the fleet workflow's SARIF step, run as written, against a loopback server that answers the
two code-scanning REST endpoints it calls (POST /repos/{owner}/{repo}/code-scanning/sarifs and GET …/{id}) and
refuses what GitHub documents it refuses: more than 20 runs, a tool and category twice, over the limits.
Every file of a 21-tenant fleet is posted once, decoded from gzip + base64, and holds every tenant's run once."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from auditor.render.fleet import build_fleet_report, write_fleet_reports
from auditor.render.fleet_sarif import problems
from tests.integration.test_fleet_workflow import run_step, workflow
from tests.unit.test_fleet_sarif import tenant_results


class CodeScanning(BaseHTTPRequestHandler):
    uploads: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        assert self.path == "/repos/owner/repo/code-scanning/sarifs"
        assert self.headers["Authorization"] == "Bearer token"
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        raw = gzip.decompress(base64.b64decode(body["sarif"]))
        log = json.loads(raw)
        self.uploads.append({"body": body, "log": log, "errors": problems(log, raw)})
        self._answer(202, {"id": str(len(self.uploads))})

    def do_GET(self) -> None:
        upload = self.uploads[int(self.path.rsplit("/", 1)[1]) - 1]
        errors = upload["errors"]
        self._answer(200, {"processing_status": "failed" if errors else "complete", "errors": errors or None})


def test_the_upload_step_posts_each_file_once_within_the_limits(tmp_path: Path) -> None:
    results = tenant_results(21)
    out = tmp_path / "fleet-report"
    write_fleet_reports(build_fleet_report(results, out), results, out)
    upload = next(s for s in workflow()["jobs"]["merge"]["steps"] if "code-scanning/sarifs" in s.get("run", ""))
    assert upload["if"] == "always() && hashFiles('fleet-report/sspr-fleet.*.sarif') != ''"
    server = ThreadingHTTPServer(("127.0.0.1", 0), CodeScanning)
    CodeScanning.uploads = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {"GH_TOKEN": "token", "GITHUB_API_URL": f"http://127.0.0.1:{server.server_port}",
               "GITHUB_REPOSITORY": "owner/repo", "GITHUB_SHA": "a" * 40, "GITHUB_REF": "refs/heads/main",
               "RUNNER_TEMP": str(tmp_path)}
        code, _ = run_step(upload["run"], tmp_path, env)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0
    files = sorted(out.glob("sspr-fleet.*.sarif"))
    assert len(CodeScanning.uploads) == len(files) == 1 + (len([r for r in results if r.report]) > 20)
    for sent, path in zip(CodeScanning.uploads, files, strict=True):
        assert sent["errors"] == [] and sent["log"] == json.loads(path.read_text())
        assert sent["body"]["commit_sha"] == "a" * 40 and sent["body"]["ref"] == "refs/heads/main"
    tenants = [run["properties"]["tenant"] for sent in CodeScanning.uploads for run in sent["log"]["runs"]]
    assert tenants == [r.name for r in results if r.report is not None]


def test_the_upload_step_fails_when_github_refuses_a_file(tmp_path: Path) -> None:
    results = tenant_results(3)
    out = tmp_path / "fleet-report"
    write_fleet_reports(build_fleet_report(results, out), results, out)
    refused = out / "sspr-fleet.001.sarif"
    log = json.loads(refused.read_text())
    log["runs"] = log["runs"] * 21  # what the single file used to be past 20 tenants
    refused.write_text(json.dumps(log))
    upload = next(s for s in workflow()["jobs"]["merge"]["steps"] if "code-scanning/sarifs" in s.get("run", ""))
    server = ThreadingHTTPServer(("127.0.0.1", 0), CodeScanning)
    CodeScanning.uploads = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {"GH_TOKEN": "token", "GITHUB_API_URL": f"http://127.0.0.1:{server.server_port}",
               "GITHUB_REPOSITORY": "owner/repo", "GITHUB_SHA": "b" * 40, "GITHUB_REF": "refs/heads/main",
               "RUNNER_TEMP": str(tmp_path)}
        code, _ = run_step(upload["run"], tmp_path, env)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 1 and any("runs > 20" in e for e in CodeScanning.uploads[0]["errors"])
