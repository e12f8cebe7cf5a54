"""Azure OpenAI for a regulated enterprise: one private, CMK-encrypted, logged environment per configured region."""

import pulumi
from pulumi_azure_native import authorization

from components.environment import RegionalEnvironment, RegionalEnvironmentArgs, shared_dns_zones
from settings import load_settings

settings = load_settings()  # every config problem is reported here, before any resource is registered
tenant_id = authorization.get_client_config_output().tenant_id
zones = shared_dns_zones(settings)
regions = {
    region.location: RegionalEnvironment(
        settings.base_name(region), RegionalEnvironmentArgs(settings, region, zones, tenant_id)).outputs
    for region in settings.regions
}
pulumi.export("environment", settings.environment)
pulumi.export("regions", regions)
