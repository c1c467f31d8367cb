"""The methods solver: the fewest setting changes that make SSPR offer each method exactly as the policy asks.

It follows the `sspr.methods` check's model (`auditor.derive.sspr_methods`): the target migration state decides
whether the legacy SSPR toggles, the methods policy, or both govern a method. Pure; the `sspr.methods` fixer
turns its answer into changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor.derive.sspr_methods import AUTHENTICATOR, METHOD_CONFIGS, offers
from auditor.portal_fields import METHOD_ALLOWED
from auditor.snapshot.models import MethodsPolicyState, SsprPolicyState

PRE, IN_PROGRESS, COMPLETE = "preMigration", "migrationInProgress", "migrationComplete"
QUESTIONS = "security_questions"


@dataclass
class MethodSolution:
    """Legacy toggles and method configurations to change so SSPR offers each method as asked."""

    legacy: dict[str, tuple[bool | None, bool]] = field(default_factory=dict)
    configs: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    unresolved: dict[str, str] = field(default_factory=dict)


def offered(method: str, state: str, legacy: dict[str, bool | None], configs: dict[str, dict[str, Any]]) -> bool:
    """Whether SSPR offers `method` (the rule of `sspr.methods`), given legacy toggles and configurations."""
    uses_legacy = state != COMPLETE or method == QUESTIONS
    uses_policy = state != PRE and method != QUESTIONS
    on = False
    if uses_policy:
        for config_id in METHOD_CONFIGS[method]:
            config = configs.get(config_id)
            if config is not None and offers(method, config_id, config.get("state"),
                                             config.get("is_office_phone_allowed"),
                                             config.get("is_software_oath_enabled")):
                on = True
    if uses_legacy:
        on = on or bool(legacy.get(method))
    return on


def solve_methods(wanted: dict[str, bool], state: str, legacy: SsprPolicyState | None,
                  methods_policy: MethodsPolicyState) -> MethodSolution:
    """The fewest setting changes that make SSPR offer each method exactly as `wanted` in `state`."""
    solution = MethodSolution()
    if state not in (PRE, IN_PROGRESS, COMPLETE):
        solution.unresolved = {m: f"unrecognised migration state {state!r}" for m in wanted}
        return solution
    old_legacy = {m: (getattr(legacy, m) if legacy is not None else None) for m in wanted}
    new_legacy = dict(old_legacy)
    disallowed = set(legacy.not_allowed) if legacy is not None else set()

    def usable(toggles: dict[str, Any]) -> dict[str, Any]:
        """The toggles as SSPR sees them: a method the portal does not allow is off whatever its toggle."""
        return {m: (v and m not in disallowed) for m, v in toggles.items()}
    old_configs = {c.id: {"state": c.state, "is_office_phone_allowed": c.is_office_phone_allowed,
                          **({"is_software_oath_enabled": c.is_software_oath_enabled}
                             if c.id.lower() == AUTHENTICATOR else {})}
                   for c in methods_policy.configurations}
    configs = {k: dict(v) for k, v in old_configs.items()}
    uses_policy = state != PRE
    uses_legacy = state != COMPLETE

    def config_set(config_id: str, name: str, value: Any) -> None:
        if config_id in configs:
            configs[config_id][name] = value

    if uses_policy:
        if not wanted["mobile_app_notification"]:
            config_set("MicrosoftAuthenticator", "state", "disabled")
        if not wanted["mobile_app_code"]:
            # the app's code is its own switch (isSoftwareOathEnabled): notifications can stay
            if configs.get("MicrosoftAuthenticator", {}).get("state") == "enabled":
                config_set("MicrosoftAuthenticator", "is_software_oath_enabled", False)
            config_set("SoftwareOath", "state", "disabled")
        if not wanted["email"]:
            config_set("Email", "state", "disabled")
        if not wanted["mobile_phone"]:
            config_set("Sms", "state", "disabled")
            config_set("Voice", "state", "disabled")
        if not wanted["office_phone"] and configs.get("Voice", {}).get("state") == "enabled":
            config_set("Voice", "is_office_phone_allowed", False)
    for method, on in wanted.items():
        if not on and (uses_legacy or method == QUESTIONS) and new_legacy[method]:
            new_legacy[method] = False
    for method, on in wanted.items():
        if not on or offered(method, state, usable(new_legacy), configs):
            continue
        if (uses_legacy or method == QUESTIONS) and legacy is not None:
            new_legacy[method] = True
            continue
        if not uses_policy or method == QUESTIONS:
            continue
        for config_id in _ENABLE[method] if wanted["mobile_app_notification"] else _ENABLE_WITHOUT_APP[method]:
            config_set(config_id, "state", "enabled")
            if method == "office_phone":
                config_set(config_id, "is_office_phone_allowed", True)
            if method == "mobile_app_code" and config_id == "MicrosoftAuthenticator":
                config_set(config_id, "is_software_oath_enabled", True)
    for method, on in wanted.items():
        legacy_governs = uses_legacy or method == QUESTIONS
        policy_offers = offered(method, COMPLETE, {}, configs) if method != QUESTIONS else False
        if legacy is None and legacy_governs and not (on and policy_offers):
            solution.unresolved[method] = ("the legacy SSPR policy (portal API) was not read, so its method "
                                           "toggles cannot be planned: collect with --portal")
        elif offered(method, state, usable(new_legacy), configs) != on and method in disallowed and on:
            solution.unresolved[method] = (
                f"the portal reports {METHOD_ALLOWED[method]} = false: the tenant may not offer {method} through the "
                "legacy SSPR policy, and no writer changes what it allows")
        elif offered(method, state, usable(new_legacy), configs) != on:
            missing = [c for c in METHOD_CONFIGS[method] if c not in configs]
            solution.unresolved[method] = (
                f"no setting makes {method} {'offered' if on else 'not offered'} without breaking another method "
                f"the policy asks for (configurations involved: {', '.join(METHOD_CONFIGS[method]) or 'none'}"
                + (f"; missing: {', '.join(missing)}" if missing else "") + ")")
    solution.legacy = {m: (old_legacy[m], bool(new_legacy[m])) for m in wanted
                       if new_legacy[m] != old_legacy[m] and m not in solution.unresolved}
    for config_id, values in configs.items():
        changed = {name: (old_configs[config_id][name], value) for name, value in values.items()
                   if value != old_configs[config_id][name]}
        if changed:
            solution.configs[config_id] = changed
    return solution


# the configurations to enable so the methods policy offers a method (the app code comes from
# Microsoft Authenticator when app notifications are wanted too, else from a software OATH app)
_ENABLE: dict[str, tuple[str, ...]] = {
    "mobile_app_notification": ("MicrosoftAuthenticator",), "mobile_app_code": ("MicrosoftAuthenticator",),
    "email": ("Email",), "mobile_phone": ("Sms",), "office_phone": ("Voice",),
}
_ENABLE_WITHOUT_APP = {**_ENABLE, "mobile_app_code": ("SoftwareOath",)}


