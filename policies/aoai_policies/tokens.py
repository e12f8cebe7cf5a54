"""Type tokens the pack inspects, as strings: the pack never imports a provider SDK."""

from __future__ import annotations

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
ACTION_GROUPS = ("azure-native:monitor:ActionGroup", "azure-native:insights:ActionGroup")
SYSTEM_TOPIC = "azure-native:eventgrid:SystemTopic"
SYSTEM_TOPIC_EVENT_SUBSCRIPTION = "azure-native:eventgrid:SystemTopicEventSubscription"
DEFENDER_PRICING = "azure-native:security:Pricing"

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
    "azure-native:network:VirtualNetwork",
    "azure-native:network:NetworkSecurityGroup",
    PRIVATE_ENDPOINT,
    "azure-native:network:PublicIPAddress",
    "azure-native:privatedns:PrivateZone",
    "azure-native:privatedns:VirtualNetworkLink",
    WORKSPACE,
    "azure-native:monitor:ActionGroup",
    METRIC_ALERT,
    "azure-native:monitor:ScheduledQueryRule",
    ACTIVITY_LOG_ALERT,
    SYSTEM_TOPIC,
    "azure-native:insights:ActionGroup",
    "azure-native:insights:MetricAlert",
    "azure-native:storage:StorageAccount",
    "azure-native:search:Service",
})

# Words for messages: "Set ... on Key Vault 'x'" reads better than a type token.
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
}


def label(resource_type: str) -> str:
    """A reader's name for a type token, e.g. 'Key Vault'; the token's last segment for types not listed."""
    return _LABELS.get(resource_type, resource_type.rsplit(":", 1)[-1])
