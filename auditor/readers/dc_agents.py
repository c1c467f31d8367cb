"""Which domain controllers run the Microsoft Entra Password Protection DC agent (`PasswordProtectionAgents`).

The DC agent service registers a serviceConnectionPoint whose `keywords` start with
`{2bac71e6-a293-4d5b-ba3b-50b995237946}` in its domain's naming context, one per domain controller, and the
proxy service one starting with `{ebefb703-6113-413d-9167-9f8dd4d24468}` (Microsoft, "Troubleshoot: On-premises
Microsoft Entra Password Protection", Removal, steps 3 and 4:
learn.microsoft.com/entra/identity/authentication/howto-password-ban-bad-on-premises-troubleshoot). The agent's
SCP is named `CN=AzureADPasswordProtectionDCAgent` and lies below the DC's computer object, with `msDS-Settings`
holding JSON such as SoftwareVersion and HeartbeatUTC (the shape Get-AzureADPasswordProtectionDCAgent reports,
as captured in public AD audit tooling's test data). A DC is any computer account with SERVER_TRUST_ACCOUNT
(userAccountControl 0x2000, [MS-ADTS] 6.1.1.2.2.1.2).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from auditor.ad.dn import dn_key, parent
from auditor.readers.ldap_values import text as _text
from auditor.snapshot.directory import DcAgent, DomainController, PasswordProtectionAgents

if TYPE_CHECKING:
    from auditor.readers.access_control import DirectoryReader

DC_AGENT_KEYWORD = "{2bac71e6-a293-4d5b-ba3b-50b995237946}"
PROXY_KEYWORD = "{ebefb703-6113-413d-9167-9f8dd4d24468}"
_DOMAIN_CONTROLLERS = "(&(objectCategory=computer)(userAccountControl:1.2.840.113556.1.4.803:=8192))"


def read_dc_agents(reader: DirectoryReader, base_dn: str) -> PasswordProtectionAgents:
    agents: dict[str, DcAgent] = {}
    proxies: list[str] = []
    for keyword, is_agent in ((DC_AGENT_KEYWORD, True), (PROXY_KEYWORD, False)):
        search = f"(&(objectClass=serviceConnectionPoint)(keywords={keyword}*))"
        for dn, raw in reader.paged(base_dn, search, ["msDS-Settings"]):
            if not is_agent:
                proxies.append(dn)
                continue
            settings = _settings(_text(raw, "msDS-Settings"))
            agents[dn_key(parent(dn))] = DcAgent(dn=dn, software_version=settings.get("SoftwareVersion"),
                                                 heartbeat_utc=settings.get("HeartbeatUTC"))
    dcs = [DomainController(dn=dn, dns_host_name=_text(raw, "dNSHostName"), agent=agents.get(dn_key(dn)))
           for dn, raw in reader.paged(base_dn, _DOMAIN_CONTROLLERS, ["dNSHostName"])]
    if not dcs:
        return PasswordProtectionAgents(proxies=proxies, error="no domain controller account was found in "
                                                               f"{base_dn} (no computer with SERVER_TRUST_ACCOUNT)")
    return PasswordProtectionAgents(domain_controllers=sorted(dcs, key=lambda d: d.dn.lower()), proxies=proxies)


def _settings(text: str | None) -> dict[str, str]:
    """msDS-Settings as JSON (the DC agent's); anything else tells nothing more than that the SCP exists."""
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return {k: str(v) for k, v in data.items() if isinstance(v, (str, int, float))} if isinstance(data, dict) else {}
