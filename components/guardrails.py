"""Runtime guardrails: the controls keep holding after `pulumi up`, and every change to them leaves a trace that
wakes someone up.

- Azure Policy assignments of built-in definitions (audit or deny) that mirror the pack's controls, at each region's
  resource group (or at the subscription or a management group), with reasoned, expiring exemptions;
- the subscription's Activity Log routed to the primary region's workspace;
- Activity Log alerts on role assignments, lock deletions, writes to the account, the vault and the policy
  assignments, and on requests a guardrail denied;
- a log alert on the vault's audit events (key updated, deleted, purged; access denied to the key's identity);
- the key's near-expiry event delivered as an Azure Monitor alert (`key_expiry_alert`, created with the key);
- Microsoft Defender for Cloud's AI threat protection plan on the subscription.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, eventgrid, keyvault, monitor, security

from settings.model import GuardrailAssignment, GuardrailSettings, PolicyExemptionSettings

# Activity Log alerts: (suffix, description, category, operations). Operation names are Azure Resource Manager
# operations as the Activity Log records them (`operationName.value`).
CHANGE_ALERTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("role-assignments", "A role assignment was created or removed in the stack's resource groups", "Administrative",
     ("Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete")),
    ("locks", "A delete lock was removed in the stack's resource groups", "Administrative",
     ("Microsoft.Authorization/locks/delete",)),
    ("account", "The Azure OpenAI account, a deployment or a content filter was changed or deleted", "Administrative",
     ("Microsoft.CognitiveServices/accounts/write", "Microsoft.CognitiveServices/accounts/delete",
      "Microsoft.CognitiveServices/accounts/deployments/write",
      "Microsoft.CognitiveServices/accounts/raiPolicies/write")),
    ("vault", "The Key Vault or its key was changed or deleted through Azure Resource Manager", "Administrative",
     ("Microsoft.KeyVault/vaults/write", "Microsoft.KeyVault/vaults/delete", "Microsoft.KeyVault/vaults/keys/write")),
    ("policy", "A policy assignment or exemption was created, changed or removed", "Administrative",
     ("Microsoft.Authorization/policyAssignments/write", "Microsoft.Authorization/policyAssignments/delete",
      "Microsoft.Authorization/policyExemptions/write", "Microsoft.Authorization/policyExemptions/delete")),
)
# Requests a Deny assignment refused: someone tried to break a control (category Policy).
DENIAL_ALERT = ("policy-denials", "A guardrail (Azure Policy Deny) refused a request in the stack's resource groups",
                "Policy", ("Microsoft.Authorization/policies/deny/action",))
# Key Vault system events (learn.microsoft.com/azure/event-grid/event-schema-key-vault, read 2026-11-30).
KEY_EXPIRY_EVENTS = ("Microsoft.KeyVault.KeyNearExpiry", "Microsoft.KeyVault.KeyExpired")
VAULT_AUDIT_WINDOW = "PT5M"


@dataclass(frozen=True)
class KeyExpiryAlertSpec:
    """Where the key's near-expiry and expiry events go: an Azure Monitor alert of this severity on an action group."""

    action_group_id: pulumi.Input[str]
    severity: str
    resource_group_name: pulumi.Input[str]
    location: str
    topic_name: str
    tags: Mapping[str, str] = field(default_factory=dict)


def key_expiry_alert(name: str, vault: keyvault.Vault, spec: KeyExpiryAlertSpec,
                     parent: pulumi.Resource) -> eventgrid.SystemTopicEventSubscription:
    """The vault's Event Grid system topic and a subscription that turns KeyNearExpiry and KeyExpired into Azure
    Monitor alerts on the action group.

    Key Vault raises these events only for key versions created after the subscription exists, so the caller makes
    the key depend on what this returns. Azure Monitor alerts as an Event Grid destination exist for Key Vault
    sources only, and only with the CloudEvents v1.0 schema (learn.microsoft.com/azure/event-grid/
    handle-key-vault-events-using-azure-monitor-alerts, read 2026-11-30).
    """
    topic = eventgrid.SystemTopic(
        f"{name}-events", system_topic_name=spec.topic_name, resource_group_name=spec.resource_group_name,
        location=spec.location, source=vault.id, topic_type="Microsoft.KeyVault.vaults", tags=dict(spec.tags),
        opts=pulumi.ResourceOptions(parent=parent))
    return eventgrid.SystemTopicEventSubscription(
        f"{name}-key-expiry", event_subscription_name="key-expiry-to-monitor", system_topic_name=topic.name,
        resource_group_name=spec.resource_group_name,
        event_delivery_schema=eventgrid.EventDeliverySchema.CLOUD_EVENT_SCHEMA_V1_0,
        filter=eventgrid.EventSubscriptionFilterArgs(included_event_types=list(KEY_EXPIRY_EVENTS)),
        destination=eventgrid.MonitorAlertEventSubscriptionDestinationArgs(
            endpoint_type="MonitorAlert", severity=spec.severity, action_groups=[spec.action_group_id],
            description="The customer-managed key of the Azure OpenAI account expires within 30 days, or has "
                        "expired: rotate it and roll the account to the new version (docs/key-rotation.md)."),
        opts=pulumi.ResourceOptions(parent=topic))


@dataclass(frozen=True)
class RegionGuardrailTarget:
    """One region as the guardrails see it: the group they govern and the resources they wait for and watch."""

    location: str
    code: str
    base_name: str
    resource_group_name: pulumi.Input[str]
    resource_group_id: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    vault_id: pulumi.Input[str]
    action_group_id: pulumi.Input[str] | None
    # The principal that reads the customer-managed key (None without one): a 403 for it means the account is
    # about to lose access to its data.
    key_reader_principal_id: pulumi.Input[str] | None
    # The resources the assignments govern: assignments are created after them, so a first `pulumi up` is never
    # judged half-built.
    governed: Sequence[pulumi.Resource] = ()


@dataclass(frozen=True)
class GuardrailsArgs:
    """The stack's guardrail settings, its name, its regions (the first is the primary) and its subscription."""

    settings: GuardrailSettings
    stack_name: str
    regions: Sequence[RegionGuardrailTarget]
    subscription_id: pulumi.Input[str]
    tags: Mapping[str, str] = field(default_factory=dict)


class Guardrails(pulumi.ComponentResource):
    """Policy assignments and exemptions, the routed Activity Log, change alerts and the Defender for AI plan."""

    assignment_ids: dict[str, pulumi.Output[str]]
    """`<region code or 'stack'>/<control>` -> policy assignment id."""

    def __init__(self, name: str, args: GuardrailsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aoai:guardrails:Guardrails", name, None, opts)
        s = args.settings
        self._name, self._args = name, args
        self.assignment_ids = {}
        if s.assigns:
            self._assignments()
        primary = args.regions[0]
        if s.activity_log:
            monitor.SubscriptionDiagnosticSetting(
                f"{name}-activity-log", name=f"activity-log-{args.stack_name}", workspace_id=primary.workspace_id,
                logs=[monitor.SubscriptionLogSettingsArgs(category=c, enabled=True)
                      for c in s.activity_log_categories],
                opts=pulumi.ResourceOptions(parent=self))
        if s.change_alerts:
            self._change_alerts()
        if s.defender_for_ai:
            security.Pricing(
                f"{name}-defender-ai", pricing_name="AI", pricing_tier=security.PricingTier.STANDARD,
                scope_id=pulumi.Output.concat("subscriptions/", args.subscription_id),
                # The plan is the subscription's, not this stack's: `pulumi destroy` or handing ownership to another
                # stack leaves it on (turning it off is a deliberate `az security pricing create --tier free`).
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True))
        self.register_outputs({"assignmentIds": self.assignment_ids})

    # --- policy assignments and exemptions ---------------------------------------------------------------------

    def _assignments(self) -> None:
        args, s = self._args, self._args.settings
        by_scope: dict[str, dict[str, authorization.PolicyAssignment]] = {}
        if s.scope_kind == "resourceGroup":
            for region in args.regions:
                by_scope[region.location] = {
                    a.control: self._assign(f"{self._name}-{region.code}-{self._short(a)}", a,
                                            region.resource_group_id, region.governed, region.code)
                    for a in s.assignments}
        else:
            scope: pulumi.Input[str] = (s.management_group_id if s.management_group_id is not None
                                        else pulumi.Output.concat("/subscriptions/", args.subscription_id))
            governed = [r for region in args.regions for r in region.governed]
            single = {a.control: self._assign(f"{self._name}-{self._short(a)}", a, scope, governed, "stack")
                      for a in s.assignments}
            by_scope = {region.location: single for region in args.regions}
        for exemption in s.exemptions:
            self._exempt(exemption, by_scope)

    def _short(self, a: GuardrailAssignment) -> str:
        """The control's short name (`kv-purge`): the assignment name without the stack's prefix."""
        return a.name.removeprefix(f"{self._args.stack_name}-")

    def _assign(self, name: str, a: GuardrailAssignment, scope: pulumi.Input[str],
                governed: Sequence[pulumi.Resource], where: str) -> authorization.PolicyAssignment:
        parameters = {name: authorization.ParameterValuesValueArgs(value=value)
                      for name, value in {a.effect_parameter: a.effect, **a.parameters}.items()}
        assignment = authorization.PolicyAssignment(
            name, policy_assignment_name=a.name, scope=scope, policy_definition_id=a.definition_id,
            definition_version=a.definition_version, enforcement_mode="Default",
            display_name=f"{self._args.stack_name}: {a.title}",
            description=f"{a.definition_name} ({a.effect}). Mirrors the policy pack's {', '.join(a.mirrors)}; "
                        f"managed by Pulumi stack {self._args.stack_name}.",
            parameters=parameters,
            non_compliance_messages=[{"message": f"{a.title}: required by {self._args.stack_name} "
                                                 f"({', '.join(a.mirrors)}). See docs/incident-and-audit.md."}],
            metadata={"aoaiControl": a.control, "aoaiLevel": a.level, "aoaiStack": self._args.stack_name,
                      "aoaiMirrors": list(a.mirrors)},
            # After the resources it governs: a Deny must judge a finished environment, and the next `pulumi up`
            # changes only what the program sets compliant anyway (docs/first-deployment.md).
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(governed)))
        self.assignment_ids[f"{where}/{a.control}"] = assignment.id
        return assignment

    def _exempt(self, e: PolicyExemptionSettings,
                by_scope: Mapping[str, Mapping[str, authorization.PolicyAssignment]]) -> None:
        args = self._args
        region = next((r for r in args.regions if r.location == e.region), None)
        if e.scope_id is not None:
            group = e.scope_id.split("/")[4].lower()
            region = next((r for r in args.regions if f"rg-{r.base_name}".lower() == group), args.regions[0])
        assert region is not None  # the settings require a stack region or a scope inside the stack
        assignment = by_scope[region.location][e.control]
        scope: pulumi.Input[str] = e.scope_id if e.scope_id is not None else region.resource_group_id
        key = hashlib.sha256(f"{e.control}|{e.scope_id or e.region}".encode()).hexdigest()[:8]
        authorization.PolicyExemption(
            f"{self._name}-exemption-{e.control}-{key}", policy_exemption_name=f"{args.stack_name}-{key}",
            scope=scope, policy_assignment_id=assignment.id, exemption_category=e.category,
            expires_on=f"{e.expires_on}T00:00:00Z", description=e.reason,
            display_name=f"{args.stack_name}: waiver of {e.control} until {e.expires_on}",
            metadata={"aoaiControl": e.control, "aoaiStack": args.stack_name},
            opts=pulumi.ResourceOptions(parent=self))

    # --- alerts ------------------------------------------------------------------------------------------------

    def _change_alerts(self) -> None:
        args, s = self._args, self._args.settings
        primary = args.regions[0]
        assert primary.action_group_id is not None  # the settings require alert e-mails for change alerts
        groups = [r.resource_group_id for r in args.regions]
        subscription = pulumi.Output.concat("/subscriptions/", args.subscription_id)
        alerts = list(CHANGE_ALERTS) + ([DENIAL_ALERT] if s.assigns else [])
        for suffix, description, category, operations in alerts:
            # Assignments at the subscription or above are written outside the resource groups.
            scopes = [subscription] if suffix == "policy" and s.scope_kind != "resourceGroup" else groups
            monitor.ActivityLogAlert(
                f"{self._name}-{suffix}", activity_log_alert_name=f"activity-{args.stack_name}-{suffix}",
                resource_group_name=primary.resource_group_name, location="global", enabled=True,
                description=description, scopes=scopes, tags=dict(args.tags),
                condition=monitor.AlertRuleAllOfConditionArgs(all_of=[
                    monitor.AlertRuleAnyOfOrLeafConditionArgs(field="category", equals=category),
                    _operations(operations)]),
                actions=monitor.ActionListArgs(action_groups=[
                    monitor.ActionGroupArgs(action_group_id=primary.action_group_id)]),
                opts=pulumi.ResourceOptions(parent=self))
        for region in args.regions:
            self._vault_audit_alert(region)

    def _vault_audit_alert(self, region: RegionGuardrailTarget) -> None:
        s = self._args.settings
        assert region.action_group_id is not None
        query = pulumi.Output.all(region.vault_id, region.key_reader_principal_id or "").apply(
            lambda values: vault_audit_query(values[0], s.vault_audit_operations, values[1] or None))
        monitor.ScheduledQueryRule(
            f"{self._name}-{region.code}-vault-audit", rule_name=f"alert-{region.base_name}-vault-audit",
            resource_group_name=region.resource_group_name, location=region.location, kind="LogAlert",
            display_name=f"{region.base_name}: customer-managed key changed, deleted or refused",
            description="Key Vault audit events: the key was updated (or disabled), deleted, purged, restored or "
                        "imported, or its reader was refused (HTTP 403). See docs/incident-and-audit.md.",
            severity=1, enabled=True, scopes=[region.workspace_id], evaluation_frequency=VAULT_AUDIT_WINDOW,
            window_size=VAULT_AUDIT_WINDOW, auto_mitigate=False, tags=dict(self._args.tags),
            # A new workspace has no AzureDiagnostics table until the vault's first record lands; Azure would reject
            # the rule's query at creation without this.
            skip_query_validation=True,
            criteria=monitor.ScheduledQueryRuleCriteriaArgs(all_of=[monitor.ConditionArgs(
                query=query, time_aggregation="Count", operator="GreaterThan", threshold=0,
                failing_periods=monitor.ConditionFailingPeriodsArgs(number_of_evaluation_periods=1,
                                                                    min_failing_periods_to_alert=1))]),
            actions=monitor.ActionsArgs(action_groups=[region.action_group_id]),
            opts=pulumi.ResourceOptions(parent=self))


def vault_audit_query(vault_id: str, operations: Sequence[str], reader_principal_id: str | None) -> str:
    """The Kusto query of the vault audit alert: every listed key operation on the vault, and every request of the
    key's reader (of anyone, without one) that Key Vault refused. Columns follow AzureDiagnostics as Key Vault fills
    it (identity_claim_oid_g, httpStatusCode_d); column_ifexists keeps the query valid before such a record lands."""
    names = ", ".join(f'"{o}"' for o in operations)
    denied = '(ResultSignature == "Forbidden" or toint(column_ifexists("httpStatusCode_d", 0.0)) == 403)'
    # Without a customer-managed key there is no reader to single out: any refusal on the (private) vault counts.
    refused = f' or (caller == "{reader_principal_id}" and {denied})' if reader_principal_id else f" or {denied}"
    return "\n".join([
        "AzureDiagnostics",
        '| where ResourceProvider == "MICROSOFT.KEYVAULT" and Category == "AuditEvent"',
        f'| where _ResourceId =~ "{vault_id}"',
        '| extend caller = tostring(column_ifexists("identity_claim_oid_g", ""))',
        f"| where OperationName in ({names}){refused}",
        "| project TimeGenerated, OperationName, ResultSignature, caller, CallerIPAddress, "
        'requestUri = tostring(column_ifexists("requestUri_s", ""))',
    ])


def _operations(operations: Sequence[str]) -> monitor.AlertRuleAnyOfOrLeafConditionArgs:
    if len(operations) == 1:
        return monitor.AlertRuleAnyOfOrLeafConditionArgs(field="operationName", equals=operations[0])
    return monitor.AlertRuleAnyOfOrLeafConditionArgs(any_of=[
        monitor.AlertRuleLeafConditionArgs(field="operationName", equals=o) for o in operations])

