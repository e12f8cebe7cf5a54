"""The Azure OpenAI account, its content-filter policies and model deployments, reached only by private endpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import cognitiveservices

from settings.catalog import ACCOUNT_ZONE_KEYS, CONTENT_FILTER_CATEGORIES
from settings.model import ContentFilterSettings, DeploymentSettings

from .shared import (
    CustomerManagedKeySpec,
    DiagnosticsSpec,
    ManagedIdentitiesSpec,
    PrivateEndpointSpec,
    data_opts,
    delete_lock,
    diagnostic_setting,
    private_endpoint,
)

# Content-filter names as the RAI policy API spells them.
_FILTER_NAMES = {"hate": "Hate", "sexual": "Sexual", "violence": "Violence", "selfharm": "Selfharm"}


@dataclass(frozen=True)
class OpenAIAccountArgs:
    """The account's kind, SKU and network rules, its deployments and filters, its identities and key, and where its
    endpoint and logs go."""

    account_name: str
    location: str
    resource_group_name: pulumi.Input[str]
    kind: str
    sku: str
    deployments: Sequence[DeploymentSettings]
    content_filters: Mapping[str, ContentFilterSettings]
    subnet_id: pulumi.Input[str]
    dns_zone_ids: Mapping[str, pulumi.Input[str]]
    diagnostics: DiagnosticsSpec
    # Hosts the account may call out to (restrictOutboundNetworkAccess is always on).
    allowed_fqdns: Sequence[str] = ()
    # "None", or "AzureServices" to let trusted Azure services past the network rules.
    network_bypass: str = "None"
    # Restore a soft-deleted account of the same name instead of creating one.
    restore: bool = False
    managed_identities: ManagedIdentitiesSpec = field(default_factory=ManagedIdentitiesSpec)
    customer_managed_key: CustomerManagedKeySpec | None = None
    protect: bool = False
    locks: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


def account_identity(identities: ManagedIdentitiesSpec,
                     key: CustomerManagedKeySpec | None) -> cognitiveservices.IdentityArgs | None:
    """The account's identity block: the identities asked for, plus the key's user-assigned identity, which the
    account must carry to read its key (as AVM's account module adds it)."""
    user_assigned = list(identities.user_assigned_resource_ids)
    key_identity = key.user_assigned_identity_resource_id if key is not None else None
    if key_identity is not None and key_identity not in user_assigned:
        user_assigned.append(key_identity)
    kind = cognitiveservices.ResourceIdentityType
    if identities.system_assigned:
        if not user_assigned:
            return cognitiveservices.IdentityArgs(type=kind.SYSTEM_ASSIGNED)
        return cognitiveservices.IdentityArgs(type=kind.SYSTEM_ASSIGNED_USER_ASSIGNED,
                                              user_assigned_identities=user_assigned)
    if user_assigned:
        return cognitiveservices.IdentityArgs(type=kind.USER_ASSIGNED, user_assigned_identities=user_assigned)
    return None


def account_encryption(key: CustomerManagedKeySpec | None) -> cognitiveservices.EncryptionArgs | None:
    """The encryption block: the pinned key version in the vault, read by the user-assigned identity named by its
    client id (or, without one, by the account's system-assigned identity)."""
    if key is None:
        return None
    return cognitiveservices.EncryptionArgs(
        key_source="Microsoft.KeyVault",
        key_vault_properties=cognitiveservices.KeyVaultPropertiesArgs(
            key_vault_uri=key.key_vault_uri, key_name=key.key_name, key_version=key.key_version,
            identity_client_id=key.user_assigned_identity_client_id))


def content_filters(spec: ContentFilterSettings) -> list[cognitiveservices.RaiPolicyContentFilterArgs]:
    """The RAI policy's filters: each harm category on prompts and completions, plus jailbreak and protected
    material, at the configured severity threshold."""
    filter_ = cognitiveservices.RaiPolicyContentFilterArgs
    filters = [
        filter_(name=_FILTER_NAMES[category], source=source, enabled=True, blocking=spec.blocking,
                severity_threshold=spec.severity_threshold)
        for category in CONTENT_FILTER_CATEGORIES for source in ("Prompt", "Completion")
    ]
    filters.append(filter_(name="Jailbreak", source="Prompt", enabled=spec.jailbreak, blocking=spec.jailbreak))
    for material in ("Protected Material Text", "Protected Material Code"):
        filters.append(filter_(name=material, source="Completion", enabled=spec.protected_material,
                               blocking=spec.protected_material))
    return filters


def creation_order(deployments: Sequence[DeploymentSettings]) -> list[DeploymentSettings]:
    """The deployments in stack-file order, except that a spillover target comes before the provisioned deployment
    that names it (Azure checks that spilloverDeploymentName exists)."""
    targets = {d.spillover for d in deployments if d.spillover}
    return sorted(deployments, key=lambda d: d.name not in targets)


class OpenAIAccount(pulumi.ComponentResource):
    """An Azure OpenAI account that only Entra ID principals reach, only through its private endpoint, encrypted
    with the customer-managed key; its content filters and its model deployments, created one at a time."""

    account_id: pulumi.Output[str]
    """The account's resource id (scope of role assignments, diagnostics and alerts)."""
    account_name: pulumi.Output[str]
    """The account's name, which is also its custom subdomain."""
    endpoint: pulumi.Output[str]
    """https://<subdomain>.openai.azure.com/ — resolves to the private endpoint inside the VNet."""
    deployments: dict[str, cognitiveservices.Deployment]
    """Deployment name -> deployment."""
    principal_id: pulumi.Output[str]
    """The account's system-assigned identity's principal id ("" when it has a user-assigned identity only)."""

    def __init__(self, name: str, args: OpenAIAccountArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aoai:openai:OpenAIAccount", name, None, opts)
        account = cognitiveservices.Account(
            f"{name}-account", account_name=args.account_name, resource_group_name=args.resource_group_name,
            location=args.location, kind=args.kind, sku=cognitiveservices.SkuArgs(name=args.sku),
            identity=account_identity(args.managed_identities, args.customer_managed_key),
            properties=cognitiveservices.AccountPropertiesArgs(
                # Required for Entra ID tokens and private endpoints; global and immutable, so it is the account name.
                custom_sub_domain_name=args.account_name,
                public_network_access="Disabled",
                network_acls=cognitiveservices.NetworkRuleSetArgs(
                    default_action="Deny", bypass=args.network_bypass, ip_rules=[], virtual_network_rules=[]),
                disable_local_auth=True,
                restrict_outbound_network_access=True,
                allowed_fqdn_list=list(args.allowed_fqdns),
                encryption=account_encryption(args.customer_managed_key),
                restore=True if args.restore else None,
            ),
            tags=dict(args.tags),
            # A component's depends_on holds back its registration, not its children's: the account, which Azure
            # validates against the key when it is written, waits itself for what the caller made this component
            # wait for (the identity's access to the key), so the edge is on the resource that needs it.
            opts=data_opts(self, args.protect, opts.depends_on if opts is not None else None))

        policies = {
            key: cognitiveservices.RaiPolicy(
                f"{name}-filter-{key}", rai_policy_name=key, account_name=account.name,
                resource_group_name=args.resource_group_name, tags=dict(args.tags),
                properties=cognitiveservices.RaiPolicyPropertiesArgs(
                    base_policy_name=spec.base_policy, mode=spec.mode, content_filters=content_filters(spec)),
                opts=pulumi.ResourceOptions(parent=self))
            for key, spec in args.content_filters.items()
            if any(d.content_filter == key for d in args.deployments)
        }
        self.deployments = {}
        previous: pulumi.Resource | None = None
        for d in creation_order(args.deployments):
            policy = policies[d.content_filter]
            after: list[pulumi.Resource] = [policy]
            if previous is not None:
                # Azure rejects parallel deployment writes on one account (409 RequestConflict).
                after.append(previous)
            # Requests above the reserved throughput go to the spillover deployment instead of a 429; it was
            # created earlier in the chain (creation_order), so the name resolves when Azure checks it.
            spillover = self.deployments[d.spillover].name if d.spillover is not None else None
            previous = self.deployments[d.name] = cognitiveservices.Deployment(
                f"{name}-deployment-{d.name}", deployment_name=d.name, account_name=account.name,
                resource_group_name=args.resource_group_name, tags=dict(args.tags),
                sku={"name": d.sku, "capacity": d.capacity},
                properties=cognitiveservices.DeploymentPropertiesArgs(
                    model=cognitiveservices.DeploymentModelArgs(format="OpenAI", name=d.model, version=d.version),
                    rai_policy_name=policy.name, version_upgrade_option=d.version_upgrade_option,
                    spillover_deployment_name=spillover),
                opts=pulumi.ResourceOptions(parent=self, depends_on=after))

        zone_keys = ACCOUNT_ZONE_KEYS[args.kind]
        private_endpoint(
            f"{name}-pe",
            PrivateEndpointSpec(account.id, "account", args.subnet_id, {k: args.dns_zone_ids[k] for k in zone_keys},
                                args.location, args.resource_group_name, f"pe-{args.account_name}", args.tags),
            parent=self,
            # Else Azure fails with AccountProvisioningStateInvalid while deployments are still being written.
            depends_on=list(self.deployments.values()))
        diagnostic_setting(f"{name}-diagnostics", account.id, args.diagnostics, parent=self)
        if args.locks:
            delete_lock(f"{name}-account-lock", account.id, "the model deployments and their configuration",
                        parent=self)

        self.principal_id = account.identity.apply(lambda i: i.principal_id if i and i.principal_id else "")
        self.account_id = account.id
        self.account_name = account.name
        self.endpoint = account.properties.apply(lambda p: p.endpoint)
        self.register_outputs({"accountId": self.account_id, "endpoint": self.endpoint,
                               "deployments": list(self.deployments)})
