"""methods_policy.registration_campaign: the methods policy's registration campaign is as the policy says.

`registrationEnforcement.authenticationMethodsRegistrationCampaign.state` of the authentication methods policy:
`enabled` nudges users at sign-in to register the Authenticator app, `disabled` never does, `default` leaves it to
Microsoft (learn.microsoft.com/graph/api/resources/authenticationmethodsregistrationcampaign;
learn.microsoft.com/entra/identity/authentication/how-to-mfa-registration-campaign). The SSPR rollout is felt when
users are asked to register at sign-in, so a team declares which state it wants.
"""

from __future__ import annotations

from auditor.checks.base import CheckSpec, Context, Evidence, Finding, Fix, Severity, Status

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
