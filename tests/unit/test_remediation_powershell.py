"""The PowerShell export: its structure, since no PowerShell runs here (`pwsh` is not installed).

What is checked: the script parses as far as a tokenizer of strings, comments and brackets can
tell (every bracket balanced outside strings and comments, every string closed), it declares
SupportsShouldProcess, every change appears with its id and the findings it fixes, Graph and AD
steps are guarded by ShouldProcess, portal steps are commented manual steps, hostile values stay
inside single-quoted strings or one-line comments, and no secret is in it. It was not executed.
"""

from __future__ import annotations

import base64
import re

from auditor.ad.rights import WRITE_PWD_LAST_SET
from auditor.ad.sd import canonical_ace
from auditor.remediation.changes import (
    FindingRef,
    GraphAuthorizationChange,
    GraphMethodConfigurationChange,
    LdapDaclChange,
    LdapPasswordAgeChange,
    ManualStep,
    Plan,
    PlanSource,
    PortalSsprChange,
    SettingChange,
    SysvolPasswordAgeChange,
)
from auditor.remediation.powershell import quote, render_powershell

NOW = "2025-06-01T00:00:00Z"
HOSTILE = "OU=O'Brien\u2019s $(Remove-Item C:\\) `n\"team\"\nnext line # {"


def tokens_outside_strings(script: str) -> tuple[str, list[str]]:
    """The script with strings and comments removed, and any problems (unclosed strings)."""
    out, problems, i = [], [], 0
    while i < len(script):
        ch = script[i]
        if ch == "#":
            end = script.find("\n", i)
            i = len(script) if end < 0 else end
        elif ch == "'":
            j = i + 1
            while True:
                j = script.find("'", j)
                if j < 0:
                    problems.append(f"unclosed string at {i}")
                    return "".join(out), problems
                if script[j + 1: j + 2] == "'":
                    j += 2
                    continue
                break
            if "\n" in script[i:j]:
                problems.append(f"string spans lines at {i}")
            i = j + 1
        elif ch == '"':
            problems.append(f"double-quoted string (expands $ and `) at {i}")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out), problems


def balanced(code: str) -> bool:
    pairs, stack = {")": "(", "}": "{", "]": "["}, []
    for ch in code:
        if ch in "({[":
            stack.append(ch)
        elif ch in pairs and (not stack or stack.pop() != pairs[ch]):
            return False
    return not stack


def sample_plan(target: str = "OU=Sales,DC=corp,DC=example,DC=test") -> Plan:
    ref = FindingRef(check="ad.acl.writeback_rights", target=target, key="directory.rights.write_pwd_last_set")
    changes = [
        PortalSsprChange(id="1", target="portal PasswordResetPolicies", summary="gates 1 → 2",
                         settings=[SettingChange(name="methods_required", old=1, new=2)],
                         fixes=[FindingRef(check="sspr.gates", target="tenant")]),
        GraphAuthorizationChange(id="2", target="graph /policies/authorizationPolicy", summary="admin SSPR off",
                                 setting=SettingChange(name="allowed_to_use_sspr", old=True, new=False),
                                 fixes=[FindingRef(check="admin_sspr", target="administrators")]),
        GraphMethodConfigurationChange(id="3", target="graph Voice", summary="Voice office phone off",
                                       configuration_id="Voice",
                                       settings=[SettingChange(name="is_office_phone_allowed", old=True, new=False)]),
        LdapDaclChange(id="4", target=target, summary="grant", dn=target, principal="MSOL_0a1b",
                       principal_sid="S-1-5-21-1-2-3-1105", rights=["Write pwdLastSet"],
                       add_aces=[canonical_ace("S-1-5-21-1-2-3-1105", WRITE_PWD_LAST_SET)],
                       old_descriptor_sha256="0" * 64, fixes=[ref]),
        LdapPasswordAgeChange(id="5", target="CN=PSO,DC=x", summary="pso", dn="CN=PSO,DC=x", scope="fine_grained",
                              setting=SettingChange(name="min_pwd_age", old=-864000000000, new=0), old_days=1,
                              new_days=0),
        SysvolPasswordAgeChange(id="6", target=r"\\dc\SYSVOL\x", summary="gpo", path=r"\\dc\SYSVOL\x\MACHINE\y",
                                gpo_guid="{31B2F340-016D-11D2-945F-00C04FB984F9}", gpo_dn="CN=gpo",
                                setting=SettingChange(name="minimum_password_age", old=1, new=0),
                                old_content_sha256=None),
    ]
    manual = [ManualStep(finding=FindingRef(check="licensing.in_scope", target="Ann"), title="licences",
                         severity="high", reason="no P1\nsecond line", why_manual="billing",
                         how={"portal": "Assign a licence"})]
    return Plan(tool_version="test", created_at=NOW, policy_file="baseline.yaml", snapshot_created_at=NOW,
                source=PlanSource(origin="lab:demo"), changes=changes, manual=manual).sealed()


def test_script_structure() -> None:
    script = render_powershell(sample_plan())
    code, problems = tokens_outside_strings(script)
    assert problems == []
    assert balanced(code)
    assert "[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]" in script
    assert re.search(r"^param\(\)$", script, re.M)
    assert "#Requires -Modules Microsoft.Graph.Identity.SignIns, ActiveDirectory" in script
    for change in sample_plan().changes:
        assert f"# ---- Change {change.id}: " in script
    assert script.count("$PSCmdlet.ShouldProcess(") == 4  # Graph ×2, DACL, PSO; portal and GPO are manual
    assert "Update-MgPolicyAuthorizationPolicy -AllowedToUseSspr:$false" in script
    assert "'@odata.type' = '#microsoft.graph.voiceAuthenticationMethodConfiguration'" in script
    assert "Set-ADFineGrainedPasswordPolicy -Identity 'CN=PSO,DC=x' -MinPasswordAge '0.00:00:00'" in script
    assert "[guid]'bf967a0a-0de6-11d0-a285-00aa003049e2'" in script and "::Descendents" in script
    assert "# MANUAL: no supported cmdlet or Graph API sets this" in script
    assert "#   methods_required: 1 -> 2" in script
    assert "# Fixes: ad.acl.writeback_rights · OU=Sales" in script
    assert "# Manual 1: licensing.in_scope · Ann" in script


def test_hostile_values_stay_data() -> None:
    script = render_powershell(sample_plan(target=HOSTILE))
    code, problems = tokens_outside_strings(script)
    assert problems == [] and balanced(code)
    assert "Remove-Item" not in code  # only inside strings and comments
    assert all(not line.lstrip().startswith("next line") for line in script.splitlines())
    assert quote("it's") == "'it''s'" and quote("a\u2019b") == "'a''b'"


def test_no_secret_in_the_script() -> None:
    script = render_powershell(sample_plan())
    for secret in ("lab-token", "Passw0rd", "AZURE_CLIENT_SECRET", "ConvertTo-SecureString", "-Credential"):
        assert secret not in script
    assert base64.b64encode(b"Passw0rd").decode() not in script
