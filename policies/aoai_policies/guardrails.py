"""Runtime guardrails: the controls keep holding after deployment, and every change to them leaves a trace that
reaches someone.

The rest of the pack judges what a deployment sends. These policies judge whether the stack also leaves behind what
enforces and watches it in Azure: built-in Azure Policy assignments (Deny where the definition offers it) at a scope
covering every account and vault, exemptions that are reasoned and expire, the Activity Log routed to an approved
workspace, change alerts and a vault audit alert that reach an enabled action group, the key's near-expiry alert,
and Microsoft Defender for AI on the subscription. An attacker's edits are anticipated: a custom definition that
borrows a built-in's GUID, an effect overridden to Disabled, `notScopes` or resource selectors that carve the
stack out, an alert narrowed by an extra condition, an action group without receivers, an exemption of someone
else's assignment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from pulumi_policy import PolicyResource, Severity

from .builtins import ALLOWED_LOCATIONS, BUILTINS, builtin_guid
from .common import (
    Config,
    Stack,
    Violation,
    child_parent,
    depends_on,
    flag,
    get,
    integer,
    items,
    names,
    norm_id,
    region,
    resource_group_id,
    resource_id,
    same,
    show,
    stack_policy,
    string_list,
    subject,
)
from .metadata import CHANGE_MONITORING, RUNTIME_ENFORCEMENT, THREAT_DETECTION, PolicyMeta
from .monitoring import settings_by_target
from .tokens import (
    ACCOUNT,
    ACTION_GROUPS,
    ACTIVITY_LOG_ALERT,
    DEFENDER_PRICING,
    KEY,
    POLICY_ASSIGNMENT,
    POLICY_EXEMPTION,
    SCHEDULED_QUERY_RULE,
    SUBSCRIPTION_DIAGNOSTIC_SETTING,
    SYSTEM_TOPIC,
    SYSTEM_TOPIC_EVENT_SUBSCRIPTION,
    VAULT,
    WORKSPACE,
)

CONCERN = "guardrails"
REQUIRED_OPERATIONS = [
    "Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete",
    "Microsoft.Authorization/locks/delete", "Microsoft.CognitiveServices/accounts/write",
    "Microsoft.KeyVault/vaults/write", "Microsoft.Authorization/policyAssignments/write",
    "Microsoft.Authorization/policyAssignments/delete", "Microsoft.Authorization/policyExemptions/write",
]
ACTIVITY_LOG_CATEGORIES = ["Administrative", "Security", "Policy", "Alert"]
_ALL = frozenset({"*"})  # an alert condition that matches every operation of its category


def _scope_id(value: object) -> str:
    """A scope normalized for comparison, with the leading slash Azure sometimes leaves out."""
    s = norm_id(value)
    return s if not s or s.startswith("/") else f"/{s}"


def _subscription_of(rg_id: str) -> str:
    return "/".join(rg_id.split("/")[:3])


def _targets(stack: Stack) -> list[PolicyResource]:
    """The accounts and vaults the guardrails must govern, in registration order."""
    return stack.of_type(ACCOUNT, VAULT)


def _groups_of(stack: Stack) -> dict[str, PolicyResource]:
    """Each governed resource group id -> the first account or vault in it (what a finding names)."""
    found: dict[str, PolicyResource] = {}
    for target in _targets(stack):
        group = resource_group_id(resource_id(target))
        if group:
            found.setdefault(group, target)
    return found


def _covers(scope: str, group: str, management_groups: set[str]) -> bool:
    return scope in (group, _subscription_of(group)) or scope in management_groups


# --- policy assignments ------------------------------------------------------------------------------------------

def _effect(assignment: PolicyResource, parameter: str) -> str:
    """The effect an assignment really applies: an `overrides` entry of kind policyEffect wins over the parameter."""
    for override in items(get(assignment.props, "overrides")):
        if same(get(override, "kind"), "policyEffect") and get(override, "value"):
            return str(get(override, "value"))
    value = get(assignment.props, f"parameters.{parameter}.value")
    return str(value) if value is not None else "(the definition's default)"


def _excluded(assignment: PolicyResource, group: str) -> str:
    """Why an assignment does not cover `group` even though its scope does ('' when it does)."""
    for not_scope in items(get(assignment.props, "notScopes")):
        ns = _scope_id(not_scope)
        if ns and (group == ns or group.startswith(f"{ns}/") or ns == _subscription_of(group)):
            return f"its notScopes exclude {show(not_scope)}"
    if items(get(assignment.props, "resourceSelectors")):
        return "its resourceSelectors apply it to part of the scope only"
    return ""


def _assignments_check(stack: Stack, cfg: Config) -> Iterator[Violation]:
    required = [g.lower() for g in cfg.strings("requiredDefinitions")]
    require_deny = cfg.flag("requireDeny")
    management_groups = {_scope_id(m) for m in cfg.strings("managementGroupScopes")}
    allowed = {region(r) for r in cfg.strings("allowedLocations")}
    assignments = stack.of_type(POLICY_ASSIGNMENT)
    for group, target in _groups_of(stack).items():
        where = f"resource group '{group.rsplit('/', 1)[-1]}' (of {subject(target.resource_type, target.name)})"
        for guid in required:
            builtin = BUILTINS.get(guid)
            label = builtin.name if builtin else guid
            covering = [a for a in assignments if builtin_guid(get(a.props, "policyDefinitionId")) == guid
                        and _covers(_scope_id(get(a.props, "scope")), group, management_groups)]
            if not covering:
                yield Violation(f"Assign the built-in policy '{label}' ({guid}) at {where}, its subscription or an "
                                f"approved management group: it enforces at runtime what this pack checks before "
                                f"deployment.", target.urn)
                continue
            problems: list[tuple[PolicyResource, str]] = []
            for a in covering:
                reason = _excluded(a, group)
                effect = _effect(a, builtin.effect_parameter if builtin else "effect")
                if not reason and same(effect, "Disabled"):
                    reason = "its effect is Disabled"
                if not reason and require_deny and builtin is not None and builtin.denies and not same(effect, "Deny"):
                    reason = f"its effect is {show(effect)}, not 'Deny'"
                if not reason and require_deny and same(get(a.props, "enforcementMode"), "DoNotEnforce"):
                    reason = "its enforcementMode is 'DoNotEnforce'"
                if not reason and guid == ALLOWED_LOCATIONS:
                    listed = [str(v) for v in items(get(a.props, "parameters.listOfAllowedLocations.value"))]
                    outside = [v for v in listed if region(v) not in allowed]
                    if not listed or outside:
                        reason = (f"its listOfAllowedLocations {show(listed)} must be a non-empty subset of "
                                  f"allowedLocations {names(sorted(allowed))}")
                if not reason:
                    break
                problems.append((a, reason))
            else:
                a, reason = problems[0]
                wanted = "Deny" if require_deny and builtin is not None and builtin.denies else "Audit or Deny"
                yield Violation(f"Fix {subject(POLICY_ASSIGNMENT, a.name)} of '{label}' so that it enforces "
                                f"{wanted} at {where}: {reason}.", a.urn)


GUARDRAIL_ASSIGNMENTS = stack_policy(
    PolicyMeta(
        name="aoai-guardrail-assignments", control="runtime", concern=CONCERN, kind="stack",
        display_name="Built-in Azure Policy assignments enforce the controls at runtime", severity=Severity.HIGH,
        controls=RUNTIME_ENFORCEMENT,
        remediation="Set the stack's guardrails.mode to enforce (audit in dev): the program assigns each built-in "
                    "definition of settings/data/policy_definitions.json at every regional resource group (or the "
                    "configured subscription or management group), with Deny where the definition offers it.",
        azure_policy=tuple(f"{guid[:8]}…" for guid in BUILTINS)),
    "Every resource group holding an account or a vault must be covered by assignments of the required built-in "
    "Azure Policy definitions, each enforcing (Deny where offered, never Disabled, no carve-outs).",
    {"requiredDefinitions": string_list("Built-in definition GUIDs that must cover every account and vault.",
                                        sorted(BUILTINS)),
     "requireDeny": flag("Require the Deny effect where the definition offers it and enforcementMode Default "
                         "(false: Audit is enough, as in dev).", True),
     "allowedLocations": string_list("Regions the Allowed locations assignment may list (a subset is fine).",
                                     ["swedencentral", "francecentral"]),
     "managementGroupScopes": string_list("Management group ids whose assignments count as covering the stack "
                                          "(the platform team's, where it owns them).", [])},
    _assignments_check)


def _exemptions_check(stack: Stack, cfg: Config) -> Iterator[Violation]:
    exemptions = stack.of_type(POLICY_EXEMPTION)
    if not exemptions:
        return
    today = dt.datetime.now(dt.UTC).date()
    latest = today + dt.timedelta(days=cfg.number("maxExemptionDays"))
    own = {resource_id(a) for a in stack.of_type(POLICY_ASSIGNMENT)}
    for exemption in exemptions:
        who = subject(POLICY_EXEMPTION, exemption.name)
        expires = get(exemption.props, "expiresOn")
        try:
            day = dt.date.fromisoformat(str(expires)[:10]) if expires else None
        except ValueError:
            day = None
        if day is None:
            yield Violation(f"Set expiresOn on {who} (it is {show(expires)}): an exemption without an end date is a "
                            f"permanent hole in the guardrail.", exemption.urn)
        elif day <= today:
            yield Violation(f"Remove {who} or renew it with a new review: it expired on {day.isoformat()}.",
                            exemption.urn)
        elif day > latest:
            yield Violation(f"Shorten expiresOn of {who} to {latest.isoformat()} at the latest (it is "
                            f"{day.isoformat()}): waivers are reviewed at least every "
                            f"{int(cfg.number('maxExemptionDays'))} days.", exemption.urn)
        description = get(exemption.props, "description")
        if not isinstance(description, str) or len(description.strip()) < 20:
            yield Violation(f"Give {who} a description that says why the control is waived and who approved it "
                            f"(it is {show(description)}).", exemption.urn)
        if get(exemption.props, "exemptionCategory") not in ("Waiver", "Mitigated"):
            yield Violation(f"Set exemptionCategory of {who} to 'Waiver' or 'Mitigated' (it is "
                            f"{show(get(exemption.props, 'exemptionCategory'))}).", exemption.urn)
        target = norm_id(get(exemption.props, "policyAssignmentId"))
        if not cfg.flag("allowForeignAssignments") and target not in own:
            yield Violation(f"Remove {who}: it waives {show(get(exemption.props, 'policyAssignmentId'))}, an "
                            f"assignment this stack does not manage (the platform team's guardrails are waived "
                            f"by the platform team).", exemption.urn)


GUARDRAIL_EXEMPTIONS = stack_policy(
    PolicyMeta(
        name="aoai-guardrail-exemptions", control="runtime", concern=CONCERN, kind="stack",
        display_name="Policy exemptions are reasoned, expire and waive only the stack's own assignments",
        severity=Severity.HIGH, controls=RUNTIME_ENFORCEMENT,
        remediation="Declare exemptions in the stack's guardrails.exemptions with a reason (who approved what, "
                    "why) and an expiresOn within the review period; renew or remove expired ones."),
    "Every policy exemption must expire within the review period, say why it exists, and waive an assignment of "
    "this stack.",
    {"maxExemptionDays": integer("Longest time an exemption may run from today, in days.", 365, 1),
     "allowForeignAssignments": flag("Allow exempting assignments this stack does not manage.", False)},
    _exemptions_check)


# --- Activity Log, alerts, action groups ----------------------------------------------------------------------------

def _reachable_action_groups(stack: Stack, cfg: Config) -> set[str]:
    """Ids of action groups that notify someone: enabled, with at least one receiver (or reviewed external ones)."""
    reachable = {norm_id(i) for i in cfg.strings("approvedActionGroupIds")}
    for group in stack.of_type(*ACTION_GROUPS):
        receivers = [k for k, v in dict(group.props).items() if k.endswith("Receivers") and items(v)]
        if get(group.props, "enabled") is not False and receivers and resource_id(group):
            reachable.add(resource_id(group))
    return reachable


def _activity_log_check(stack: Stack, cfg: Config) -> Iterator[Violation]:
    if not cfg.flag("requireActivityLog"):
        return
    approved = set(stack.by_id(WORKSPACE)) | {norm_id(w) for w in cfg.strings("approvedWorkspaceIds")}
    approved_sinks = {norm_id(s) for s in cfg.strings("approvedSinkIds")}
    required = cfg.strings("requiredCategories")
    good = []
    for setting in stack.of_type(SUBSCRIPTION_DIAGNOSTIC_SETTING):
        who = subject(SUBSCRIPTION_DIAGNOSTIC_SETTING, setting.name)
        for key in ("storageAccountId", "eventHubAuthorizationRuleId", "serviceBusRuleId", "marketplacePartnerId"):
            sink = get(setting.props, key)
            if sink and norm_id(sink) not in approved_sinks:
                yield Violation(f"Remove {key} {show(sink)} from {who}, or list it in approvedSinkIds after review: "
                                f"the Activity Log must not leave through an unreviewed sink.", setting.urn)
        workspace = norm_id(get(setting.props, "workspaceId"))
        if workspace and workspace not in approved:
            yield Violation(f"Send {who} to a Log Analytics workspace of this stack or of approvedWorkspaceIds (it "
                            f"sends to {show(get(setting.props, 'workspaceId'))}).", setting.urn)
        elif workspace:
            good.append(setting)
    anchor = next(iter(_targets(stack)), None)
    if not good:
        # A setting to the wrong place was reported above; say "add one" only when there is none.
        if anchor is not None and not stack.of_type(SUBSCRIPTION_DIAGNOSTIC_SETTING):
            yield Violation(f"Route the subscription's Activity Log to this stack's workspace: add a "
                            f"SubscriptionDiagnosticSetting with {names(required)} enabled, so that control-plane "
                            f"changes to {subject(anchor.resource_type, anchor.name)} are queryable beside its "
                            f"request logs.", anchor.urn)
        return
    enabled = {str(get(log, "category") or "").lower() for s in good for log in items(get(s.props, "logs"))
               if get(log, "enabled") is True}
    enabled |= {"*" for s in good for log in items(get(s.props, "logs"))
                if get(log, "enabled") is True and same(get(log, "categoryGroup"), "allLogs")}
    missing = [c for c in required if c.lower() not in enabled and "*" not in enabled]
    if missing:
        yield Violation(f"Enable the Activity Log categories {names(missing)} in "
                        f"{subject(SUBSCRIPTION_DIAGNOSTIC_SETTING, good[0].name)}.", good[0].urn)


ACTIVITY_LOG_ROUTED = stack_policy(
    PolicyMeta(
        name="aoai-activity-log-routed", control="runtime", concern=CONCERN, kind="stack",
        display_name="The subscription's Activity Log is routed to an approved workspace", severity=Severity.HIGH,
        controls=CHANGE_MONITORING,
        remediation="Set guardrails.activityLog: the program adds a subscription diagnostic setting named "
                    "activity-log-<prefix>-<environment> sending Administrative, Security, Policy and Alert (and "
                    "the other categories) to the primary region's workspace."),
    "The subscription's Activity Log must reach a Log Analytics workspace of this stack (or an approved one) with "
    "the required categories, and leave through no unreviewed sink.",
    {"requireActivityLog": flag("Require the Activity Log to be routed.", True),
     "requiredCategories": string_list("Activity Log categories that must be enabled.", ACTIVITY_LOG_CATEGORIES),
     "approvedWorkspaceIds": string_list("Workspace ids outside this stack that may receive it.", []),
     "approvedSinkIds": string_list("Storage accounts, event hub rules or partner ids reviewed as extra sinks.",
                                    [])},
    _activity_log_check)


def _alert_operations(alert: PolicyResource) -> frozenset[str]:
    """The Administrative operations an Activity Log alert fires on (lower-case; _ALL for every one); empty when an
    extra condition (caller, status, resource, level...) narrows it, so it cannot be relied on."""
    covered: frozenset[str] = _ALL
    for condition in items(get(alert.props, "condition.allOf")):
        leaves = items(get(condition, "anyOf")) or [condition]
        values: set[str] = set()
        for leaf in leaves:
            field = str(get(leaf, "field", "")).lower()
            given = [str(v).lower() for v in [get(leaf, "equals"), *items(get(leaf, "containsAny"))] if v]
            if field == "category" and len(leaves) == 1:
                if "administrative" not in given:
                    return frozenset()
                values = set(_ALL)
            elif field == "operationname":
                values |= set(given)
            else:
                return frozenset()
        if values != _ALL:
            covered = frozenset(values) if covered == _ALL else covered & frozenset(values)
    return covered


def _alert_scopes(alert: PolicyResource) -> set[str]:
    return {_scope_id(s) for s in items(get(alert.props, "scopes"))}


def _change_alerts_check(stack: Stack, cfg: Config) -> Iterator[Violation]:
    if not cfg.flag("requireChangeAlerts"):
        return
    reachable = _reachable_action_groups(stack, cfg)
    groups = _groups_of(stack)
    anchor = next(iter(_targets(stack)), None)
    if anchor is None:
        return
    alerts = [a for a in stack.of_type(ACTIVITY_LOG_ALERT) if get(a.props, "enabled") is not False]
    silent: dict[str, PolicyResource] = {}
    for group, target in groups.items():
        missing = []
        for operation in cfg.strings("requiredOperations"):
            watching = [a for a in alerts
                        if (_alert_operations(a) == _ALL or operation.lower() in _alert_operations(a))
                        and ({group, _subscription_of(group)} & _alert_scopes(a))]
            if not watching:
                missing.append(operation)
            elif not any(norm_id(get(g, "actionGroupId")) in reachable
                         for a in watching for g in items(get(a.props, "actions.actionGroups"))):
                silent.setdefault(watching[0].urn, watching[0])
        if missing:
            yield Violation(f"Add enabled Activity Log alerts (category 'Administrative') on the operations "
                            f"{names(missing)}, scoped to resource group '{group.rsplit('/', 1)[-1]}' or its "
                            f"subscription, with no narrowing condition: a change to "
                            f"{subject(target.resource_type, target.name)} and its access must wake someone up.",
                            target.urn)
    for alert in silent.values():
        yield Violation(f"Send {subject(ACTIVITY_LOG_ALERT, alert.name)} to an enabled action group with receivers "
                        f"(of this stack or approvedActionGroupIds): an alert that notifies no one is not "
                        f"monitoring.", alert.urn)
    if cfg.flag("requireVaultAuditAlert"):
        yield from _vault_audit_alerts(stack, cfg, reachable)


def _vault_audit_alerts(stack: Stack, cfg: Config, reachable: set[str]) -> Iterator[Violation]:
    rules = [r for r in stack.of_type(SCHEDULED_QUERY_RULE) if get(r.props, "enabled") is not False]
    diagnostics = settings_by_target(stack)
    operations = cfg.strings("vaultAuditOperations")
    for vault in stack.of_type(VAULT):
        who = subject(VAULT, vault.name)
        workspaces = {norm_id(get(s.props, "workspaceId")) for s in diagnostics.get(resource_id(vault), [])}
        if not workspaces:
            continue  # no audit events reach any workspace: aoai-diagnostic-settings reports the vault
        name = str(get(vault.props, "name") or get(vault.props, "vaultName") or vault.name).lower()
        watching = []
        for rule in rules:
            queries = " ".join(str(get(c, "query", "")) for c in items(get(rule.props, "criteria.allOf"))).lower()
            scoped = workspaces & {norm_id(s) for s in items(get(rule.props, "scopes"))}
            if scoped and "auditevent" in queries and name in queries \
                    and all(o.lower() in queries for o in operations) and ("forbidden" in queries or "403" in queries):
                watching.append(rule)
        if not watching:
            yield Violation(f"Add an enabled log alert on the workspace that receives the audit events of {who}, "
                            f"whose query names the vault and fires on {names(operations)} and on access denied "
                            f"(403) to the key's identity: a disabled or deleted key silently cuts the account off "
                            f"its data.", vault.urn)
        elif not any(norm_id(g) in reachable for r in watching for g in items(get(r.props, "actions.actionGroups"))):
            yield Violation(f"Send {subject(SCHEDULED_QUERY_RULE, watching[0].name)} to an enabled action group "
                            f"with receivers.", watching[0].urn)


CHANGE_ALERTS = stack_policy(
    PolicyMeta(
        name="aoai-change-alerts", control="runtime", concern=CONCERN, kind="stack",
        display_name="Control-plane and key changes raise alerts that reach an enabled action group",
        severity=Severity.HIGH, controls=CHANGE_MONITORING,
        remediation="Set guardrails.changeAlerts (with monitoring.alertEmails): the program adds Activity Log alerts "
                    "on role assignments, lock deletions and writes to the account, the vault and the policy "
                    "assignments, and a log alert per vault on its audit events, all to the action group."),
    "Role assignment, lock, account, vault and policy changes in every resource group of the stack, and every "
    "vault's key operations and refusals of the key's identity, must raise alerts that notify someone.",
    {"requireChangeAlerts": flag("Require the change alerts.", True),
     "requiredOperations": string_list("Activity Log operations that must raise an alert.", REQUIRED_OPERATIONS),
     "requireVaultAuditAlert": flag("Require a log alert on each vault's audit events.", True),
     "vaultAuditOperations": string_list("Key Vault AuditEvent operations the vault alert must name.",
                                         ["KeyUpdate", "KeyDelete", "KeyPurge"]),
     "approvedActionGroupIds": string_list("Action group ids outside this stack that count as notifying someone.",
                                           [])},
    _change_alerts_check)


def _key_expiry_check(stack: Stack, cfg: Config) -> Iterator[Violation]:
    if not cfg.flag("requireKeyExpiryAlert"):
        return
    reachable = _reachable_action_groups(stack, cfg)
    topics = stack.of_type(SYSTEM_TOPIC)
    subscriptions = stack.of_type(SYSTEM_TOPIC_EVENT_SUBSCRIPTION)
    required = [e.lower() for e in cfg.strings("requiredEventTypes")]
    for vault in stack.of_type(VAULT):
        who = subject(VAULT, vault.name)
        mine = [t for t in topics if norm_id(get(t.props, "source")) == resource_id(vault)
                and same(get(t.props, "topicType"), "Microsoft.KeyVault.vaults")]
        topic_ids = {resource_id(t) for t in mine}
        delivering = []
        for sub in subscriptions:
            if child_parent(resource_id(sub), "eventSubscriptions") not in topic_ids:
                continue
            types = [str(t).lower() for t in items(get(sub.props, "filter.includedEventTypes"))]
            if (same(get(sub.props, "destination.endpointType"), "MonitorAlert")
                    and (not types or all(r in types for r in required))
                    and any(norm_id(g) in reachable for g in items(get(sub.props, "destination.actionGroups")))):
                delivering.append(sub)
        if not delivering:
            yield Violation(f"Deliver {names(cfg.strings('requiredEventTypes'))} of {who} as an Azure Monitor alert: "
                            f"an Event Grid system topic on the vault with a subscription whose destination is "
                            f"MonitorAlert with an enabled action group. Otherwise the key expires unnoticed and "
                            f"the account loses its data.", vault.urn)
            continue
        if not cfg.flag("requireSubscriptionBeforeKey"):
            continue
        subscription = subject(SYSTEM_TOPIC_EVENT_SUBSCRIPTION, delivering[0].name)
        for key in stack.of_type(KEY):
            if child_parent(resource_id(key), "keys") == resource_id(vault) and \
                    not any(depends_on(key, sub.urn) for sub in delivering):
                yield Violation(f"Make {subject(KEY, key.name)} depend on {subscription}: Key Vault raises "
                                f"near-expiry events only for key versions created after the subscription exists.",
                                key.urn)


KEY_EXPIRY_ALERT = stack_policy(
    PolicyMeta(
        name="aoai-key-expiry-alert", control="runtime", concern=CONCERN, kind="stack",
        display_name="The key's near-expiry event reaches people as an Azure Monitor alert",
        severity=Severity.HIGH, controls=CHANGE_MONITORING,
        remediation="Set guardrails.keyExpiryAlerts (with monitoring.alertEmails): the program creates the vault's "
                    "Event Grid system topic and a MonitorAlert subscription for KeyNearExpiry and KeyExpired before "
                    "the key, so the key's first version already raises them."),
    "Every vault must deliver KeyNearExpiry (and KeyExpired) through Event Grid to an Azure Monitor alert on an "
    "enabled action group, subscribed before its key was created.",
    {"requireKeyExpiryAlert": flag("Require the near-expiry alert.", True),
     "requiredEventTypes": string_list("Key Vault event types the subscription must include.",
                                       ["Microsoft.KeyVault.KeyNearExpiry", "Microsoft.KeyVault.KeyExpired"]),
     "requireSubscriptionBeforeKey": flag("Require the key to depend on the subscription.", True),
     "approvedActionGroupIds": string_list("Action group ids outside this stack that count as notifying someone.",
                                           [])},
    _key_expiry_check)


def _defender_check(stack: Stack, cfg: Config) -> Iterator[Violation]:
    if not cfg.flag("requireDefenderForAI"):
        return
    anchor = next(iter(stack.of_type(ACCOUNT)), None)
    if anchor is None:
        return
    plans = [p for p in stack.of_type(DEFENDER_PRICING)
             if same(get(p.props, "name") or get(p.props, "pricingName"), "AI")]
    on = [p for p in plans if same(get(p.props, "pricingTier"), "Standard")
          and norm_id(resource_id(p)).count("/") == 6]  # /subscriptions/<id>/providers/microsoft.security/pricings/ai
    if not on:
        found = f" ({subject(DEFENDER_PRICING, plans[0].name)} is {show(get(plans[0].props, 'pricingTier'))})" \
            if plans else ""
        yield Violation(f"Turn on Microsoft Defender for AI services on the subscription of "
                        f"{subject(ACCOUNT, anchor.name)}: a Microsoft.Security pricing named 'AI' with pricingTier "
                        f"'Standard' at subscription scope{found}. If another stack owns the plan, set "
                        f"requireDefenderForAI to false in this stack's policy config, with the owner named.",
                        plans[0].urn if plans else anchor.urn)


DEFENDER_FOR_AI = stack_policy(
    PolicyMeta(
        name="aoai-defender-for-ai", control="runtime", concern=CONCERN, kind="stack",
        display_name="Microsoft Defender for AI services is on for the subscription", severity=Severity.MEDIUM,
        controls=THREAT_DETECTION,
        remediation="Set guardrails.defenderForAI in the one stack that owns the subscription's plan: the program "
                    "creates the pricing 'AI' at tier Standard (kept on `pulumi destroy`).",
        azure_policy=("c2c0c6d8…",)),
    "The subscription of the Azure OpenAI accounts must have Microsoft Defender for Cloud's AI threat protection "
    "plan (pricing 'AI') at the Standard tier.",
    {"requireDefenderForAI": flag("Require the plan in this stack.", True)},
    _defender_check)

POLICIES = [GUARDRAIL_ASSIGNMENTS, GUARDRAIL_EXEMPTIONS, ACTIVITY_LOG_ROUTED, CHANGE_ALERTS, KEY_EXPIRY_ALERT,
            DEFENDER_FOR_AI]
