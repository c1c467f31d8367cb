"""The policy's JSON Schema, for editors (yaml-language-server) and CI."""

from __future__ import annotations

import json
from typing import Any

from auditor.policy.models import Policy

SCHEMA_ID = "https://sspr-auditor.invalid/policy.schema.json"


def policy_schema() -> dict[str, Any]:
    schema = Policy.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def policy_schema_json() -> str:
    return json.dumps(policy_schema(), indent=2, sort_keys=False) + "\n"
