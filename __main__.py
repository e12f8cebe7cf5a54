"""Azure OpenAI for a regulated enterprise: one private, CMK-encrypted, logged environment per configured region."""

import pulumi
from pulumi_azure_native import authorization

from components.environment import RegionalEnvironment, RegionalEnvironmentArgs, shared_dns_zones
from settings import load_settings

settings = load_settings()  # every config problem is reported here, before any resource is registered
for warning in settings.warnings:  # e.g. a model version retiring within modelLifecycle.warningDays
    pulumi.log.warn(warning)
client = authorization.get_client_config_output()  # the deploying principal's tenant and subscription
zones = shared_dns_zones(settings)
regions = {
    region.location: RegionalEnvironment(
        settings.base_name(region),
        RegionalEnvironmentArgs(settings, region, zones, client.tenant_id, client.subscription_id),
    ).outputs
    for region in settings.regions
}
pulumi.export("environment", settings.environment)
pulumi.export("regions", regions)
