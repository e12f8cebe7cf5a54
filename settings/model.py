"""Frozen, typed settings for one stack: what the components receive after every value has been checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ResidencySettings:
    """Where prompts, keys and logs may live: the regions allowed and how far a deployment SKU may carry data."""

    mode: str
    data_zone: str | None
    allowed_regions: tuple[str, ...]
    allowed_skus: frozenset[str]


@dataclass(frozen=True)
class RegionSettings:
    """One regional environment; either a VNet we create or an existing private-endpoint subnet (hub and spoke)."""

    location: str
    code: str
    vnet_address_space: str | None = None
    private_endpoint_subnet: str | None = None
    existing_subnet_id: str | None = None

    @property
    def existing_vnet_id(self) -> str | None:
        """The VNet of an existing subnet id, for linking private DNS zones to it."""
        if self.existing_subnet_id is None:
            return None
        return self.existing_subnet_id.split("/subnets/")[0]


@dataclass(frozen=True)
class DnsSettings:
    """Private DNS zones: created here and linked to every region's VNet, or existing ones from a hub."""

    existing_zone_ids: dict[str, str] = field(default_factory=dict)

@dataclass(frozen=True)
class KeyVaultSettings:
    """The vault and customer-managed key: SKU, key type and size, rotation and expiry."""

    sku: str
    key_type: str
    key_size: int
    rotate_after: str
    key_lifetime: str
    notify_before: str
    key_expires_on: str
    key_expires_epoch: int
    soft_delete_retention_days: int
    customer_managed_key: bool
    # "userAssigned": one pass, the identity exists before the account. "systemAssigned": two `pulumi up`s, step 1
    # grants the account's own identity the key, step 2 encrypts (the identity does not exist before the account).
    identity: str = "userAssigned"
    system_assigned_step: int | None = None
    # How long the first `pulumi up` waits after granting the identity the key, before creating the account ("" for
    # no wait): a Go duration such as "2m" (the time provider's Sleep).
    rbac_propagation_delay: str = "2m"

    @property
    def encrypts_account(self) -> bool:
        """Whether the account's encryption block is set in this run."""
        return self.customer_managed_key and (self.identity == "userAssigned" or self.system_assigned_step == 2)

@dataclass(frozen=True)
class AccountSettings:
    """The Azure OpenAI account: kind, SKU, outbound allow-list and whether to restore a soft-deleted one."""

    kind: str
    sku: str
    allowed_fqdns: tuple[str, ...]
    restore: bool
    network_bypass: str


@dataclass(frozen=True)
class ContentFilterSettings:
    """A content-filter (RAI) policy: the severity at which hate, sexual, violence and self-harm are blocked."""

    name: str
    base_policy: str
    mode: str
    severity_threshold: str
    blocking: bool
    jailbreak: bool
    protected_material: bool


@dataclass(frozen=True)
class DeploymentSettings:
    """One model deployment, on the account of each region it lands in."""

    name: str
    model: str
    version: str
    sku: str
    capacity: int
    version_upgrade_option: str
    content_filter: str
    regions: tuple[str, ...]
    # A pay-per-token deployment that takes a provisioned deployment's requests above its reserved throughput
    # (spilloverDeploymentName) instead of answering them with HTTP 429.
    spillover: str | None = None


@dataclass(frozen=True)
class RoleAssignmentSettings:
    """An Entra ID principal given a built-in role on one of the environment's resources."""

    principal_id: str
    principal_type: str
    role: str
    role_id: str
    scope: str
    description: str


@dataclass(frozen=True)
class AlertSettings:
    """Metric alerts on each account. Metric names default to the catalogue's (settings/catalog.py, with their
    source); an override exists because Azure renames metrics now and then."""

    enabled: bool
    throttled_requests_threshold: int
    server_errors_threshold: int
    latency_ms_threshold: int
    provisioned_utilization_percent: int
    window: str
    frequency: str
    requests_metric: str
    latency_metric: str
    server_error_status_codes: tuple[str, ...]


@dataclass(frozen=True)
class MonitoringSettings:
    """Log Analytics (created per region, or an existing one), diagnostic categories and alert receivers."""

    retention_days: int
    existing_workspace_ids: dict[str, str]
    account_log_categories: tuple[str, ...]
    alert_emails: tuple[str, ...]
    alerts: AlertSettings


@dataclass(frozen=True)
class ProtectionSettings:
    """Deletion protection for what holds data: Pulumi `protect` and Azure CanNotDelete locks."""

    protect: bool
    locks: bool


@dataclass(frozen=True)
class GuardrailAssignment:
    """One guardrail control as this stack assigns it: the built-in definition, the effect and its parameters."""

    control: str
    name: str
    title: str
    definition_guid: str
    definition_name: str
    definition_version: str
    effect_parameter: str
    effect: str
    level: str
    mirrors: tuple[str, ...]
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def definition_id(self) -> str:
        """Built-in definitions live at the tenant root, so their id names no subscription."""
        return f"/providers/Microsoft.Authorization/policyDefinitions/{self.definition_guid}"


@dataclass(frozen=True)
class PolicyExemptionSettings:
    """A reviewed, expiring waiver of one control for one region's resource group or one resource id."""

    control: str
    reason: str
    expires_on: str
    category: str
    region: str | None = None
    scope_id: str | None = None


@dataclass(frozen=True)
class GuardrailSettings:
    """What keeps the controls holding after `pulumi up`: Azure Policy assignments of built-in definitions, the
    Activity Log routed to the workspace, change alerts, the key's near-expiry alert and Defender for AI."""

    mode: str = "off"
    # "resourceGroup" (each region's group), "subscription" (the deploying one) or "managementGroup".
    scope_kind: str = "resourceGroup"
    management_group_id: str | None = None
    assignments: tuple[GuardrailAssignment, ...] = ()
    exemptions: tuple[PolicyExemptionSettings, ...] = ()
    activity_log: bool = False
    activity_log_categories: tuple[str, ...] = ()
    change_alerts: bool = False
    vault_audit_operations: tuple[str, ...] = ()
    key_expiry_alerts: bool = False
    key_expiry_severity: str = "Sev2"
    defender_for_ai: bool = False

    @property
    def assigns(self) -> bool:
        """Whether the stack creates policy assignments at all."""
        return self.mode != "off" and bool(self.assignments)

    @property
    def enabled(self) -> bool:
        """Whether the stack creates any guardrail at the stack level (assignments, routing, alerts, Defender)."""
        return self.assigns or self.activity_log or self.change_alerts or self.defender_for_ai


@dataclass(frozen=True)
class Settings:
    """Everything one stack needs, validated. Components receive parts of it and never read config themselves."""

    stack: str
    environment: str
    name_prefix: str
    name_suffix: str
    cloud: str
    residency: ResidencySettings
    regions: tuple[RegionSettings, ...]
    dns: DnsSettings
    key_vault: KeyVaultSettings
    account: AccountSettings
    content_filters: dict[str, ContentFilterSettings]
    deployments: tuple[DeploymentSettings, ...]
    access: tuple[RoleAssignmentSettings, ...]
    monitoring: MonitoringSettings
    protection: ProtectionSettings
    tags: dict[str, str]
    guardrails: GuardrailSettings = field(default_factory=GuardrailSettings)
    # The Azure subscription this stack deploys into, by the name the platform team gives it: stacks naming the
    # same one share its quota (settings/data/quota/<subscription>/<region>.json).
    subscription: str = "default"
    warnings: tuple[str, ...] = ()
    """Things that work today but need attention soon (a model version close to retirement)."""

    def deployments_in(self, location: str) -> tuple[DeploymentSettings, ...]:
        """The deployments that land in one region."""
        return tuple(d for d in self.deployments if location in d.regions)

    def base_name(self, region: RegionSettings) -> str:
        """`<prefix>-<env>-<region code>[-<suffix>]`: the stem of every regional resource name."""
        parts = [self.name_prefix, self.environment, region.code] + ([self.name_suffix] if self.name_suffix else [])
        return "-".join(parts)

    def vault_name(self, region: RegionSettings) -> str:
        """Key Vault names are global, 3-24 characters."""
        return f"kv-{self.base_name(region)}"

    @property
    def primary(self) -> RegionSettings:
        return self.regions[0]
