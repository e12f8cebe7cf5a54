"""The policy pack: every policy of every concern, and `build()` which serves them to the Pulumi CLI."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy, PolicyPack

from . import (
    access,
    account,
    deployments,
    encryption,
    governance,
    guardrails,
    keys,
    lifecycle,
    monitoring,
    networking,
    private_access,
    protection,
    rbac,
    residency,
    tagging,
)

PACK_NAME = "aoai-policies"
DESCRIPTION = ("Azure OpenAI for regulated enterprises: private access, Entra ID only, customer-managed keys, data "
               "residency, approved and filtered models, least privilege, audit logging, deletion protection, tags, "
               "and the runtime guardrails that keep them holding after deployment.")

POLICIES: list[Policy] = [
    *account.POLICIES,
    *private_access.POLICIES,
    *encryption.POLICIES,
    *residency.POLICIES,
    *deployments.POLICIES,
    *lifecycle.POLICIES,
    *access.POLICIES,
    *monitoring.POLICIES,
    *protection.POLICIES,
    *tagging.POLICIES,
    *guardrails.POLICIES,
    *governance.POLICIES,
    *rbac.POLICIES,
    *networking.POLICIES,
    *keys.POLICIES,
]


def build() -> None:
    """Serve the pack over gRPC, as the CLI's policy host expects; prints the port and never returns."""
    PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY,
               description=DESCRIPTION, display_name="Azure OpenAI regulated baseline", provider="azure-native",
               tags=["azure", "azure-openai", "compliance"])
