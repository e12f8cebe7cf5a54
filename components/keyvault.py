"""The customer-managed key: a private, purge-protected Key Vault, the key, and the identity allowed to use it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumiverse_time as time
from pulumi_azure_native import keyvault, managedidentity

from settings.catalog import CMK_ROLE

from .guardrails import KeyExpiryAlertSpec, key_expiry_alert
from .shared import (
    CustomerManagedKeySpec,
    DiagnosticsSpec,
    PrivateEndpointSpec,
    RoleGrant,
    assign_role,
    data_opts,
    delete_lock,
    diagnostic_setting,
    private_endpoint,
)

KEY_NAME = "aoai-cmk"


@dataclass(frozen=True)
class CustomerManagedKeyArgs:
    """The vault and key: names, tenant, SKU, key type, rotation and expiry, the identity to create, and where the
    private endpoint, DNS and audit logs go."""

    vault_name: str
    base_name: str
    location: str
    resource_group_name: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    vault_dns_zone_id: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    # "standard" or "premium" (HSM-backed keys need premium).
    vault_sku: str
    # "RSA" or "RSA-HSM", and its size in bits.
    key_type: str
    key_size: int
    # ISO 8601 durations of the rotation policy: a new version after `rotate_after`, each version expiring after
    # `key_lifetime`, a near-expiry event `notify_before` its expiry.
    rotate_after: str
    key_lifetime: str
    notify_before: str
    # The first version's expiry, in seconds since the epoch (later versions take the rotation policy's).
    key_expires_epoch: int
    soft_delete_retention_days: int
    # How long to wait after granting the identity the key, before anything uses it ("" for no wait): a Go duration
    # such as "2m" (the time provider's Sleep).
    rbac_propagation_delay: str
    # Create the user-assigned identity that reads the key (and grant it the key); False when the account's own
    # system-assigned identity reads it, granted by the composition once the account exists.
    user_assigned_identity: bool = True
    protect: bool = False
    locks: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    # The key's near-expiry and expiry events as Azure Monitor alerts (the guardrails' keyExpiryAlerts).
    key_expiry_alert: KeyExpiryAlertSpec | None = None


class CustomerManagedKey(pulumi.ComponentResource):
    """Key Vault (RBAC, soft delete, purge protection, private only), an RSA key with rotation and expiry, and a
    user-assigned identity holding Key Vault Crypto Service Encryption User on that key alone.

    The identity exists before the account, so the account can be created already encrypted with the key: a
    system-assigned identity would not exist until after the account.
    """

    vault_id: pulumi.Output[str]
    """The vault's resource id."""
    vault_uri: pulumi.Output[str]
    """The vault's URI, e.g. https://kv-aoai-prod-swc.vault.azure.net/."""
    key_id: pulumi.Output[str]
    """The key's resource id (the scope of the identity's role)."""
    key_name: pulumi.Output[str]
    """The key's name in the vault."""
    key_version: pulumi.Output[str]
    """The key version the account pins; a rotation shows up at the next `pulumi refresh`."""
    key_uri_with_version: pulumi.Output[str]
    """The versioned key URI."""
    identity_id: pulumi.Output[str] | None
    """The user-assigned identity's resource id (None with a system-assigned identity)."""
    identity_client_id: pulumi.Output[str] | None
    """The identity's client id, which the account's encryption block names."""
    identity_principal_id: pulumi.Output[str] | None
    """The identity's principal (object) id."""
    key_scope_key: str
    """Stable text naming the key in role assignment GUIDs (`<vault>/keys/<key>`), known before Azure returns ids."""
    key_access: list[pulumi.Resource]
    """What a resource encrypted through the user-assigned identity waits for (`depends_on`): the identity's role
    assignment on the key, and the wait for it to propagate; empty without a user-assigned identity."""
    customer_managed_key: CustomerManagedKeySpec
    """The key as a resource encrypted with it names it: vault URI, key, pinned version, and the user-assigned
    identity that reads it (none when the resource's own identity does)."""

    def __init__(self, name: str, args: CustomerManagedKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aoai:keyvault:CustomerManagedKey", name, None, opts)
        vault = keyvault.Vault(
            f"{name}-vault", vault_name=args.vault_name, resource_group_name=args.resource_group_name,
            location=args.location, tags=dict(args.tags),
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName(args.vault_sku)),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.soft_delete_retention_days,
                enable_purge_protection=True,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
                public_network_access="Disabled",
                # Trusted Microsoft services (Azure OpenAI among them) reach the key past the firewall.
                network_acls=keyvault.NetworkRuleSetArgs(bypass="AzureServices", default_action="Deny", ip_rules=[],
                                                         virtual_network_rules=[]),
            ),
            opts=data_opts(self, args.protect))
        # Key Vault emits near-expiry events only for key versions created after the subscription exists.
        expiry_alert = (key_expiry_alert(name, vault, args.key_expiry_alert, parent=self)
                        if args.key_expiry_alert is not None else None)
        key = keyvault.Key(
            f"{name}-key", key_name=KEY_NAME, vault_name=vault.name, resource_group_name=args.resource_group_name,
            tags=dict(args.tags),
            properties=keyvault.KeyPropertiesArgs(
                kty=args.key_type,
                key_size=args.key_size,
                key_ops=["wrapKey", "unwrapKey"],
                attributes=keyvault.KeyAttributesArgs(enabled=True, expires=args.key_expires_epoch),
                rotation_policy=keyvault.RotationPolicyArgs(
                    attributes=keyvault.KeyRotationPolicyAttributesArgs(expiry_time=args.key_lifetime),
                    lifetime_actions=[
                        keyvault.LifetimeActionArgs(trigger=keyvault.TriggerArgs(time_after_create=args.rotate_after),
                                                    action=keyvault.ActionArgs(type=keyvault.KeyRotationPolicyActionType.ROTATE)),
                        keyvault.LifetimeActionArgs(trigger=keyvault.TriggerArgs(time_before_expiry=args.notify_before),
                                                    action=keyvault.ActionArgs(type=keyvault.KeyRotationPolicyActionType.NOTIFY)),
                    ],
                ),
            ),
            opts=data_opts(self, args.protect, [expiry_alert] if expiry_alert is not None else None))
        self.key_scope_key = f"{args.vault_name}/keys/{KEY_NAME}"
        self.key_access = []
        self.identity_id = self.identity_client_id = self.identity_principal_id = None
        if args.user_assigned_identity:
            identity = managedidentity.UserAssignedIdentity(
                f"{name}-identity", resource_name_=f"id-{args.base_name}-cmk",
                resource_group_name=args.resource_group_name, location=args.location, tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self))
            grant = assign_role(
                f"{name}-key-access", key.id, self.key_scope_key, key_reader_grant(identity.principal_id,
                                                                                  f"{args.base_name}/identity"),
                args.subscription_id, parent=self)
            self.key_access = [grant]
            if args.rbac_propagation_delay:
                # Azure checks the identity's access to the key when the account is written, and a new role
                # assignment can take minutes to reach Key Vault (Microsoft Learn "Troubleshoot Azure RBAC": up to
                # 10 minutes). The wait runs once, when the assignment is created or replaced, never on later runs.
                self.key_access.append(time.Sleep(
                    f"{name}-rbac-propagation", create_duration=args.rbac_propagation_delay,
                    triggers={"roleAssignmentId": grant.id},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[grant])))
            self.identity_id = identity.id
            self.identity_client_id = identity.client_id
            self.identity_principal_id = identity.principal_id
        private_endpoint(
            f"{name}-pe",
            PrivateEndpointSpec(vault.id, "vault", args.subnet_id, {"vault": args.vault_dns_zone_id}, args.location,
                                args.resource_group_name, f"pe-{args.vault_name}", args.tags),
            parent=self)
        diagnostic_setting(f"{name}-diagnostics", vault.id,
                           DiagnosticsSpec(args.workspace_id, category_groups=("audit",)), parent=self)
        if args.locks:
            delete_lock(f"{name}-vault-lock", vault.id, "the customer-managed key", parent=self)
            delete_lock(f"{name}-key-lock", key.id, "the key that encrypts the account's data", parent=self)

        self.vault_id = vault.id
        self.vault_uri = vault.properties.apply(lambda p: p.vault_uri)
        self.key_id = key.id
        self.key_name = key.name
        self.key_uri_with_version = key.key_uri_with_version
        self.key_version = key.key_uri_with_version.apply(lambda uri: uri.rstrip("/").split("/")[-1])
        self.customer_managed_key = CustomerManagedKeySpec(
            key_vault_uri=self.vault_uri, key_name=self.key_name, key_version=self.key_version,
            user_assigned_identity_resource_id=self.identity_id,
            user_assigned_identity_client_id=self.identity_client_id)
        self.register_outputs({
            "vaultId": self.vault_id, "vaultUri": self.vault_uri, "keyId": self.key_id,
            "keyUriWithVersion": self.key_uri_with_version, "identityId": self.identity_id,
        })


def key_reader_grant(principal_id: pulumi.Input[str], principal_key: str) -> RoleGrant:
    """Key Vault Crypto Service Encryption User for the principal that reads the key, to be assigned on the key
    itself, not the vault: it can wrap and unwrap this key and nothing else."""
    return RoleGrant(principal_id, "ServicePrincipal", CMK_ROLE, principal_key,
                     "Azure OpenAI account reads its customer-managed key")
