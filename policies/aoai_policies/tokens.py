"""Type tokens the pack inspects, as strings: the pack never imports a provider SDK.

`canonical_type` maps every spelling of an azure-native resource type to the default package's token, so that a
resource declared through an explicitly versioned module or a generated local package is judged by the same policies.
"""

from __future__ import annotations

import re

ACCOUNT = "azure-native:cognitiveservices:Account"
DEPLOYMENT = "azure-native:cognitiveservices:Deployment"
RAI_POLICY = "azure-native:cognitiveservices:RaiPolicy"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
USER_ASSIGNED_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
PRIVATE_DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
WORKSPACE = "azure-native:operationalinsights:Workspace"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
LOCK = "azure-native:authorization:ManagementLockByScope"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
POLICY_ASSIGNMENT = "azure-native:authorization:PolicyAssignment"
POLICY_EXEMPTION = "azure-native:authorization:PolicyExemption"
SUBSCRIPTION_DIAGNOSTIC_SETTING = "azure-native:monitor:SubscriptionDiagnosticSetting"
ACTIVITY_LOG_ALERT = "azure-native:monitor:ActivityLogAlert"
SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
ACTION_GROUPS = (ACTION_GROUP, "azure-native:insights:ActionGroup")
SYSTEM_TOPIC = "azure-native:eventgrid:SystemTopic"
SYSTEM_TOPIC_EVENT_SUBSCRIPTION = "azure-native:eventgrid:SystemTopicEventSubscription"
DEFENDER_PRICING = "azure-native:security:Pricing"
VIRTUAL_NETWORK = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
NETWORK_SECURITY_GROUP = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
VIRTUAL_NETWORK_PEERING = "azure-native:network:VirtualNetworkPeering"
PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
VIRTUAL_NETWORK_LINK = "azure-native:privatedns:VirtualNetworkLink"
SLEEP = "time:index/sleep:Sleep"

# Every type this project (or a likely extension of it) creates that takes `tags`. Extension resources (role
# assignments, locks, diagnostic settings), subnets and DNS zone groups take none, so they are not listed.
TAGGABLE_TYPES = frozenset({
    RESOURCE_GROUP,
    ACCOUNT,
    DEPLOYMENT,
    RAI_POLICY,
    "azure-native:cognitiveservices:CommitmentPlan",
    VAULT,
    KEY,
    USER_ASSIGNED_IDENTITY,
    VIRTUAL_NETWORK,
    NETWORK_SECURITY_GROUP,
    PRIVATE_ENDPOINT,
    "azure-native:network:PublicIPAddress",
    PRIVATE_ZONE,
    VIRTUAL_NETWORK_LINK,
    WORKSPACE,
    ACTION_GROUP,
    METRIC_ALERT,
    SCHEDULED_QUERY_RULE,
    ACTIVITY_LOG_ALERT,
    SYSTEM_TOPIC,
    "azure-native:insights:ActionGroup",
    "azure-native:insights:MetricAlert",
    "azure-native:storage:StorageAccount",
    "azure-native:search:Service",
})

# Words for messages: "Set ... on Key Vault 'x'" reads better than a type token. The program's table of resource
# shapes (settings/shapes.py, which the pack may not import) has the same words, flags and types for what the program
# creates; tests/program/test_shapes.py holds the two equal.
_LABELS = {
    ACCOUNT: "Azure OpenAI account",
    DEPLOYMENT: "model deployment",
    RAI_POLICY: "content filter (RAI policy)",
    VAULT: "Key Vault",
    KEY: "key",
    USER_ASSIGNED_IDENTITY: "user-assigned identity",
    PRIVATE_ENDPOINT: "private endpoint",
    PRIVATE_DNS_ZONE_GROUP: "private DNS zone group",
    WORKSPACE: "Log Analytics workspace",
    DIAGNOSTIC_SETTING: "diagnostic setting",
    METRIC_ALERT: "metric alert",
    ROLE_ASSIGNMENT: "role assignment",
    LOCK: "management lock",
    RESOURCE_GROUP: "resource group",
    POLICY_ASSIGNMENT: "policy assignment",
    POLICY_EXEMPTION: "policy exemption",
    SUBSCRIPTION_DIAGNOSTIC_SETTING: "subscription diagnostic setting",
    ACTIVITY_LOG_ALERT: "Activity Log alert",
    SCHEDULED_QUERY_RULE: "log alert",
    SYSTEM_TOPIC: "Event Grid system topic",
    SYSTEM_TOPIC_EVENT_SUBSCRIPTION: "Event Grid subscription",
    DEFENDER_PRICING: "Defender plan",
    VIRTUAL_NETWORK: "virtual network",
    SUBNET: "subnet",
    NETWORK_SECURITY_GROUP: "network security group",
    SECURITY_RULE: "security rule",
    VIRTUAL_NETWORK_PEERING: "virtual network peering",
    ACTION_GROUP: "action group",
    PRIVATE_ZONE: "private DNS zone",
    VIRTUAL_NETWORK_LINK: "virtual network link",
    SLEEP: "wait (time provider)",
}


def label(resource_type: str) -> str:
    """A reader's name for a type token, e.g. 'Key Vault'; the token's last segment for types not listed."""
    canonical = canonical_type(resource_type)
    return _LABELS.get(canonical, canonical.rsplit(":", 1)[-1])


# Every type the program registers (custom resources, its own components, the root stack and the azure-native
# provider): the baseline of `aoai-allowed-resource-types`. A test holds it equal to the types in both stacks' graphs;
# a stack admits more through that policy's `additionalAllowedTypes` config, reviewed like any waiver.
PROGRAM_TYPES = (
    "pulumi:pulumi:Stack",
    "pulumi:providers:azure-native",
    # The time provider's Sleep: the one-time wait for the key grant to propagate before the account is created.
    "pulumi:providers:time",
    SLEEP,
    "aoai:access:Access",
    "aoai:environment:RegionalEnvironment",
    "aoai:guardrails:Guardrails",
    "aoai:keyvault:CustomerManagedKey",
    "aoai:monitoring:Alerts",
    "aoai:monitoring:Monitoring",
    "aoai:network:Network",
    "aoai:network:PrivateDnsZones",
    "aoai:openai:OpenAIAccount",
    ROLE_ASSIGNMENT,
    LOCK,
    ACCOUNT,
    DEPLOYMENT,
    RAI_POLICY,
    VAULT,
    KEY,
    USER_ASSIGNED_IDENTITY,
    ACTION_GROUP,
    DIAGNOSTIC_SETTING,
    METRIC_ALERT,
    NETWORK_SECURITY_GROUP,
    PRIVATE_DNS_ZONE_GROUP,
    PRIVATE_ENDPOINT,
    SUBNET,
    VIRTUAL_NETWORK,
    WORKSPACE,
    PRIVATE_ZONE,
    VIRTUAL_NETWORK_LINK,
    RESOURCE_GROUP,
    POLICY_ASSIGNMENT,
    POLICY_EXEMPTION,
    SUBSCRIPTION_DIAGNOSTIC_SETTING,
    ACTIVITY_LOG_ALERT,
    SCHEDULED_QUERY_RULE,
    SYSTEM_TOPIC,
    SYSTEM_TOPIC_EVENT_SUBSCRIPTION,
    DEFENDER_PRICING,
)

# azure-native v3 moved the `insights` resources to `monitor`; the SDK keeps `azure-native:insights:<Type>` (and
# versioned `insights/vYYYYMMDD` forms) as aliases of the monitor classes (pulumi_azure_native/monitor/
# diagnostic_setting.py, metric_alert.py, action_group.py, v3.29.0, read 2026-11-30). Judged as the monitor types.
_MODULE_RENAMES = {"insights": "monitor"}

# Generated local packages of one API version are named `azure-native_<module>_<version>` and their tokens look like
# `azure-native_storage_v20240101:storage/v20240101:StorageAccount` (pulumi/pulumi-azure-native PR #4010, "Add
# Parameterize to generate an SDK for a specific API version", read 2026-11-30); the aliases of the default classes
# show the older explicit form `azure-native:cognitiveservices/v20250601:Account` (pulumi_azure_native/
# cognitiveservices/account.py, v3.29.0).
_AZURE_NATIVE_PACKAGE = re.compile(r"^azure-native(?:_[A-Za-z0-9_]+)?$", re.IGNORECASE)
_KNOWN = {t.lower(): t for t in (*PROGRAM_TYPES, *TAGGABLE_TYPES, *_LABELS)}


def canonical_type(token: str) -> str:
    """The default package's token for any spelling of an azure-native type: the package `azure-native` or a
    generated `azure-native_<module>_<version>`, the module with or without an API-version suffix (`keyvault/v20241101`)
    in any case, `insights` for `monitor`. Other providers' tokens (classic `azure:`, dynamic providers) are returned
    unchanged, so an allow-list of types refuses them."""
    if not isinstance(token, str):
        return str(token)
    if token.lower().startswith("pulumi:providers:"):
        package = token.split(":", 2)[2]
        return "pulumi:providers:azure-native" if _AZURE_NATIVE_PACKAGE.match(package) else token
    parts = token.split(":")
    if len(parts) != 3 or not _AZURE_NATIVE_PACKAGE.match(parts[0]):
        return token
    module = parts[1].replace("%2F", "/").replace("%2f", "/").split("/", 1)[0].lower()
    module = _MODULE_RENAMES.get(module, module)
    spelled = f"azure-native:{module}:{parts[2]}"
    return _KNOWN.get(spelled.lower(), spelled)
