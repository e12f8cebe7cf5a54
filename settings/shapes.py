"""What each resource type the program creates looks like to Azure: one table, read by the offline engine, the tests
and (for words and flags) the reports.

For every type: its Pulumi token, its Azure Resource Manager type, the input that names it, where its ARM id comes from
(a resource group and parent resources, a subscription, or the scope it extends), the words a message uses for it,
whether it takes tags, and whether it holds data (so that deleting it loses something). Adding a resource type to the
program means adding its row here, and its token, label and flags to the policy pack's own copy
(policies/aoai_policies/tokens.py, which may not import this; tests/program/test_shapes.py holds the two equal).

Tokens, name inputs and `tags` are those of the azure-native SDK the project pins (v3.29.0: each class's constructor,
pulumi_azure_native/<module>/<resource>.py); tests/program/test_shapes.py reads the installed SDK to hold them true.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ACCOUNT = "azure-native:cognitiveservices:Account"
DEPLOYMENT = "azure-native:cognitiveservices:Deployment"
RAI_POLICY = "azure-native:cognitiveservices:RaiPolicy"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
USER_ASSIGNED_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
VIRTUAL_NETWORK = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
NETWORK_SECURITY_GROUP = "azure-native:network:NetworkSecurityGroup"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
PRIVATE_DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
VIRTUAL_NETWORK_LINK = "azure-native:privatedns:VirtualNetworkLink"
WORKSPACE = "azure-native:operationalinsights:Workspace"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
ACTIVITY_LOG_ALERT = "azure-native:monitor:ActivityLogAlert"
SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
SUBSCRIPTION_DIAGNOSTIC_SETTING = "azure-native:monitor:SubscriptionDiagnosticSetting"
SYSTEM_TOPIC = "azure-native:eventgrid:SystemTopic"
SYSTEM_TOPIC_EVENT_SUBSCRIPTION = "azure-native:eventgrid:SystemTopicEventSubscription"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
LOCK = "azure-native:authorization:ManagementLockByScope"
POLICY_ASSIGNMENT = "azure-native:authorization:PolicyAssignment"
POLICY_EXEMPTION = "azure-native:authorization:PolicyExemption"
DEFENDER_PRICING = "azure-native:security:Pricing"
SLEEP = "time:index/sleep:Sleep"

# Where a resource's ARM id starts:
# /subscriptions/<s>/resourceGroups/<rg>/providers/<type>/<name>, under its parents' segments
IN_RESOURCE_GROUP = "resourceGroup"
# /subscriptions/<s>/providers/<type>/<name>; a resource group itself is /subscriptions/<s>/resourceGroups/<name>
IN_SUBSCRIPTION = "subscription"
# <scope>/providers/<type>/<name>: the resource applies to the one its scope input names (a role assignment, a lock)
EXTENSION = "extension"
# Only in Pulumi's state (the time provider's Sleep)
NOT_IN_AZURE = "none"
_LEVELS = (IN_RESOURCE_GROUP, IN_SUBSCRIPTION, EXTENSION, NOT_IN_AZURE)


@dataclass(frozen=True)
class Shape:
    """One resource type as Azure sees it, and as messages and reports name it."""

    token: str
    arm_type: str
    """The full ARM type, parents included: `Microsoft.CognitiveServices/accounts/deployments`."""
    name_input: str
    """The input (camelCase, as the engine records it) whose value is the resource's name in Azure."""
    label: str
    """A reader's words for the type: "Set ... on Key Vault 'x'"."""
    level: str = IN_RESOURCE_GROUP
    parent_inputs: tuple[str, ...] = ()
    """For a child type, the inputs naming each parent, outermost first (`accountName` for a deployment)."""
    scope_input: str | None = None
    """For an extension resource, the input holding the id of the resource (or scope) it applies to."""
    taggable: bool = False
    """Whether the type takes `tags` (extension resources, subnets and DNS zone groups do not)."""
    holds_data: bool = False
    """Whether deleting it loses data or what protects data: it is protected and locked where the stack says so."""

    def __post_init__(self) -> None:
        if self.level not in _LEVELS:
            raise ValueError(f"{self.token}: level {self.level!r} is not one of {_LEVELS}")
        if (self.level == EXTENSION) != (self.scope_input is not None):
            raise ValueError(f"{self.token}: an extension resource, and only one, names its scope input")
        if self.level == IN_RESOURCE_GROUP and len(self.parent_inputs) != len(self.arm_type.split("/")) - 2:
            raise ValueError(f"{self.token}: {self.arm_type} needs one parent input per parent type")

    @property
    def parents(self) -> tuple[tuple[str, str], ...]:
        """(input key, ARM collection) per parent, in the order they appear in the id: for a key,
        (("vaultName", "Microsoft.KeyVault/vaults"),)."""
        namespace, *collections = self.arm_type.split("/")
        segments = [f"{namespace}/{collections[0]}", *collections[1:]]
        return tuple(zip(self.parent_inputs, segments, strict=False))

    @property
    def collection(self) -> str:
        """The last segment of the ARM type, or all of it for a top-level type: what precedes the name in the id."""
        namespace, *collections = self.arm_type.split("/")
        return f"{namespace}/{collections[0]}" if len(collections) == 1 else collections[-1]

    def arm_id(self, subscription_id: str, inputs: Mapping[str, Any], default_name: str) -> str:
        """The id Azure gives a resource with these inputs (`default_name` where the name input is absent)."""
        name = inputs.get(self.name_input, default_name)
        if self.level == EXTENSION:
            assert self.scope_input is not None
            scope = str(inputs[self.scope_input])
            scope = scope if scope.startswith("/") else f"/{scope}"  # Azure answers with the leading slash
            return f"{scope}/providers/{self.arm_type}/{name}"
        if self.level == IN_SUBSCRIPTION:
            if self.arm_type == "Microsoft.Resources/resourceGroups":
                return f"/subscriptions/{subscription_id}/resourceGroups/{name}"
            return f"/subscriptions/{subscription_id}/providers/{self.arm_type}/{name}"
        if self.level == NOT_IN_AZURE:
            raise ValueError(f"{self.token} is not an Azure resource and has no ARM id")
        path = f"/subscriptions/{subscription_id}/resourceGroups/{inputs['resourceGroupName']}/providers"
        for parent_key, parent_collection in self.parents:
            path += f"/{parent_collection}/{inputs[parent_key]}"
        return f"{path}/{self.collection}/{name}"


_ROWS = (
    Shape(RESOURCE_GROUP, "Microsoft.Resources/resourceGroups", "resourceGroupName", "resource group",
          level=IN_SUBSCRIPTION, taggable=True),
    Shape(ACCOUNT, "Microsoft.CognitiveServices/accounts", "accountName", "Azure OpenAI account", taggable=True,
          holds_data=True),
    Shape(DEPLOYMENT, "Microsoft.CognitiveServices/accounts/deployments", "deploymentName", "model deployment",
          parent_inputs=("accountName",), taggable=True),
    Shape(RAI_POLICY, "Microsoft.CognitiveServices/accounts/raiPolicies", "raiPolicyName",
          "content filter (RAI policy)", parent_inputs=("accountName",), taggable=True),
    Shape(VAULT, "Microsoft.KeyVault/vaults", "vaultName", "Key Vault", taggable=True, holds_data=True),
    Shape(KEY, "Microsoft.KeyVault/vaults/keys", "keyName", "key", parent_inputs=("vaultName",), taggable=True,
          holds_data=True),
    Shape(USER_ASSIGNED_IDENTITY, "Microsoft.ManagedIdentity/userAssignedIdentities", "resourceName",
          "user-assigned identity", taggable=True),
    Shape(VIRTUAL_NETWORK, "Microsoft.Network/virtualNetworks", "virtualNetworkName", "virtual network",
          taggable=True),
    Shape(SUBNET, "Microsoft.Network/virtualNetworks/subnets", "subnetName", "subnet",
          parent_inputs=("virtualNetworkName",)),
    Shape(NETWORK_SECURITY_GROUP, "Microsoft.Network/networkSecurityGroups", "networkSecurityGroupName",
          "network security group", taggable=True),
    Shape(PRIVATE_ENDPOINT, "Microsoft.Network/privateEndpoints", "privateEndpointName", "private endpoint",
          taggable=True),
    Shape(PRIVATE_DNS_ZONE_GROUP, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups", "privateDnsZoneGroupName",
          "private DNS zone group", parent_inputs=("privateEndpointName",)),
    Shape(PRIVATE_ZONE, "Microsoft.Network/privateDnsZones", "privateZoneName", "private DNS zone", taggable=True),
    Shape(VIRTUAL_NETWORK_LINK, "Microsoft.Network/privateDnsZones/virtualNetworkLinks", "virtualNetworkLinkName",
          "virtual network link", parent_inputs=("privateZoneName",), taggable=True),
    Shape(WORKSPACE, "Microsoft.OperationalInsights/workspaces", "workspaceName", "Log Analytics workspace",
          taggable=True, holds_data=True),
    Shape(ACTION_GROUP, "Microsoft.Insights/actionGroups", "actionGroupName", "action group", taggable=True),
    Shape(METRIC_ALERT, "Microsoft.Insights/metricAlerts", "ruleName", "metric alert", taggable=True),
    Shape(ACTIVITY_LOG_ALERT, "Microsoft.Insights/activityLogAlerts", "activityLogAlertName", "Activity Log alert",
          taggable=True),
    Shape(SCHEDULED_QUERY_RULE, "Microsoft.Insights/scheduledQueryRules", "ruleName", "log alert", taggable=True),
    Shape(SYSTEM_TOPIC, "Microsoft.EventGrid/systemTopics", "systemTopicName", "Event Grid system topic",
          taggable=True),
    Shape(SYSTEM_TOPIC_EVENT_SUBSCRIPTION, "Microsoft.EventGrid/systemTopics/eventSubscriptions",
          "eventSubscriptionName", "Event Grid subscription", parent_inputs=("systemTopicName",)),
    Shape(ROLE_ASSIGNMENT, "Microsoft.Authorization/roleAssignments", "roleAssignmentName", "role assignment",
          level=EXTENSION, scope_input="scope"),
    Shape(LOCK, "Microsoft.Authorization/locks", "lockName", "management lock", level=EXTENSION,
          scope_input="scope"),
    Shape(DIAGNOSTIC_SETTING, "Microsoft.Insights/diagnosticSettings", "name", "diagnostic setting",
          level=EXTENSION, scope_input="resourceUri"),
    Shape(POLICY_ASSIGNMENT, "Microsoft.Authorization/policyAssignments", "policyAssignmentName",
          "policy assignment", level=EXTENSION, scope_input="scope"),
    Shape(POLICY_EXEMPTION, "Microsoft.Authorization/policyExemptions", "policyExemptionName", "policy exemption",
          level=EXTENSION, scope_input="scope"),
    # Defender plans take their scope as `subscriptions/<id>` (no leading slash: the REST path is /{scopeId}/...).
    Shape(DEFENDER_PRICING, "Microsoft.Security/pricings", "pricingName", "Defender plan", level=EXTENSION,
          scope_input="scopeId"),
    Shape(SUBSCRIPTION_DIAGNOSTIC_SETTING, "Microsoft.Insights/diagnosticSettings", "name",
          "subscription diagnostic setting", level=IN_SUBSCRIPTION),
    # The one-time wait for a new key grant to reach Key Vault before the account is written (components/keyvault.py).
    Shape(SLEEP, "", "", "wait (time provider)", level=NOT_IN_AZURE),
)

SHAPES: Mapping[str, Shape] = {shape.token: shape for shape in _ROWS}
"""Token -> shape, for every custom resource type the program creates."""
TAGGABLE_TYPES = frozenset(token for token, shape in SHAPES.items() if shape.taggable)
DATA_TYPES = tuple(token for token, shape in SHAPES.items() if shape.holds_data)
"""The types that hold data (account, vault, key, workspace): protected and locked where the stack says so."""


def shape(token: str) -> Shape:
    """The shape of a type the program creates; a clear error naming this table for any other."""
    try:
        return SHAPES[token]
    except KeyError:
        raise KeyError(f"no resource shape for {token}: add its row to settings/shapes.py") from None


def label(token: str) -> str:
    """A reader's name for a type token, e.g. 'Key Vault'; the token's last segment for a type not in the table."""
    found = SHAPES.get(token)
    return found.label if found is not None else token.rsplit(":", 1)[-1]
