"""The plan as a PowerShell script, for admins who make changes themselves.

One step per change, each commented with the findings it fixes, each guarded by
`$PSCmdlet.ShouldProcess` (so `-WhatIf` and `-Confirm` work) and by a check that the target
still holds the plan's old value. Graph changes use Microsoft Graph PowerShell (the Password Rule
Settings through Get-/New-/Update-MgGroupSetting, with the whole values array); directory
changes use the ActiveDirectory module (with the `dsacls` equivalent in a comment). Settings
with no supported cmdlet (the portal's SSPR policy, a GPO's security template) are commented
manual steps. Every value from the plan or the tenant goes into a single-quoted string with its
quotes doubled, and into comments with line breaks removed; no credential is ever written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from auditor.graph_fields import (
    CONFIGURATION_FIELDS,
    METHOD_CONFIGURATION_TYPES,
    PASSWORD_RULE_FIELDS,
    PASSWORD_RULE_TEMPLATE,
    password_rule_values,
    password_rule_wire,
)
from auditor.remediation.changes import (
    Change,
    GraphAuthorizationChange,
    GraphCaPolicyChange,
    GraphMethodConfigurationChange,
    GraphMethodsPolicyChange,
    GraphPasswordRulesChange,
    LdapDaclChange,
    LdapPasswordAgeChange,
    ManualStep,
    Plan,
    SysvolPasswordAgeChange,
)

GRAPH_SCOPES = {
    "graph.authorization_policy": "Policy.ReadWrite.Authorization",
    "graph.methods_policy": "Policy.ReadWrite.AuthenticationMethod",
    "graph.method_configuration": "Policy.ReadWrite.AuthenticationMethod",
    # learn.microsoft.com/graph/api/conditionalaccessroot-post-policies: Policy.ReadWrite.ConditionalAccess
    "graph.ca_policy": "Policy.ReadWrite.ConditionalAccess",
}
# Least privileged: updating a groupSetting takes GroupSettings.ReadWrite.All
# (https://learn.microsoft.com/graph/api/groupsetting-update), creating one Directory.ReadWrite.All
# (https://learn.microsoft.com/graph/api/group-post-settings); the cmdlets are in Microsoft.Graph.Groups.
SETTINGS_SCOPES = {"update": "GroupSettings.ReadWrite.All", "create": "Directory.ReadWrite.All"}
PORTAL_PATHS = {
    "portal.sspr_policy": "Entra admin center > Protection > Password reset",
    "portal.onprem_writeback": "Entra admin center > Protection > Password reset > On-premises integration",
}


def quote(value: object) -> str:
    """A PowerShell single-quoted string literal (only `'` is special inside one)."""
    text = str(value)
    for quote_like in ("\u2018", "\u2019", "\u201a", "\u201b"):  # PowerShell treats these as quotes too
        text = text.replace(quote_like, "'")
    parts = re.split(r"([\x00-\x1f\x7f])", text)
    if len(parts) == 1:
        return "'" + text.replace("'", "''") + "'"
    # control characters (a line break in tenant data) as [char] codes, so every line stays one line
    pieces = [f"[char]{ord(p)}" if len(p) == 1 and (ord(p) < 32 or ord(p) == 127) else
              "'" + p.replace("'", "''") + "'" for p in parts if p]
    return "(" + " + ".join(pieces) + ")"


def comment(text: object) -> str:
    """Text safe inside a `#` comment: one line."""
    return " ".join(str(text).split())


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return comment("(unset)" if value is None else value)


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if value is None:
        return "$null"
    if isinstance(value, int):
        return str(value)
    return quote(value)


def render_powershell(plan: Plan) -> str:
    lines = [
        "# sspr-auditor remediation plan as a PowerShell script.",
        f"# Plan {comment(plan.digest)} made {plan.created_at.isoformat()} from {comment(plan.source.origin)}",
        f"# for policy {comment(plan.policy_file)}.",
        "# Review it, then run it with -WhatIf first. Each step checks that its target still holds the",
        "# value the plan was made from, and skips it (with a warning) when it does not.",
        "# No credential is stored here: Connect-MgGraph and the ActiveDirectory module sign in as you.",
    ]
    modules = _modules(plan)
    if modules:
        lines.append("#Requires -Modules " + ", ".join(modules))
    lines += [
        "[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]",
        "param()",
        "",
        "Set-StrictMode -Version Latest",
        "$ErrorActionPreference = 'Stop'",
        "",
    ]
    scopes = sorted({scope for c in plan.changes if (scope := _scope(c)) is not None})
    if scopes:
        lines += [f"Connect-MgGraph -Scopes {', '.join(quote(s) for s in scopes)} -NoWelcome", ""]
    for change in plan.changes:
        lines += _step(change)
        lines.append("")
    if plan.manual:
        lines.append("# ---- Manual steps: findings no script or writer changes ----")
        for number, step in enumerate(plan.manual, start=1):
            lines += _manual(number, step)
    lines.append("Write-Host 'Done. Run sspr-audit check again to confirm.'")
    return "\n".join(lines) + "\n"


def _scope(change: Change) -> str | None:
    if change.kind == "graph.password_rules":  # one kind, two permissions: creating the object takes more
        return SETTINGS_SCOPES["create" if change.setting_id is None else "update"]
    return GRAPH_SCOPES.get(change.kind)


def _modules(plan: Plan) -> list[str]:
    kinds = {c.kind for c in plan.changes}
    modules = []
    if kinds & set(GRAPH_SCOPES):
        modules.append("Microsoft.Graph.Identity.SignIns")
    if "graph.password_rules" in kinds:
        modules.append("Microsoft.Graph.Groups")
    if kinds & {"ldap.dacl", "ldap.password_age"}:
        modules.append("ActiveDirectory")
    return modules


def _header(change: Change) -> list[str]:
    lines = [f"# ---- Change {change.id}: {comment(change.summary)}",
             f"# Target: {comment(change.target)}"]
    for ref in change.fixes:
        lines.append(f"# Fixes: {comment(ref.label())}")
    if change.note:
        lines.append(f"# Note: {comment(change.note)}")
    return lines


def _guarded(target: str, action: str, current: str, expected: str, body: list[str], change_id: str) -> list[str]:
    """`body` run only when ShouldProcess agrees and the target still holds the old value."""
    return [
        f"if ($PSCmdlet.ShouldProcess({quote(target)}, {quote(action)})) {{",
        f"    $current = {current}",
        f"    if ($current -ne {expected}) {{",
        f"        Write-Warning ({quote(f'Change {change_id} skipped: the target no longer holds the old value: ')}"
        " + [string]$current)",
        "    } else {",
        *("        " + line for line in body),
        "    }",
        "}",
    ]


def _step(change: Change) -> list[str]:
    step = _STEPS.get(change.kind)
    if step is None:
        raise TypeError(f"no PowerShell for change kind {change.kind!r}")
    return _header(change) + step(change)


def _portal(change: Any) -> list[str]:
    return [
        "# MANUAL: no supported cmdlet or Graph API sets this (only the Azure portal's own API does).",
        f"# In {PORTAL_PATHS[change.kind]}:",
        *(f"#   {comment(setting.name)}: {_shown(setting.old)} -> {_shown(setting.new)}"
          for setting in change.settings_list()),
        f"Write-Host {quote(f'Change {change.id} is manual: see the comment above.')}",
    ]


def _authorization(change: GraphAuthorizationChange) -> list[str]:
    new = literal(change.setting.new)
    return _guarded(
        "authorizationPolicy", f"Set allowedToUseSSPR to {change.setting.new}",
        "(Get-MgPolicyAuthorizationPolicy).AllowedToUseSspr", literal(change.setting.old),
        [f"Update-MgPolicyAuthorizationPolicy -AllowedToUseSspr:{new}"], change.id)


def _methods_policy(change: GraphMethodsPolicyChange) -> list[str]:
    if change.setting.name == "registration_campaign_state":
        # -RegistrationEnforcement takes the whole object (learn.microsoft.com/powershell/module/
        # microsoft.graph.identity.signins/update-mgpolicyauthenticationmethodpolicy): sent back as read, state changed
        read = "(Get-MgPolicyAuthenticationMethodPolicy).RegistrationEnforcement"
        return _guarded(
            "authenticationMethodsPolicy", f"Set the registration campaign state to {change.setting.new}",
            f"{read}.AuthenticationMethodsRegistrationCampaign.State", quote(change.setting.old),
            [f"$enforcement = {read}",
             f"$enforcement.AuthenticationMethodsRegistrationCampaign.State = {quote(change.setting.new)}",
             "Update-MgPolicyAuthenticationMethodPolicy -RegistrationEnforcement $enforcement"], change.id)
    return _guarded(
        "authenticationMethodsPolicy", f"Set policyMigrationState to {change.setting.new}",
        "(Get-MgPolicyAuthenticationMethodPolicy).PolicyMigrationState", quote(change.setting.old),
        [f"Update-MgPolicyAuthenticationMethodPolicy -PolicyMigrationState {quote(change.setting.new)}"],
        change.id)


def _method_configuration(change: GraphMethodConfigurationChange) -> list[str]:
    odata = METHOD_CONFIGURATION_TYPES.get(change.configuration_id.lower(), "")
    pairs = [f"'@odata.type' = {quote(odata)}"]
    pairs += [f"{CONFIGURATION_FIELDS[s.name]} = {literal(s.new)}" for s in change.settings]
    first = change.settings[0]
    read = (f"(Get-MgPolicyAuthenticationMethodPolicyAuthenticationMethodConfiguration "
            f"-AuthenticationMethodConfigurationId {quote(change.configuration_id)})")
    current = (f"{read}.AdditionalProperties[{quote(CONFIGURATION_FIELDS[first.name])}]"
               if first.name != "state" else f"{read}.State")
    return _guarded(
        change.configuration_id, "Update the authentication method configuration", current, literal(first.old),
        [f"$body = @{{ {'; '.join(pairs)} }}",
         "Update-MgPolicyAuthenticationMethodPolicyAuthenticationMethodConfiguration "
         f"-AuthenticationMethodConfigurationId {quote(change.configuration_id)} -BodyParameter $body"],
        change.id)


def _password_age(change: LdapPasswordAgeChange) -> list[str]:
    timespan = quote(f"{change.new_days}.00:00:00")
    if change.scope == "domain":
        read = f"(Get-ADObject -Identity {quote(change.dn)} -Properties minPwdAge).minPwdAge"
        body = [f"Set-ADDefaultDomainPasswordPolicy -Identity {quote(change.dn)} -MinPasswordAge {timespan}"]
    else:
        read = (f"(Get-ADObject -Identity {quote(change.dn)} -Properties 'msDS-MinimumPasswordAge')."
                "'msDS-MinimumPasswordAge'")
        body = [f"Set-ADFineGrainedPasswordPolicy -Identity {quote(change.dn)} -MinPasswordAge {timespan}"]
    return _guarded(change.dn, f"Set the minimum password age to {change.new_days} day(s)", read,
                    str(int(change.setting.old)), body, change.id)


def _gpttmpl(change: SysvolPasswordAgeChange) -> list[str]:
    return [
        "# MANUAL: no supported cmdlet edits a GPO's security template; the Group Policy editor also bumps",
        "# the GPO version so domain controllers apply it. In Group Policy Management:",
        f"#   {comment(change.gpo_guid)} > Edit > Computer Configuration > Policies > Windows Settings >",
        "#   Security Settings > Account Policies > Password Policy > Minimum password age = "
        f"{comment(change.setting.new)} days (now {comment(change.setting.old)})",
        f"Write-Host {quote(f'Change {change.id} is manual: see the comment above.')}",
    ]


def _ca_policy(change: GraphCaPolicyChange) -> list[str]:
    """New-MgIdentityConditionalAccessPolicy with the body apply POSTs, or Update-... of its state."""
    import json

    if change.policy_id is None:
        body = json.dumps(change.body()).replace("'", "''")
        return [
            f"if ($PSCmdlet.ShouldProcess({quote(change.display_name)}, 'Create the Conditional Access policy')) {{",
            f"    $existing = Get-MgIdentityConditionalAccessPolicy -All | Where-Object DisplayName -eq "
            f"{quote(change.display_name)}",
            "    if ($existing) {",
            f"        Write-Warning {quote(f'Change {change.id} skipped: a policy with this name exists')}",
            "    } else {",
            f"        New-MgIdentityConditionalAccessPolicy -BodyParameter ('{body}' | ConvertFrom-Json -AsHashtable)",
            "    }",
            "}",
        ]
    return _guarded(change.display_name, f"Set the state to {change.setting.new}",
                    f"(Get-MgIdentityConditionalAccessPolicy -ConditionalAccessPolicyId {quote(change.policy_id)})"
                    ".State", quote(change.setting.old),
                    [f"Update-MgIdentityConditionalAccessPolicy -ConditionalAccessPolicyId {quote(change.policy_id)} "
                     f"-State {quote(change.setting.new)}"], change.id)


def _password_rules(change: GraphPasswordRulesChange) -> list[str]:
    """Update-MgGroupSetting with the whole values array (only the planned values changed), or New-MgGroupSetting
    with every template value when the tenant has none; each guarded like the other steps."""
    skipped = f"Change {change.id} skipped: the target no longer holds the old value: "
    if change.setting_id is None:
        values = ", ".join(f"@{{ Name = {quote(name)}; Value = {quote(value)} }}"
                           for name, value in password_rule_values({s.name: s.new for s in change.settings}))
        return [
            f"if ($PSCmdlet.ShouldProcess('groupSettings', {quote('Create the Password Rule Settings')})) {{",
            f"    $existing = @(Get-MgGroupSetting -All | Where-Object TemplateId -eq {quote(PASSWORD_RULE_TEMPLATE)})",
            "    if ($existing.Count -gt 0) {",
            f"        Write-Warning ({quote(skipped)} + 'Password Rule Settings ' + [string]$existing[0].Id)",
            "    } else {",
            f"        $values = @({values})",
            f"        New-MgGroupSetting -TemplateId {quote(PASSWORD_RULE_TEMPLATE)} -Values $values",
            "    }",
            "}",
        ]
    names = [PASSWORD_RULE_FIELDS[s.name] for s in change.settings]
    expected = "|".join("" if s.old is None else password_rule_wire(s.name, s.old) for s in change.settings)
    wanted = "; ".join(f"{quote(PASSWORD_RULE_FIELDS[s.name])} = {quote(password_rule_wire(s.name, s.new))}"
                       for s in change.settings)
    setting = quote(change.setting_id)
    return [
        "# Graph takes the whole values array: every value not named here is sent back as read.",
        f"if ($PSCmdlet.ShouldProcess({quote('groupSettings/' + change.setting_id)}, "
        f"{quote('Set ' + ', '.join(names))})) {{",
        f"    $setting = Get-MgGroupSetting -GroupSettingId {setting}",
        f"    $current = @(foreach ($name in @({', '.join(quote(n) for n in names)})) {{ [string]($setting.Values | "
        "Where-Object Name -eq $name | Select-Object -First 1 -ExpandProperty Value) }) -join '|'",
        f"    if ($current -ne {quote(expected)}) {{",
        f"        Write-Warning ({quote(skipped)} + $current)",
        "    } else {",
        f"        $wanted = @{{ {wanted} }}",
        "        $values = @(foreach ($value in $setting.Values) { if ($wanted.ContainsKey($value.Name)) { "
        "@{ Name = $value.Name; Value = $wanted[$value.Name] } } else { "
        "@{ Name = $value.Name; Value = $value.Value } } })",
        f"        Update-MgGroupSetting -GroupSettingId {setting} -Values $values",
        "    }",
        "}",
    ]


def _dacl(change: LdapDaclChange) -> list[str]:
    from auditor.ad.rights import RIGHTS_BY_NAME

    by_guid = {r.guid: r for r in RIGHTS_BY_NAME.values()}
    path = quote(f"AD:\\{change.dn}")
    lines = [f"# dsacls equivalent, one per right: dsacls {comment(change.dn)} /I:S /G <DOMAIN>\\"
             f"{comment(change.principal)}:CA;Reset Password;user   (CA for extended rights, RPWP;<attribute>;user "
             "for properties; /I:T without ;user for this object only)"]
    body = [f"$acl = Get-Acl -Path {path}",
            f"$sid = [System.Security.Principal.SecurityIdentifier]{quote(change.principal_sid)}"]
    for ace in change.add_aces:
        right = by_guid.get(ace.object_type or "")
        label = right.label if right is not None else ace.object_type
        rights = "ExtendedRight" if ace.mask == 0x100 else "ReadProperty, WriteProperty"
        inheritance = "Descendents" if ace.inherited_object_type else "None"
        inherited = quote(ace.inherited_object_type or "00000000-0000-0000-0000-000000000000")
        body += [f"# {comment(label)}: {comment(ace.sddl())}",
                 "$acl.AddAccessRule((New-Object System.DirectoryServices.ActiveDirectoryAccessRule("
                 f"$sid, [System.DirectoryServices.ActiveDirectoryRights]{quote(rights)}, "
                 "[System.Security.AccessControl.AccessControlType]::Allow, "
                 f"[guid]{quote(ace.object_type)}, "
                 f"[System.DirectoryServices.ActiveDirectorySecurityInheritance]::{inheritance}, "
                 f"[guid]{inherited})))"]
    body.append(f"Set-Acl -Path {path} -AclObject $acl")
    return [
        *lines,
        f"if ($PSCmdlet.ShouldProcess({quote(change.dn)}, {quote('Grant ' + ', '.join(change.rights))})) {{",
        *("    " + line for line in body),
        "}",
    ]


def _manual(number: int, step: ManualStep) -> list[str]:
    lines = [f"# Manual {number}: {comment(step.finding.label())}",
             f"#   Why not scripted: {comment(step.why_manual)}"]
    if step.reason:
        lines.append(f"#   Finding: {comment(step.reason)}")
    for where, how in step.how.items():
        lines.append(f"#   {comment(where)}: {comment(how)}")
    return lines


# change kind → its PowerShell (after the common header)
_STEPS: dict[str, Callable[[Any], list[str]]] = {
    "portal.sspr_policy": _portal,
    "portal.onprem_writeback": _portal,
    "graph.authorization_policy": _authorization,
    "graph.methods_policy": _methods_policy,
    "graph.method_configuration": _method_configuration,
    "graph.password_rules": _password_rules,
    "graph.ca_policy": _ca_policy,
    "ldap.dacl": _dacl,
    "ldap.password_age": _password_age,
    "sysvol.gpttmpl": _gpttmpl,
}


def write_powershell(plan: Plan, path: Path) -> Path:
    """The plan's script with CRLF line ends and a UTF-8 BOM, so Windows PowerShell 5.1 reads it as UTF-8: a script
    with non-ASCII text is to be saved with a BOM so that any application reads it correctly (PSScriptAnalyzer's
    rule UseBOMForUnicodeEncodedFile, https://learn.microsoft.com/powershell/utility-modules/psscriptanalyzer/
    rules/usebomforunicodeencodedfile); without one, Windows PowerShell reads the legacy ANSI code page."""
    from auditor.files import write_atomically

    path.parent.mkdir(parents=True, exist_ok=True)
    script = render_powershell(plan).replace("\r\n", "\n").replace("\n", "\r\n")
    return write_atomically(path, script.encode("utf-8-sig"))
