"""methods_policy.registration_campaign: the methods policy's registration campaign is as the policy says.

`registrationEnforcement.authenticationMethodsRegistrationCampaign.state` of the authentication methods policy:
`enabled` nudges users at sign-in to register the Authenticator app, `disabled` never does, `default` leaves it to
Microsoft (learn.microsoft.com/graph/api/resources/authenticationmethodsregistrationcampaign;
learn.microsoft.com/entra/identity/authentication/how-to-mfa-registration-campaign). The SSPR rollout is felt when
users are asked to register at sign-in, so a team declares which state it wants.
"""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status
from auditor.fixes.changes import GraphMethodsPolicyChange, SettingChange
from auditor.fixes.fixer import FixContext, Fixer
from auditor.graph_fields import METHODS_PATH
from auditor.snapshot.models import MethodsPolicyState

KEY = "methods_policy.registration_campaign"
FIELD = "registrationEnforcement.authenticationMethodsRegistrationCampaign.state"

SPEC = CheckSpec(
    id="methods_policy.registration_campaign",
    title="The registration campaign (nudge to register at sign-in) is as the policy says",
    severity=Severity.low,
    policy_key=KEY,
    sections=("methods_policy",),
    references=(
        "https://learn.microsoft.com/graph/api/resources/authenticationmethodsregistrationcampaign",
        "https://learn.microsoft.com/entra/identity/authentication/how-to-mfa-registration-campaign",
    ),
    fix=Fix(
        portal="Entra admin center > Protection > Authentication methods > Registration campaign: State as the "
               "policy says",
        graph='PATCH /policies/authenticationMethodsPolicy {"registrationEnforcement": '
              '{"authenticationMethodsRegistrationCampaign": {"state": "enabled"}}}',
    ),
    description="Reads registrationEnforcement.authenticationMethodsRegistrationCampaign.state of GET "
                "/policies/authenticationMethodsPolicy.",
)


def evaluate(ctx: Context) -> list[Finding]:
    wanted = ctx.policy.methods_policy
    assert wanted is not None
    if wanted.registration_campaign is None:
        return [ctx.result(Status.not_applicable, target="registration campaign", key=KEY,
                           reason="the policy does not say which registration campaign state it wants")]
    live = ctx.section("methods_policy")
    evidence = [Evidence(source=ctx.source("methods_policy"), field=FIELD, value=live.registration_campaign_state)]
    actual = live.registration_campaign_state.lower() if live.registration_campaign_state else None
    return [ctx.compare(wanted.registration_campaign, actual, evidence, target="registration campaign", key=KEY,
                        what="the registration campaign")]


def fix(fx: FixContext, failing: list[Finding]) -> None:
    """The campaign state the policy declares, and nothing else: PATCH /policies/authenticationMethodsPolicy
    (Policy.ReadWrite.AuthenticationMethod; learn.microsoft.com/graph/api/authenticationmethodspolicy-update) with
    the whole `registrationEnforcement` as read just before the write, only its campaign's `state` changed."""
    live: MethodsPolicyState | None = fx.value("methods_policy")
    wanted = fx.policy.methods_policy
    if live is None or wanted is None or wanted.registration_campaign is None or not failing:
        return
    if live.registration_campaign_state is None:  # not read: the check says unknown, never failed; no old value
        return
    fx.add(GraphMethodsPolicyChange, failing, target=f"graph {METHODS_PATH}",
           summary=f"registration campaign state: {live.registration_campaign_state} → {wanted.registration_campaign}",
           setting=SettingChange(name="registration_campaign_state", old=live.registration_campaign_state,
                                 new=wanted.registration_campaign),
           depends_on=fx.depends("methods_policy"),
           note="only the campaign's state changes: registrationEnforcement is sent whole as read just before the "
                "write, its targets, snooze settings and any other property kept; rollback puts the whole "
                "registrationEnforcement back")


FIXER = Fixer(plan=fix)
