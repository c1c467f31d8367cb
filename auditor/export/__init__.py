"""Live state → policy YAML: every value explicit, each commented with where it was read.

`sspr-audit export` writes what the tenant has today as a policy file, so a team can start
policy-as-code from the state they run (and `check` that file against the same state passes).

Rules that keep the file honest:
- Every value is written out, defaults included, with a comment naming its source, e.g.
  `allowed: false  # graph:GET /policies/authorizationPolicy allowedToUseSSPR`.
- Nothing is guessed. A section whose snapshot part could not be read (or was not collected)
  is written as a comment with the reason. A single value missing from a response is a comment
  in its place, so the check for it reports `unknown` rather than passing on a default; when
  the missing value is one the policy format requires, its whole section is commented out.
- Values are written exactly as read, even when they break a rule the policy format enforces
  (e.g. two methods required but one method enabled). The file is then still written, and
  `ExportResult.issues` says which rules fail (with file:line); it is not "fixed" to the
  nearest valid value, because that would silently turn drift into policy.
- Which methods SSPR offers follows the methods-policy migration state exactly as the
  `sspr.methods` check reads it (legacy settings before migration, either while migrating,
  the authentication methods policy after; security questions always from the legacy side).
- Decisions that are not live state (coverage thresholds) are comments to fill in.
- The on-premises `directory` section comes from a domain read without a policy: the synced OUs from
  the synced users' DNs, the sync account from Entra Connect's naming or the DACLs that grant Reset
  Password (`auditor.readers.discovery`), each with its evidence (`auditor.export.onprem`). Drift on
  single objects that no value can express becomes an expiring waiver (`auditor.export.waivers`).
- `password_protection` and `client` come from the Password Rule Settings and the sign-in screen's
  sources (`auditor.export.protection`).
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.derive.sspr_methods import (
    APP_CODE,
    LEGACY_METHOD_FIELDS,
    METHOD_CONFIGS,
    OATH_FLAG,
    carrying_configurations,
    effective_state,
    enabled_in_methods_policy,
    known_state,
    legacy_disallowed,
    legacy_offers,
    reaches_everyone,
    rule_for,
    undetermined,
    uses_legacy,
    uses_methods_policy,
)
from auditor.export.blocks import Block, Leaf, leaf, readable
from auditor.export.seams import authentication_leaves, failed_writebacks_leaf
from auditor.export.waivers import DAYS as WAIVER_DAYS
from auditor.graph_fields import AUTHORIZATION_FIELDS, METHODS_FIELDS
from auditor.portal_fields import METHOD_ALLOWED, ONPREM_FIELDS, POLICY_KEYS, SSPR_FIELDS
from auditor.snapshot.models import MethodsPolicyState, Snapshot, SsprPolicyState
from auditor.text import reveal_hidden

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
NOT_LIVE_STATE = {
    "coverage": "coverage thresholds are decisions, not live state: declare them by hand "
                "(registration_min_percent, require_license)",
}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    text: str
    commented_out: list[str]
    issues: list[str]


def export_policy(snapshot: Snapshot, out: str | Path) -> ExportResult:
    """Write the policy of `snapshot` to `out`, then load it back to report any rule it breaks."""
    from auditor.files import write_atomically
    from auditor.policy.loader import PolicyError, parse_policy

    path = Path(out)
    text, commented_out = export_text(snapshot)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text.encode("utf-8"))
    try:
        parse_policy(text.encode("utf-8"), str(path))
        issues: list[str] = []
    except PolicyError as exc:
        issues = [str(issue) for issue in exc.issues]
    return ExportResult(path=path, text=text, commented_out=commented_out, issues=issues)


def export_text(snapshot: Snapshot, today: date | None = None) -> tuple[str, list[str]]:
    """The policy YAML for `snapshot`, and the top-level sections left as comments (with why)."""
    from ruamel.yaml.comments import CommentedMap

    document = CommentedMap()
    commented_out: list[str] = []
    pending: list[str] = []  # comment lines waiting for the next key written
    for block in policy_blocks(snapshot):
        if isinstance(block, Leaf):
            document[block.key] = block.value
            _source_comments(document, {block.key: block.source}, 0)
            _attach(document, block.key, pending, indent=0)
            continue
        mapping, reason = _mapping(block, indent=2)
        if mapping is None:
            commented_out.append(f"{block.key}: {reason}")
            pending += ["", f"{block.key}:  (not exported) {reason}"]
            continue
        document[block.key] = mapping
        _attach(document, block.key, ["", *([block.comment] if block.comment else [])], indent=0, lines=pending)
    document["waivers"] = []
    _attach(document, "waivers", ["", "Accepted exceptions (check, optional target, reason, owner, ticket, "
                                      "expires): decisions, not live state."], indent=0, lines=pending)
    text = _header(snapshot) + _dump(document)
    waivers = _found_waivers(text, snapshot, today or date.today()) if "directory" in document else []
    if not waivers:
        return text, commented_out
    document["waivers"] = waivers
    _attach(document, "waivers", [  # below the comment the first pass put there
        f"Found at export: {len(waivers)} object(s) no policy value can cover (their own DACL keeps the rights "
        "out, or delegation drift no value accepts: tier-0 reach, control of the sync account, RestrictRemoteSAM). "
        f"Each expires in {WAIVER_DAYS} days with no owner: fix the object, or give the waiver an owner and a ticket.",
    ], indent=0)
    return _header(snapshot) + _dump(document), commented_out


def _dump(document: Any) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.Representer = _null_representer()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()


@functools.cache
def _null_representer() -> type:
    """ruamel's round-trip representer writing `null`, not an empty value, so "explicitly none" reads as such.
    A subclass: `add_representer` on ruamel's own class would change every later dump in the process
    (`validate --show` printed `null` after an export had run)."""
    from ruamel.yaml.representer import RoundTripRepresenter

    class NullRepresenter(RoundTripRepresenter):
        pass

    NullRepresenter.add_representer(
        type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null", "null"))
    return NullRepresenter


def _found_waivers(text: str, snapshot: Snapshot, today: date) -> list[Any]:
    """The exported policy, loaded back, judged on the snapshot: its per-object drift as waivers (see
    `auditor.export.waivers`); none when the file does not load (its issues are reported instead)."""
    from ruamel.yaml.comments import CommentedMap

    from auditor.export.waivers import residual_waivers
    from auditor.policy.loader import PolicyError, parse_policy

    try:
        policy = parse_policy(text.encode("utf-8"), "exported policy")
    except PolicyError:
        return []
    return [CommentedMap({**w, "reason": _comment(w["reason"])}) for w in residual_waivers(policy, snapshot, today)]


def _attach(mapping: Any, key: str, extra: list[str], indent: int, lines: list[str] | None = None) -> None:
    """Put the waiting comment lines (`lines`, then `extra`) before `key`, and clear `lines`."""
    before = [_comment(line) for line in (*(lines or []), *extra)]  # tenant data never starts a YAML line
    if lines is not None:
        lines.clear()
    if before:
        mapping.yaml_set_comment_before_after_key(key, before="\n".join(before), indent=indent)


def _source_comments(mapping: Any, sources: dict[str, str], indent: int) -> None:
    """An end-of-line comment naming the source of each value, aligned within the mapping."""
    if not sources:
        return
    width = max(len(f"{key}:") if isinstance(mapping[key], list) else len(f"{key}: {_scalar_text(mapping[key])}")
                for key in sources)
    for key, source in sources.items():
        mapping.yaml_add_eol_comment(_comment(source), key, column=indent + width + 2)


def _comment(text: str) -> str:
    """Comment text on one line, hidden characters shown: tenant and domain data never start a YAML line.

    Every character a YAML reader may take for a line break is shown as `[U+XXXX]`: LF and CR, and NEL, LS and
    PS, which YAML 1.1 broke lines at (1.2 dropped them: https://yaml.org/spec/1.2.2/#54-line-break-characters)
    and ruamel.yaml's reader still does;
    reveal_hidden already shows CR, NEL and the other controls."""
    return re.sub("[\n\u2028\u2029]", lambda m: f"[U+{ord(m.group()):04X}]", reveal_hidden(text).replace("\t", " "))


def _scalar_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _mapping(block: Block, indent: int) -> tuple[Any, str | None]:
    """(CommentedMap, None), or (None, why) when the block cannot be written."""
    from ruamel.yaml.comments import CommentedMap

    if block.unreadable:
        return None, block.unreadable
    mapping = CommentedMap()
    missing: list[str] = []
    sources: dict[str, str] = {}
    for child in block.children:
        if isinstance(child, Leaf):
            if child.absent is not None:
                if child.required:
                    return None, f"`{child.key}` {child.absent}"
                missing.append(f"{child.key}:  (not exported) {child.absent}")
                continue
            mapping[child.key] = child.value
            sources[child.key] = child.source
            if child.before:
                mapping.yaml_set_comment_before_after_key(child.key, before="\n".join(map(_comment, child.before)),
                                                          indent=indent)
            continue
        sub, reason = _mapping(child, indent + 2)
        if sub is None:
            if child.required:
                return None, f"`{child.key}`: {reason}"
            missing.append(f"{child.key}:  (not exported) {reason}")
            continue
        mapping[child.key] = sub
        if child.comment:
            mapping.yaml_set_comment_before_after_key(child.key, before=_comment(child.comment), indent=indent)
    if not mapping:
        return None, "; ".join(missing) or "nothing could be read"
    _source_comments(mapping, sources, indent)
    if missing:
        first = next(iter(mapping))
        _attach(mapping, first, [], indent=indent, lines=missing)
    return mapping, None


def _header(snapshot: Snapshot) -> str:
    return (
        f"# Exported by sspr-audit {__version__} from {_comment(snapshot.origin)} "
        f"(snapshot of {snapshot.created_at.isoformat()}).\n"
        "# Every value is the live value as read, with its source. This is today's state, drift included:\n"
        "# review each value before adopting this file as your policy.\n"
    )


# ---- what goes in the file ---------------------------------------------------------------------


def policy_blocks(snapshot: Snapshot) -> list[Leaf | Block]:
    from auditor.export.onprem import directory_block
    from auditor.export.protection import client_block, password_protection_block
    from auditor.policy.models import Policy

    # `extends` and `sources` say how a policy file is read, not what a tenant holds
    handled = {"version", "tenant", "sspr", "admin_sspr", "methods_policy", "writeback", "waivers", "sources",
               "extends", "directory", "password_protection", "client"}
    blocks: list[Leaf | Block] = [
        Leaf("version", 1, "policy file format version"),
        _tenant(snapshot),
        _sspr(snapshot),
        _admin_sspr(snapshot),
        _methods_policy(snapshot),
        _writeback(snapshot),
        directory_block(snapshot),
        password_protection_block(snapshot),
        client_block(snapshot),
    ]
    for name in Policy.model_fields:
        if name not in handled:
            blocks.append(Block(name, unreadable=NOT_LIVE_STATE.get(name, "not exported by this version")))
    return blocks


def _tenant(snapshot: Snapshot) -> Block:
    origin = snapshot.origin
    tenant_id = origin.split(":", 1)[1] if origin.startswith("live:") else None
    children: list[Leaf | Block] = [Leaf("name", origin, "snapshot origin (a label for reports)")]
    if tenant_id and GUID.match(tenant_id):
        children.append(Leaf("tenant_id", tenant_id, "snapshot origin"))
    else:
        children.append(Leaf("tenant_id", None, "not in the snapshot: the directory (tenant) id, if you want it"))
    return Block("tenant", children)


def _custom_questions(live: SsprPolicyState, source: str) -> Leaf:
    """`sspr.custom_security_questions`: true when a chosen question is custom, as sspr.custom_security_questions
    judges it (a policy that says false would fail on this tenant)."""
    if live.chosen_questions is None:
        return Leaf("custom_security_questions", absent=f"{source} {live.chosen_questions_problem}")
    custom = sum(1 for q in live.chosen_questions if q.custom)
    return Leaf("custom_security_questions", custom > 0,
                f"{source} securityQuestions: {custom} custom of {len(live.chosen_questions)} (isCustom)")


def _sspr(snapshot: Snapshot) -> Block:
    live, source, why = readable(snapshot, "sspr_policy")
    if why:
        return Block("sspr", unreadable=why)
    assert isinstance(live, SsprPolicyState)
    def portal(key: str, name: str, required: bool = False) -> Leaf:
        return leaf(key, getattr(live, name), source, SSPR_FIELDS[name], required=required)

    def setting(key: str) -> Leaf:  # a policy key that maps one to one: its leaf and field from POLICY_KEYS
        return portal(key.rsplit(".", 1)[1], POLICY_KEYS[key])

    children: list[Leaf | Block] = [portal("scope", "enablement", required=True)]
    if live.enablement == "selected":
        children.append(_group(live, source))
    children.append(setting("sspr.methods_required"))
    children.append(_methods(snapshot, live, source, required=live.enablement != "none"))
    if live.questions_to_register is not None and live.questions_to_reset is not None:
        children.append(Block("security_questions", [
            setting("sspr.security_questions.number_to_register"),
            setting("sspr.security_questions.number_to_reset")]))
    children.append(_custom_questions(live, source))
    registration: list[Leaf | Block] = [setting("sspr.registration.require_on_sign_in"),
                                        setting("sspr.registration.reconfirm_days")]
    if live.skip_registration_allowed is False:
        registration.append(Leaf("max_skip_days", 0, f"{source} {SSPR_FIELDS['skip_registration_allowed']} = false"))
    elif live.skip_registration_allowed is True:
        registration.append(portal("max_skip_days", "skip_registration_max_days"))
    from auditor.export.conditional_access import conditional_access_block

    registration.append(conditional_access_block(snapshot))
    children += [
        Block("registration", registration),
        Block("notifications", [setting("sspr.notifications.notify_users"),
                                setting("sspr.notifications.notify_admins")]),
        Block("helpdesk", [
            setting("sspr.helpdesk.customize"),
            Leaf("email_or_url", live.helpdesk_email_or_url or None,
                 f"{source} {SSPR_FIELDS['helpdesk_email_or_url']}"),
        ]),
    ]
    return Block("sspr", children)


def _group(live: SsprPolicyState, source: str) -> Block:
    children: list[Leaf | Block] = []
    if live.group_ids:
        note = f" (first of {len(live.group_ids)}; SSPR takes one group)" if len(live.group_ids) > 1 else ""
        children.append(Leaf("id", live.group_ids[0], f"{source} {SSPR_FIELDS['group_ids']}{note}"))
    if live.group_name:
        children.append(Leaf("name", live.group_name, f"{source} {SSPR_FIELDS['group_name']}"))
    if not children:
        return Block("group", unreadable=f"{source} names no group although SSPR is enabled for a selected group")
    return Block("group", children)


def _methods(snapshot: Snapshot, legacy: SsprPolicyState, legacy_source: str, required: bool) -> Block:
    policy, policy_source, why = readable(snapshot, "methods_policy")
    if why:
        return Block("methods", unreadable=f"which methods SSPR offers depends on the migration state: {why}",
                     required=required)
    assert isinstance(policy, MethodsPolicyState)
    state = policy.migration_state
    if not known_state(state):
        return Block("methods", required=required,
                     unreadable=f"unrecognised policyMigrationState {state!r}: cannot tell which policy governs")
    children: list[Leaf | Block] = []
    for method in LEGACY_METHOD_FIELDS:
        children.append(_method(method, state, legacy, legacy_source, policy, policy_source))
    return Block("methods", children, required=required)


def _method(method: str, state: str | None, legacy: SsprPolicyState, legacy_source: str,
            policy: MethodsPolicyState, policy_source: str) -> Leaf:
    offered = False
    sources = []
    if uses_methods_policy(method, state):
        offered = offered or enabled_in_methods_policy(method, policy)
        targeted = [c.id for c in carrying_configurations(method, policy) if not reaches_everyone(c, method)]
        sources.append(f"{policy_source} {'/'.join(METHOD_CONFIGS[method])}.state"
                       + (f" and MicrosoftAuthenticator.{OATH_FLAG}" if method == APP_CODE else "")
                       + (f" (targeted, not all users: {', '.join(targeted)}; sspr.methods judges whom it "
                          "reaches)" if targeted else ""))
    if uses_legacy(method, state):
        raw = getattr(legacy, method)
        offered = offered or legacy_offers(method, legacy)
        absent = " (absent: off)" if raw is None else (
            f" ({METHOD_ALLOWED[method]} is false: not offered)" if legacy_disallowed(method, legacy) else "")
        sources.append(f"{legacy_source} {LEGACY_METHOD_FIELDS[method]}{absent}")
    rule = rule_for(method, state)
    why = undetermined(method, policy) if uses_methods_policy(method, state) else None
    if why is not None and not offered:  # an absent flag is not false: the export does not guess
        return Leaf(method, None, f"{' + '.join(sources)} ({state or 'null'}: {rule})", absent=why)
    return Leaf(method, offered, f"{' + '.join(sources)} ({state or 'null'}: {rule})")


def _admin_sspr(snapshot: Snapshot) -> Block:
    live, source, why = readable(snapshot, "authorization_policy")
    if why:
        return Block("admin_sspr", unreadable=why)
    field = AUTHORIZATION_FIELDS["allowed_to_use_sspr"]
    return Block("admin_sspr", [leaf("allowed", live.allowed_to_use_sspr, source, field, required=True)])


def _methods_policy(snapshot: Snapshot) -> Block:
    live, source, why = readable(snapshot, "methods_policy")
    if why:
        return Block("methods_policy", unreadable=why)
    return Block("methods_policy", [
        leaf("migration_state", effective_state(live.migration_state), source,
              METHODS_FIELDS["migration_state"] + (" null: governed by the methods policy, as migrationComplete"
                                        if live.migration_state is None else ""), required=True),
        leaf("registration_campaign", live.registration_campaign_state.lower()
             if live.registration_campaign_state else None, source,
             "registrationEnforcement.authenticationMethodsRegistrationCampaign.state"),
    ])


def _writeback(snapshot: Snapshot) -> Block:
    live, source, why = readable(snapshot, "onprem_writeback")
    if why:
        return Block("writeback", unreadable=why)
    cloud_field = ONPREM_FIELDS["cloud_sync_writeback_enabled"]
    cloud_sync = (Leaf("cloud_sync", live.cloud_sync_writeback_enabled, f"{source} {cloud_field}")
                  if live.cloud_sync_writeback_enabled is not None
                  else Leaf("cloud_sync", None, f"{source} {cloud_field} not in the response: null = not checked"))
    # on only when both fields say so, as writeback.enabled judges it
    switches = (live.writeback_enabled, live.writeback_supported)
    enabled = False if False in switches else (None if None in switches else True)
    both = f"{ONPREM_FIELDS['writeback_enabled']} and {ONPREM_FIELDS['writeback_supported']}"
    return Block("writeback", [
        Leaf("enabled", enabled, f"{source} {both} (on only when both are true)", required=True) if enabled
        is not None else Leaf("enabled", absent=f"{source} {both}: not both in the response", required=True),
        leaf("unlock", live.unlock_enabled, source, ONPREM_FIELDS["unlock_enabled"]),
        cloud_sync,
        *authentication_leaves(snapshot),
        failed_writebacks_leaf(snapshot),
    ])
