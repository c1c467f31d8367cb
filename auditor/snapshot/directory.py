"""Snapshot sections of the on-premises side: the directory (LDAP) and SYSVOL (SMB).

Checks see only these models; LDAP attribute names stay in the readers and in evidence
strings. Raw security descriptors of the objects remediation may rewrite (target OUs, the
domain head, AdminSDHolder) are kept base64-encoded so a plan can be made offline.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from auditor.ad.dn import dn_key, is_within
from auditor.ad.ds_heuristics import DsHeuristicsError, admin_sd_ex_mask, excluded_groups
from auditor.ad.intervals import interval_seconds, interval_whole_days
from auditor.ad.sd import DaclFacts

UF_ACCOUNTDISABLE = 0x2


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SecuredObject(Model):
    """An object whose DACL the checks read (a target OU, the domain head, AdminSDHolder)."""

    dn: str
    exists: bool = True
    dacl: DaclFacts | None = Field(None, description="None when the descriptor was not returned")
    descriptor_b64: str | None = Field(None, description="nTSecurityDescriptor (DACL part), base64")
    error: str | None = Field(None, description="Why the object or its descriptor could not be read")


class GroupRef(Model):
    dn: str | None = None
    sid: str
    name: str


class ServiceAccount(Model):
    dn: str
    sam_account_name: str
    sid: str
    user_account_control: int
    object_classes: list[str] = Field(default_factory=list)
    groups: list[GroupRef] = Field(default_factory=list, description="All security groups, nested included")
    token_sids: list[str] = Field(
        default_factory=list, description="The account's SID, its groups' SIDs and the implicit ones"
    )

    @property
    def enabled(self) -> bool:
        return not self.user_account_control & UF_ACCOUNTDISABLE


class DirectoryUser(Model):
    dn: str
    sam_account_name: str | None = None
    user_principal_name: str | None = None
    sid: str | None = None
    target_ou: str = Field(description="The target OU (from the policy) the user lies under")
    user_account_control: int = 0
    pwd_last_set: int | None = Field(None, description="FILETIME; 0 = must change password at next logon")
    admin_count: int | None = None
    critical: bool = Field(False, description="isCriticalSystemObject (never synced)")
    mobile: str | None = None
    telephone_number: str | None = None
    resultant_pso: str | None = Field(None, description="msDS-ResultantPSO: the winning password settings")
    privileged_via: list[str] = Field(
        default_factory=list, description="Protected groups the user belongs to (directly or nested)"
    )
    dacl_key: str | None = Field(None, description="Key into DirectoryState.dacls; None when not read")

    @property
    def enabled(self) -> bool:
        return not self.user_account_control & UF_ACCOUNTDISABLE

    def attribute(self, name: str) -> str | None:
        """A contact attribute by its LDAP name (the names the policy uses)."""
        return {"mobile": self.mobile, "telephoneNumber": self.telephone_number}.get(name)


class AccountLockout(Model):
    """AD account lockout as the domain head (lockoutThreshold, lockoutObservationWindow, lockoutDuration) or a
    PSO (their msDS- forms) holds it. Windows intervals: negative 100-ns ticks."""

    threshold: int | None = Field(None, description="Failed logons before lockout; 0 = never locked out")
    observation_window: int | None = Field(None, description="Interval after which the failed-logon count resets")
    duration: int | None = Field(None, description="Interval an account stays locked; 'never' = until unlocked")
    error: str | None = Field(None, description="Which attribute was absent or not an integer, with the object's DN")

    @property
    def window_seconds(self) -> int | None:
        return None if self.observation_window is None else interval_seconds(self.observation_window)

    @property
    def duration_seconds(self) -> int | None:
        return None if self.duration is None else interval_seconds(self.duration)


class PasswordSettings(Model):
    """A fine-grained password policy (msDS-PasswordSettings object)."""

    dn: str
    name: str
    precedence: int | None = None
    min_pwd_age: int | None = Field(None, description="msDS-MinimumPasswordAge (interval)")
    max_pwd_age: int | None = Field(None, description="msDS-MaximumPasswordAge (interval; 0 or the minimum "
                                                      "interval = never expires); None: not read")
    max_pwd_age_error: str | None = Field(None, description="Why max_pwd_age is None")
    applies_to: list[str] = Field(default_factory=list, description="msDS-PSOAppliesTo DNs")
    lockout: AccountLockout | None = Field(None, description="msDS-LockoutThreshold, -ObservationWindow, -Duration; "
                                                             "None in snapshots that did not read them")

    @property
    def min_age_days(self) -> int | None:
        return None if self.min_pwd_age is None else interval_whole_days(self.min_pwd_age)


class ReachedUser(Model):
    """A user outside the target OUs whom the sync account can reset (its own DACL grants Reset Password)."""

    dn: str
    sam_account_name: str | None = None
    enabled: bool = True
    admin_count: int | None = None
    privileged_via: list[str] = Field(default_factory=list, description="Protected groups it is in (nested too)")
    ace: str = Field(description="The ACE on the user's DACL that grants it, in SDDL")

    @property
    def protected(self) -> bool:
        return self.admin_count == 1 or bool(self.privileged_via)


class GrantPoint(Model):
    """A container outside (or above) the target OUs whose own ACE passes Reset Password down to user objects."""

    dn: str
    ace: str = Field(description="The explicit ACE, in SDDL")


class ReachBeyond(Model):
    """Where the sync account's Reset Password reaches beyond the policy's target OUs (`read_reach_beyond`)."""

    grant_points: list[GrantPoint] = Field(default_factory=list)
    users: list[ReachedUser] = Field(default_factory=list, description="Users outside the target OUs it reaches")
    containers_read: int = Field(0, description="Containers whose DACL was read to find grant points (the domain "
                                               "head's included, read once for the whole directory)")
    users_read: int = Field(0, description="User objects (with their DACL) returned below the grant points")
    unread_containers: list[str] = Field(default_factory=list, description="Containers returned without their "
                                         "descriptor: a grant point among them is not known")
    unread_users: list[str] = Field(default_factory=list, description="Users outside the target OUs, below a "
                                    "grant point, returned without their descriptor: whether it reaches them is "
                                    "not known")
    error: str | None = Field(None, description="Why the reach could not be read (then nothing is known)")


class DcAgent(Model):
    """The Entra Password Protection DC agent's service connection point under a DC's computer object."""

    dn: str
    software_version: str | None = Field(None, description="msDS-Settings SoftwareVersion, when readable")
    heartbeat_utc: str | None = Field(None, description="msDS-Settings HeartbeatUTC, when readable")


class DomainController(Model):
    dn: str
    dns_host_name: str | None = None
    agent: DcAgent | None = Field(None, description="None: no DC agent service connection point below it")


class PasswordProtectionAgents(Model):
    """Which domain controllers run the Entra Password Protection DC agent (`readers/dc_agents.py`)."""

    domain_controllers: list[DomainController] = Field(default_factory=list)
    proxies: list[str] = Field(default_factory=list, description="Proxy service connection points (DNs)")
    error: str | None = Field(None, description="Why they could not be read (then nothing is known)")


class CloudSyncAccount(Model):
    """An account named as the Entra Cloud Sync agent's installer names its gMSA (provAgentgMSA$)."""

    dn: str
    sam_account_name: str
    gmsa: bool = Field(description="objectClass holds msDS-GroupManagedServiceAccount")


class CloudSyncAccounts(Model):
    """The Cloud Sync agent's accounts found in the domain (`readers/cloud_sync.py`): evidence of which engine
    writes passwords back, beside the tenant's cloudProvisioningEnablementForTenant."""

    accounts: list[CloudSyncAccount] = Field(default_factory=list)
    error: str | None = Field(None, description="Why they could not be read (then nothing is known)")


GPO_COMPUTER_SETTINGS_DISABLED = 0x2  # groupPolicyContainer `flags`


class GpoLink(Model):
    """One entry of a container's gPLink that names a GPO."""

    container: str = Field(description="DN of the domain head or OU whose gPLink names the GPO")
    enabled: bool = Field(True, description="False when the link is disabled (gPLink option bit 1)")
    enforced: bool = Field(False, description="gPLink option bit 2")
    order: int = Field(1, description="Link order in the container as the GPMC shows it: 1 wins over 2 "
                                      "(the last gPLink entry is link order 1)")
    holds_computers: bool | None = Field(
        None, description="Member computers (domain controllers excluded) lie below the container; None = not read"
    )


class GroupPolicy(Model):
    dn: str
    guid: str
    display_name: str | None = None
    file_sys_path: str | None = None
    version_number: int | None = None
    linked_to_domain: bool = False
    flags: int | None = Field(None, description="0 enabled, 1 user settings off, 2 computer settings off, 3 both")
    links: list[GpoLink] = Field(default_factory=list, description="Where the GPO is linked: domain head and OUs")
    wmi_filter: str | None = Field(None, description="gPCWQLFilter: the WMI filter the GPO is bound to, if any")
    wmi_filter_name: str | None = Field(None, description="msWMI-Name of the filter's msWMI-Som object")
    wmi_filter_query: str | None = Field(None, description="msWMI-Parm2 of the filter's msWMI-Som object (its WQL)")
    wmi_filter_error: str | None = Field(None, description="Why the filter's msWMI-Som object was not read")
    dacl: DaclFacts | None = Field(None, description="The groupPolicyContainer's DACL, kept for its Apply Group Policy "
                                                     "ACEs (security filtering); None: not read")
    dacl_error: str | None = Field(None, description="Why the DACL was not read (security filtering is then unknown)")
    error: str | None = Field(None, description="An attribute whether the GPO applies depends on (flags, "
                                                "versionNumber, gPCFileSysPath) was not read: the attribute and DN")

    @property
    def computer_settings_enabled(self) -> bool:
        return not (self.flags or 0) & GPO_COMPUTER_SETTINGS_DISABLED

    def computer_links(self) -> list[GpoLink]:
        """Enabled links to the domain head or to OUs holding member computers, when its computer part is on."""
        if not self.computer_settings_enabled:
            return []
        return [link for link in self.links if link.enabled and link.holds_computers is not False]


class ComputerToken(Model):
    """Computers of one container whose tokens agree on every SID a GPO's Apply Group Policy ACE names."""

    container: str = Field(description="DN of the container the computers are directly in")
    computers: int
    sids: list[str] = Field(description="The SIDs of their tokens that GPO ACEs name, implicit ones included "
                                        "(Everyone, Authenticated Users; ENTERPRISE DOMAIN CONTROLLERS for DCs)")
    examples: list[str] = Field(default_factory=list, description="Up to three of the computers' names")


PrincipalKind = Literal["user", "computer", "group", "managed_service_account", "well_known", "unresolved"]


class Member(Model):
    """An account inside a group, nested or by primary group."""

    sid: str
    name: str
    dn: str | None = None
    kind: PrincipalKind = "user"
    via: list[str] = Field(default_factory=list, description="Groups between the group and the account, outermost "
                                                             "first; '<group> (primary group)' for a primary one")


class Principal(Model):
    """Who a SID in an ACE or an owner is, and for a group every account it holds."""

    sid: str
    name: str
    dn: str | None = None
    kind: PrincipalKind
    members: list[Member] | None = Field(None, description="Groups: every account below it (nested and primary "
                                                           "groups followed); None for an account or a well-known SID")
    members_truncated: bool = Field(False, description="The group holds more accounts than were read")


class ProtectedAccount(Model):
    """An account AdminSDHolder protects: adminCount=1 or a member of a protected group (any OU)."""

    dn: str
    sid: str | None = None
    name: str | None = None
    admin_count: int | None = None
    privileged_via: list[str] = Field(default_factory=list)
    enabled: bool = True
    dacl_key: str | None = Field(None, description="Key into DirectoryState.dacls (owner and full DACL)")


class DsHeuristics(Model):
    """dSHeuristics on CN=Directory Service,CN=Windows NT,CN=Services of the configuration NC, as SDProp reads it
    (`auditor.ad.ds_heuristics`)."""

    dn: str
    value: str | None = Field(None, description="The attribute; None when not set (nothing excluded)")
    error: str | None = Field(None, description="Why the object or the value could not be read or understood")

    def excluded(self) -> list[str] | None:
        """The operator groups dwAdminSDExMask leaves out of protection; None when not known."""
        if self.error is not None:
            return None
        try:
            return excluded_groups(admin_sd_ex_mask(self.value))
        except DsHeuristicsError:
            return None

    def why_unknown(self) -> str | None:
        if self.error is not None:
            return self.error
        try:
            admin_sd_ex_mask(self.value)
        except DsHeuristicsError as exc:
            return str(exc)
        return None


class AccessControl(Model):
    """Who else holds power over the in-scope users and the sync account: full descriptors and who their SIDs are.

    Read beside the sync account's view (`DirectoryState.dacls` then holds every in-scope user's full DACL and
    owner). None in `DirectoryState.access_control` for snapshots from before it was read."""

    principals: dict[str, Principal] = Field(default_factory=dict, description="SID → principal, for every trustee "
                                             "of an ACE that can write or control, every owner and the admin groups")
    admin_sids: list[str] = Field(default_factory=list, description="The domain's own admins: SYSTEM, Administrators, "
                                  "Domain Admins, Enterprise Admins and every account inside them")
    containers: list[SecuredObject] = Field(default_factory=list, description="The in-scope users' ancestors up to "
                                            "the domain head, to name where an inherited ACE is set")
    protected_accounts: list[ProtectedAccount] = Field(default_factory=list)
    service_account: SecuredObject | None = Field(None, description="The sync account's own descriptor (owner, DACL)")
    service_account_groups: list[SecuredObject] = Field(default_factory=list,
                                                        description="The DACLs of the groups the sync account is in")
    managed_password_readers: DaclFacts | None = Field(
        None, description="A gMSA's msDS-GroupMSAMembership: who may retrieve its password; None for a user account")
    managed_password_readers_error: str | None = Field(
        None, description="Why a gMSA's msDS-GroupMSAMembership is not known (then who may retrieve its password is "
                          "not known)")
    ds_heuristics: DsHeuristics | None = Field(
        None, description="dSHeuristics (dwAdminSDExMask); None in snapshots from before it was read")


class AttributeChange(Model):
    """An attribute's last originating change, as the DC's replication metadata keeps it."""

    changed_at: AwareDatetime
    version: int = Field(description="How many originating writes the attribute has had")
    originating_dc: str = Field(description="The DC the change was made on: its name where the configuration "
                                            "names its invocation id, else the invocation id")
    invocation_id: str | None = Field(None, description="The originating invocation id when no DC is named by it")


class ObjectChanges(Model):
    """The last change of the attributes the checks read, on one object."""

    dn: str
    attributes: dict[str, AttributeChange] = Field(default_factory=dict, description="LDAP display name → change")
    error: str | None = Field(None, description="Why the object's metadata could not be read")


class ChangeMetadata(Model):
    """Per object (keyed by dn_key) the last change of the attributes behind the checks' verdicts."""

    source: str = Field(description="replPropertyMetaData or msDS-ReplAttributeMetaData, and the DC")
    objects: dict[str, ObjectChanges] = Field(default_factory=dict)

    def of(self, dn: str) -> ObjectChanges | None:
        return self.objects.get(dn_key(dn))


class DirectoryState(Model):
    """What the on-premises checks need from the directory, read once over LDAP."""

    server: str = Field(description="The DC answered: dnsHostName and vendor")
    base_dn: str
    dns_domain: str
    domain_sid: str
    min_pwd_age: int | None = Field(None, description="The domain head's minPwdAge (interval)")
    min_pwd_age_error: str | None = Field(None, description="Why minPwdAge is None: absent or not an integer, named "
                                                            "with the domain head's DN")
    lockout: AccountLockout | None = Field(None, description="The domain head's account lockout; None in snapshots "
                                                             "that did not read it")
    max_pwd_age: int | None = Field(None, description="The domain head's maxPwdAge (interval; 0 or the minimum "
                                                      "interval = never expires); None: not read")
    max_pwd_age_error: str | None = Field(None, description="Why maxPwdAge is None")
    domain: SecuredObject
    admin_sd_holder: SecuredObject
    service_account_query: str = Field(description="The name or DN the policy gave for the sync account")
    service_account: ServiceAccount | None = Field(None, description="None when no such account exists")
    target_ous: list[SecuredObject] = Field(default_factory=list)
    users: list[DirectoryUser] = Field(default_factory=list)
    dacls: dict[str, DaclFacts] = Field(
        default_factory=dict, description="Users' DACLs (owner included), shared by key: every ACE when "
        "access_control was read, else only the sync account's SIDs' (older snapshots)"
    )
    password_settings: list[PasswordSettings] = Field(default_factory=list)
    password_settings_readable: bool = Field(
        True, description="False when the Password Settings Container was not visible to the bind account"
    )
    gpos: list[GroupPolicy] = Field(default_factory=list)
    blocks_inheritance: list[str] | None = Field(
        None, description="OUs whose gPOptions blocks inheritance (bit 1); None in snapshots that did not read it")
    member_computers: dict[str, int] | None = Field(
        None, description="Container DN → member computers (not DCs) directly in it; None: not read")
    reach_beyond: ReachBeyond | None = Field(
        None, description="The sync account's Reset Password beyond the target OUs; None: not read")
    password_protection_agents: PasswordProtectionAgents | None = Field(
        None, description="The DCs and their Entra Password Protection DC agents; None: not read")
    computer_tokens: list[ComputerToken] | None = Field(
        None, description="Member computers (not DCs) grouped by the GPO-relevant SIDs of their tokens, for "
                          "security filtering; None: not read (older snapshots)")
    dc_tokens: list[ComputerToken] | None = Field(
        None, description="Domain controllers grouped the same way: who applies the domain's account policy")
    access_control: AccessControl | None = Field(
        None, description="Full descriptors and principals for the delegation checks; None: not read")
    cloud_sync_accounts: CloudSyncAccounts | None = Field(
        None, description="Accounts named provAgentgMSA* (Cloud Sync's gMSA); None: not read (older snapshots)")
    change_metadata: ChangeMetadata | None = Field(
        None, description="When and where the attributes behind the verdicts last changed; None: not read")
    change_metadata_error: str | None = Field(None, description="Why change_metadata is None")

    @property
    def min_pwd_age_days(self) -> int | None:
        return None if self.min_pwd_age is None else interval_whole_days(self.min_pwd_age)

    def in_scope_users(self) -> list[DirectoryUser]:
        """Users who can reset through writeback: enabled and not critical system objects."""
        return [u for u in self.users if u.enabled and not u.critical]

    def users_under(self, ou_dn: str) -> list[DirectoryUser]:
        """In-scope users below `ou_dn` (anywhere in its subtree)."""
        return [u for u in self.in_scope_users() if is_within(u.dn, ou_dn)]

    def users_by_target(self) -> dict[str, list[DirectoryUser]]:
        """In-scope users grouped by the target OU they belong to (keyed by dn_key)."""
        keys: dict[str, str] = {}
        out: dict[str, list[DirectoryUser]] = {}
        for user in self.in_scope_users():
            key = keys.get(user.target_ou) or keys.setdefault(user.target_ou, dn_key(user.target_ou))
            out.setdefault(key, []).append(user)
        return out

    def dacl_of(self, user: DirectoryUser) -> DaclFacts | None:
        return None if user.dacl_key is None else self.dacls.get(user.dacl_key)

    def password_settings_by_dn(self) -> dict[str, PasswordSettings]:
        return {dn_key(p.dn): p for p in self.password_settings}


class GpoTemplate(Model):
    """One GPO's security template (GptTmpl.inf) as read from SYSVOL."""

    path: str = Field(description="UNC path of GptTmpl.inf")
    gpo_guid: str
    present: bool = Field(description="False when the GPO has no GptTmpl.inf (a fresh Samba domain)")
    encoding: str | None = None
    newline: str | None = Field(None, description="CRLF or LF")
    minimum_password_age: int | None = Field(None, description="[System Access] MinimumPasswordAge, days")
    maximum_password_age: int | None = Field(None, description="[System Access] MaximumPasswordAge, days (0 or -1 = "
                                                               "passwords never expire)")
    lockout_bad_count: int | None = Field(None, description="[System Access] LockoutBadCount (0 = never locked out)")
    reset_lockout_count: int | None = Field(None, description="[System Access] ResetLockoutCount, minutes")
    lockout_duration: int | None = Field(None, description="[System Access] LockoutDuration, minutes (-1 = until "
                                                           "an administrator unlocks)")
    content_b64: str | None = Field(None, description="The file as read, base64 (for a later rewrite)")
    gpt_ini_version: int | None = Field(None, description="GPT.INI [General] Version")
    error: str | None = Field(None, description="Why this GPO's template could not be read (then nothing is known)")


class SysvolState(GpoTemplate):
    """The Default Domain Policy's security template, and those of the other GPOs linked in the domain.

    `templates` holds every linked GPO other than the Default Domain Policy (each may carry its own
    error); a GPO linked to the domain head that is missing from it was not read.
    """

    templates: list[GpoTemplate] = Field(default_factory=list)

    def all_templates(self) -> dict[str, GpoTemplate]:
        """GPO GUID (upper case) → its template, the Default Domain Policy included."""
        out: dict[str, GpoTemplate] = {t.gpo_guid.upper(): t for t in self.templates}
        out[self.gpo_guid.upper()] = self
        return out


class SyncAccountCandidate(Model):
    """An account that may be the one writeback runs as, and what points at it."""

    dn: str
    sam_account_name: str
    sid: str
    object_classes: list[str] = Field(default_factory=list)
    named_as: str | None = Field(None, description="The naming convention it follows (Entra Connect, cloud sync)")
    grants: list[str] = Field(default_factory=list, description="Reset Password grants that reach it, as evidence")
    reset_on: list[str] = Field(default_factory=list, description="Target OUs that pass Reset Password down to it")


class DirectoryDiscovery(Model):
    """What `export` found without a policy: which OUs are synced and which account writes passwords back."""

    base_dn: str
    target_ous: list[str] = Field(default_factory=list)
    target_ous_from: str = Field(description="Where the target OUs came from, for the export's comments")
    synced_users: dict[str, int] = Field(default_factory=dict, description="Target OU → synced users below it "
                                                                           "(Graph), when Graph named them")
    elsewhere: dict[str, int] = Field(default_factory=dict, description="Containers of synced users outside this "
                                                                        "naming context (another domain)")
    candidates: list[SyncAccountCandidate] = Field(default_factory=list, description="Best first")
