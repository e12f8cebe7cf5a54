"""One regional environment: network, key, monitoring, account, access and alerts, wired in the order Azure needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import resources

from settings.catalog import ACCOUNT_ZONE_KEYS, DNS_ZONES, LOG_CATEGORY_GROUPS, PROVISIONED_SKUS
from settings.model import RegionSettings, Settings

from .access import Access, AccessArgs
from .guardrails import KeyExpiryAlertSpec, RegionGuardrailTarget
from .keyvault import CustomerManagedKey, CustomerManagedKeyArgs, key_reader_grant
from .monitoring import Alerts, AlertsArgs, Monitoring, MonitoringArgs
from .network import Network, NetworkArgs, PrivateDnsZones, PrivateDnsZonesArgs
from .openai import OpenAIAccount, OpenAIAccountArgs
from .shared import DiagnosticsSpec, ManagedIdentitiesSpec, assign_role


def shared_dns_zones(settings: Settings) -> PrivateDnsZones:
    """The global private DNS zones, created once in the primary region's shared group (or the hub's, by id)."""
    primary = settings.primary
    return PrivateDnsZones(
        f"{settings.name_prefix}-{settings.environment}-dns",
        PrivateDnsZonesArgs(
            zone_keys=(*ACCOUNT_ZONE_KEYS[settings.account.kind], "vault"),
            zone_names=DNS_ZONES[settings.cloud], location=primary.location,
            resource_group_name=f"rg-{settings.name_prefix}-{settings.environment}-dns",
            existing_zone_ids=settings.dns.existing_zone_ids, tags=settings.tags))


@dataclass(frozen=True)
class RegionalEnvironmentArgs:
    """The stack's settings, the region this environment lives in, the shared DNS zones and the tenant."""

    settings: Settings
    region: RegionSettings
    zones: PrivateDnsZones
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]


class RegionalEnvironment(pulumi.ComponentResource):
    """Everything one region needs, so that prompts, keys and logs stay in that region."""

    outputs: dict[str, Any]
    """What the stack exports for this region: endpoint, account, deployments, key and workspace."""
    guardrail_target: RegionGuardrailTarget
    """What the stack's guardrails govern and watch in this region (the environment itself is what they wait for)."""

    def __init__(self, name: str, args: RegionalEnvironmentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aoai:environment:RegionalEnvironment", name, None, opts)
        s, region = args.settings, args.region
        base = s.base_name(region)
        tags = s.tags
        protect, locks = s.protection.protect, s.protection.locks
        child = pulumi.ResourceOptions(parent=self)

        group = resources.ResourceGroup(f"{name}-rg", resource_group_name=f"rg-{base}", location=region.location,
                                        tags=dict(tags), opts=child)
        net = Network(f"{name}-network", NetworkArgs(
            location=region.location, resource_group_name=group.name, base_name=base,
            vnet_address_space=region.vnet_address_space, private_endpoint_subnet=region.private_endpoint_subnet,
            existing_subnet_id=region.existing_subnet_id, existing_vnet_id=region.existing_vnet_id,
            zones=args.zones, tags=tags), opts=child)
        monitoring = Monitoring(f"{name}-monitoring", MonitoringArgs(
            base_name=base, location=region.location, resource_group_name=group.name,
            retention_days=s.monitoring.retention_days,
            existing_workspace_id=s.monitoring.existing_workspace_ids.get(region.location),
            alert_emails=s.monitoring.alert_emails, protect=protect, locks=locks, tags=tags), opts=child)
        expiry_alert = None
        if s.guardrails.key_expiry_alerts and monitoring.action_group_id is not None:
            expiry_alert = KeyExpiryAlertSpec(
                action_group_id=monitoring.action_group_id, severity=s.guardrails.key_expiry_severity,
                resource_group_name=group.name, location=region.location, topic_name=f"evgt-{s.vault_name(region)}",
                tags=tags)
        kv = s.key_vault
        user_assigned = kv.identity == "userAssigned"
        cmk = CustomerManagedKey(f"{name}-cmk", CustomerManagedKeyArgs(
            vault_name=s.vault_name(region), base_name=base, location=region.location,
            resource_group_name=group.name, tenant_id=args.tenant_id, subscription_id=args.subscription_id,
            subnet_id=net.subnet_id, vault_dns_zone_id=args.zones.zone_ids["vault"],
            workspace_id=monitoring.workspace_id, vault_sku=kv.sku, key_type=kv.key_type, key_size=kv.key_size,
            rotate_after=kv.rotate_after, key_lifetime=kv.key_lifetime, notify_before=kv.notify_before,
            key_expires_epoch=kv.key_expires_epoch, soft_delete_retention_days=kv.soft_delete_retention_days,
            rbac_propagation_delay=kv.rbac_propagation_delay, user_assigned_identity=user_assigned,
            protect=protect, locks=locks, tags=tags, key_expiry_alert=expiry_alert), opts=child)
        # The key encrypts the account in this run with a user-assigned identity, or at step 2 of the system-assigned
        # enablement (the account's identity was granted the key by step 1).
        key = cmk.customer_managed_key if kv.encrypts_account else None
        uses_key_identity = key is not None and key.user_assigned_identity_resource_id is not None
        categories = s.monitoring.account_log_categories
        account = OpenAIAccount(f"{name}-openai", OpenAIAccountArgs(
            account_name=base, location=region.location, resource_group_name=group.name, kind=s.account.kind,
            sku=s.account.sku, allowed_fqdns=s.account.allowed_fqdns, network_bypass=s.account.network_bypass,
            restore=s.account.restore, deployments=s.deployments_in(region.location),
            content_filters=s.content_filters, subnet_id=net.subnet_id, dns_zone_ids=args.zones.zone_ids,
            diagnostics=DiagnosticsSpec(
                monitoring.workspace_id,
                categories=tuple(c for c in categories if c not in LOG_CATEGORY_GROUPS),
                category_groups=tuple(c for c in categories if c in LOG_CATEGORY_GROUPS)),
            # Its own identity unless the key's user-assigned identity reads the key (the account then carries that).
            managed_identities=ManagedIdentitiesSpec(system_assigned=not uses_key_identity),
            customer_managed_key=key, protect=protect, locks=locks, tags=tags),
            # Azure validates the identity's access to the key when the account is written: the grant, and the wait
            # for it to reach Key Vault, come first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=cmk.key_access if uses_key_identity else []))
        if kv.customer_managed_key and not user_assigned:
            # Two-step enablement: the grant follows the account (whose identity it names); it cannot precede it.
            assign_role(
                f"{name}-cmk-account-key-access", cmk.key_id, cmk.key_scope_key,
                key_reader_grant(account.principal_id, f"{base}/account-identity"), args.subscription_id,
                parent=self,
                # Created under the key component before the composition made it: the alias keeps that resource.
                aliases=[pulumi.Alias(parent=cmk)])
        if s.access:
            Access(f"{name}-access", AccessArgs(
                grants=s.access,
                scopes={"account": account.account_id, "keyVault": cmk.vault_id,
                        "workspace": monitoring.workspace_id},
                scope_keys={"account": base, "keyVault": s.vault_name(region), "workspace": f"log-{base}"},
                subscription_id=args.subscription_id),
                opts=child)
        if s.monitoring.alerts.enabled and monitoring.action_group_id is not None:
            alerts = s.monitoring.alerts
            Alerts(f"{name}-alerts", AlertsArgs(
                base_name=base, resource_group_name=group.name, account_id=account.account_id,
                action_group_id=monitoring.action_group_id, frequency=alerts.frequency, window=alerts.window,
                requests_metric=alerts.requests_metric, latency_metric=alerts.latency_metric,
                server_error_status_codes=alerts.server_error_status_codes,
                throttled_requests_threshold=alerts.throttled_requests_threshold,
                server_errors_threshold=alerts.server_errors_threshold,
                latency_ms_threshold=alerts.latency_ms_threshold,
                provisioned_utilization_percent=alerts.provisioned_utilization_percent,
                provisioned_deployments=tuple(d.name for d in s.deployments_in(region.location)
                                              if d.sku in PROVISIONED_SKUS),
                tags=tags), opts=child)

        key_reader: pulumi.Input[str] | None = None
        if kv.customer_managed_key:
            key_reader = (account.principal_id if not user_assigned
                          else cmk.identity_principal_id)
        self.guardrail_target = RegionGuardrailTarget(
            location=region.location, code=region.code, base_name=base, resource_group_name=group.name,
            resource_group_id=group.id, workspace_id=monitoring.workspace_id, vault_id=cmk.vault_id,
            action_group_id=monitoring.action_group_id, key_reader_principal_id=key_reader, governed=(self,))
        self.outputs = {
            "location": region.location,
            "endpoint": account.endpoint,
            "accountName": account.account_name,
            "accountId": account.account_id,
            "deployments": {d.name: {"model": d.model, "version": d.version, "sku": d.sku, "capacity": d.capacity,
                                     **({"spilloverTo": d.spillover} if d.spillover else {})}
                            for d in s.deployments_in(region.location)},
            "keyVaultUri": cmk.vault_uri,
            "keyId": cmk.key_id,
            "keyUriWithVersion": cmk.key_uri_with_version,
            "workspaceId": monitoring.workspace_id,
            "workspaceCustomerId": monitoring.workspace_customer_id,
            # For access reviews: who holds which role where, as configured (the CMK identity's grant is in keyId).
            "access": [{"principalId": g.principal_id, "principalType": g.principal_type, "role": g.role,
                        "scope": g.scope} for g in s.access],
            "resourceGroup": group.name,
        }
        self.register_outputs(self.outputs)
