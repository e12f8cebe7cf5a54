"""The cross-cutting pieces every component uses the same way: private endpoint, role assignment, diagnostics, lock.

Like the Azure Verified Modules' common types, each is one small spec and one helper, so the OpenAI account and the
Key Vault wire them identically and a new resource type costs a few lines.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, monitor, network

from settings.catalog import ROLE_IDS

# A fixed namespace so that role assignment names are the same GUIDs on every run and every machine.
_ASSIGNMENT_NAMESPACE = uuid.UUID("6f1d7c1e-8f1a-4c61-9a55-0c2c9b1f5a10")


def deterministic_guid(*parts: str) -> str:
    """A GUID derived from its parts: stable names for resources that Azure insists be named by GUID."""
    return str(uuid.uuid5(_ASSIGNMENT_NAMESPACE, "|".join(parts)))


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    """The subscription-qualified id of a built-in role. Built from the deploying subscription (known at preview),
    not from the scope's id (unknown until the resource exists), so a first preview's policies can judge the role."""
    role_guid = ROLE_IDS[role]
    return pulumi.Output.concat("/subscriptions/", subscription_id,
                                f"/providers/Microsoft.Authorization/roleDefinitions/{role_guid}")


@dataclass(frozen=True)
class RoleGrant:
    """A principal to be given a built-in role on one scope."""

    principal_id: pulumi.Input[str]
    principal_type: str
    role: str
    # Stable text naming the principal for the GUID (an object id, or `<component>/identity` for one created here).
    principal_key: str
    description: str = ""


def assign_role(name: str, scope: pulumi.Input[str], scope_key: str, grant: RoleGrant,
                subscription_id: pulumi.Input[str], parent: pulumi.Resource,
                depends_on: Sequence[pulumi.Resource] = (),
                aliases: Sequence[pulumi.Alias] = ()) -> authorization.RoleAssignment:
    """Grant `grant.role` on `scope`; the assignment's GUID name comes from the scope, principal and role.
    `aliases` name where an existing assignment was registered before (another parent), so moving it in the code
    does not delete and recreate it."""
    return authorization.RoleAssignment(
        name,
        role_assignment_name=deterministic_guid(scope_key, grant.principal_key, ROLE_IDS[grant.role]),
        scope=scope,
        principal_id=grant.principal_id,
        principal_type=grant.principal_type,
        role_definition_id=role_definition_id(subscription_id, grant.role),
        description=grant.description or None,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on), aliases=list(aliases) or None),
    )


@dataclass(frozen=True)
class ManagedIdentitiesSpec:
    """Which managed identities a resource carries: AVM's `managedIdentityAllType` (avm/utl/types/avm-common-types/
    main.bicep in Azure/bicep-registry-modules, read 2026-11-30), field for field."""

    system_assigned: bool = False
    user_assigned_resource_ids: Sequence[pulumi.Input[str]] = ()


@dataclass(frozen=True)
class CustomerManagedKeySpec:
    """The Key Vault key a resource is encrypted with, and the user-assigned identity that reads it (None: the
    resource's own system-assigned identity reads it).

    AVM's `customerManagedKeyType` (avm-common-types), the type its Cognitive Services account module takes
    (avm/res/cognitive-services/account/main.bicep, read 2026-11-30): keyName, keyVersion,
    userAssignedIdentityResourceId. Two values differ, because AVM reads them through `existing` references
    (a lookup by id) that a Pulumi program creating the vault and the identity in the same run cannot make: on a first
    preview neither exists yet. So the spec carries the vault's URI where AVM carries keyVaultResourceId, and the
    identity's client id beside its resource id (the values the account's encryption block takes). There is no
    autoRotationEnabled: AVM uses the type without it for this resource, and the account pins a key version
    (docs/key-rotation.md), so `key_version` is required.
    """

    key_vault_uri: pulumi.Input[str]
    key_name: pulumi.Input[str]
    key_version: pulumi.Input[str]
    user_assigned_identity_resource_id: pulumi.Input[str] | None = None
    user_assigned_identity_client_id: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        if (self.user_assigned_identity_resource_id is None) != (self.user_assigned_identity_client_id is None):
            raise ValueError("a user-assigned identity needs both its resource id and its client id")


@dataclass(frozen=True)
class PrivateEndpointSpec:
    """A private endpoint to `target_id` in `subnet_id`, registered in the given private DNS zones."""

    target_id: pulumi.Input[str]
    group_id: str
    subnet_id: pulumi.Input[str]
    dns_zone_ids: Mapping[str, pulumi.Input[str]]
    location: str
    resource_group_name: pulumi.Input[str]
    endpoint_name: str
    tags: Mapping[str, str] = field(default_factory=dict)


def private_endpoint(name: str, spec: PrivateEndpointSpec, parent: pulumi.Resource,
                     depends_on: Sequence[pulumi.Resource] = ()) -> network.PrivateEndpoint:
    """A private endpoint and its DNS zone group, so the service's name resolves to the private IP in the VNet."""
    endpoint = network.PrivateEndpoint(
        name,
        private_endpoint_name=spec.endpoint_name,
        resource_group_name=spec.resource_group_name,
        location=spec.location,
        subnet={"id": spec.subnet_id},
        private_link_service_connections=[{
            "name": spec.endpoint_name,
            "private_link_service_id": spec.target_id,
            "group_ids": [spec.group_id],
        }],
        custom_network_interface_name=f"{spec.endpoint_name}-nic",
        tags=dict(spec.tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
    network.PrivateDnsZoneGroup(
        f"{name}-dns",
        private_dns_zone_group_name="default",
        private_endpoint_name=endpoint.name,
        resource_group_name=spec.resource_group_name,
        private_dns_zone_configs=[
            {"name": zone_key, "private_dns_zone_id": zone_id} for zone_key, zone_id in spec.dns_zone_ids.items()
        ],
        opts=pulumi.ResourceOptions(parent=endpoint),
    )
    return endpoint


@dataclass(frozen=True)
class DiagnosticsSpec:
    """Where a resource's logs and metrics go: categories (or category groups) and a Log Analytics workspace."""

    workspace_id: pulumi.Input[str]
    categories: Sequence[str] = ()
    category_groups: Sequence[str] = ()
    metrics: bool = True


def diagnostic_setting(name: str, resource_id: pulumi.Input[str], spec: DiagnosticsSpec,
                       parent: pulumi.Resource) -> monitor.DiagnosticSetting:
    """Send the resource's logs and AllMetrics to the workspace (they land in the AzureDiagnostics table)."""
    logs = [monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in spec.categories]
    logs += [monitor.DiagnosticsLogSettingsArgs(category_group=g, enabled=True) for g in spec.category_groups]
    return monitor.DiagnosticSetting(
        name,
        name="to-log-analytics",
        resource_uri=resource_id,
        workspace_id=spec.workspace_id,
        logs=logs,
        metrics=[monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)] if spec.metrics else [],
        opts=pulumi.ResourceOptions(parent=parent),
    )


def delete_lock(name: str, scope: pulumi.Input[str], what: str, parent: pulumi.Resource,
                ) -> authorization.ManagementLockByScope:
    """A CanNotDelete lock: even an Owner must remove it before the resource (and its data) can be deleted."""
    return authorization.ManagementLockByScope(
        name,
        lock_name="do-not-delete",
        scope=scope,
        level="CanNotDelete",
        notes=f"Holds {what}. Remove deliberately, see docs/decommission.md.",
        opts=pulumi.ResourceOptions(parent=parent),
    )


def data_opts(parent: pulumi.Resource, protect: bool,
              depends_on: pulumi.Input[Sequence[pulumi.Input[pulumi.Resource]] | pulumi.Resource] | None = None,
              ) -> pulumi.ResourceOptions:
    """Options for a resource that holds data: `protect` from the stack, so `pulumi destroy` cannot remove it."""
    return pulumi.ResourceOptions(parent=parent, protect=protect, depends_on=depends_on)
