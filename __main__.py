"""Azure OpenAI for a regulated enterprise: one private, CMK-encrypted, logged environment per configured region."""

import pulumi
from pulumi_azure_native import authorization

from components.environment import RegionalEnvironment, RegionalEnvironmentArgs, shared_dns_zones
from components.guardrails import Guardrails, GuardrailsArgs
from settings import load_settings

settings = load_settings()  # every config problem is reported here, before any resource is registered
for warning in settings.warnings:  # e.g. a model version retiring within modelLifecycle.warningDays
    pulumi.log.warn(warning)
client = authorization.get_client_config_output()  # the deploying principal's tenant and subscription
zones = shared_dns_zones(settings)
environments = [
    RegionalEnvironment(
        settings.base_name(region),
        RegionalEnvironmentArgs(settings, region, zones, client.tenant_id, client.subscription_id),
    )
    for region in settings.regions
]
stack_name = f"{settings.name_prefix}-{settings.environment}"
if settings.guardrails.enabled:
    # After every region: assignments wait for the resources they govern (docs/first-deployment.md).
    Guardrails(f"{stack_name}-guardrails", GuardrailsArgs(
        settings.guardrails, stack_name, [e.guardrail_target for e in environments], client.subscription_id,
        settings.tags))
pulumi.export("environment", settings.environment)
pulumi.export("regions", {region.location: e.outputs for region, e in zip(settings.regions, environments,
                                                                         strict=True)})
