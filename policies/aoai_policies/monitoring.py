"""Monitoring: diagnostic settings with the audit categories, log retention, and a throttling alert per account."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity

from .common import (
    Config,
    Stack,
    Violation,
    extension_target,
    flag,
    get,
    get_or_unknown,
    integer,
    items,
    names,
    norm_id,
    number,
    resource_id,
    resource_policy,
    show,
    stack_policy,
    string_list,
    subject,
)
from .metadata import ALERTING, AUDIT_LOGGING, LOG_RETENTION, PolicyMeta
from .tokens import (
    ACCOUNT,
    ACTION_GROUP,
    ACTIVITY_LOG_ALERT,
    DIAGNOSTIC_SETTING,
    METRIC_ALERT,
    SCHEDULED_QUERY_RULE,
    VAULT,
    WORKSPACE,
)

CONCERN = "monitoring"


def settings_by_target(stack: Stack) -> dict[str, list[PolicyResource]]:
    """Diagnostic settings keyed by the normalized id of the resource they collect from."""
    found: dict[str, list[PolicyResource]] = {}
    for setting in stack.of_type(DIAGNOSTIC_SETTING):
        target = norm_id(get(setting.props, "resourceUri")) or extension_target(
            resource_id(setting), "Microsoft.Insights/diagnosticSettings")
        found.setdefault(target, []).append(setting)
    return found


def _enabled_logs(settings: list[PolicyResource]) -> set[str]:
    enabled = set()
    for setting in settings:
        for log in items(get(setting.props, "logs")):
            if get(log, "enabled") is True:
                enabled.add(str(get(log, "category") or get(log, "categoryGroup") or "").lower())
    return enabled


def _check_target(target: PolicyResource, settings: list[PolicyResource], categories: list[str],
                  groups: list[str], approved: set[str], cfg: Config) -> Iterator[Violation]:
    who = subject(target.resource_type, target.name)
    want = f"{names(categories)} (or category group {names(groups, 'or')})"
    if not settings:
        yield Violation(f"Add a diagnostic setting to {who} (resourceUri = its id) that sends {want} and "
                        f"AllMetrics to a Log Analytics workspace of this stack.", target.urn)
        return
    good = []
    for setting in settings:
        workspace = norm_id(get(setting.props, "workspaceId"))
        if workspace in approved:
            good.append(setting)
        else:
            yield Violation(f"Send {subject(DIAGNOSTIC_SETTING, setting.name)} of {who} to a Log Analytics "
                            f"workspace of this stack or of approvedWorkspaceIds (it sends to "
                            f"{show(get(setting.props, 'workspaceId'))}).", setting.urn)
    if not good:
        return  # every setting goes to the wrong place: the messages above say where to send them
    enabled = _enabled_logs(good)
    has_group = any(g.lower() in enabled for g in groups)
    missing = [c for c in categories if c.lower() not in enabled]
    if not has_group and missing:
        yield Violation(f"Enable the log categories {names(missing)} (or category group {names(groups, 'or')}) in a "
                        f"diagnostic setting of {who}: they are its audit trail.", target.urn)
    metrics = any(get(m, "enabled") is True and str(get(m, "category", "")).lower() == "allmetrics"
                  for s in good for m in items(get(s.props, "metrics")))
    if cfg.flag("requireMetrics") and not metrics:
        yield Violation(f"Enable the AllMetrics category in a diagnostic setting of {who}.", target.urn)


def _diagnostics(stack: Stack, cfg: Config) -> Iterator[Violation]:
    by_target = settings_by_target(stack)
    approved = set(stack.by_id(WORKSPACE)) | {norm_id(w) for w in cfg.strings("approvedWorkspaceIds")}
    for account in stack.of_type(ACCOUNT):
        yield from _check_target(account, by_target.get(resource_id(account), []), cfg.strings("accountCategories"),
                                 cfg.strings("accountCategoryGroups"), approved, cfg)
    for vault in stack.of_type(VAULT):
        yield from _check_target(vault, by_target.get(resource_id(vault), []), cfg.strings("vaultCategories"),
                                 cfg.strings("vaultCategoryGroups"), approved, cfg)


DIAGNOSTIC_SETTINGS = stack_policy(
    PolicyMeta(
        name="aoai-diagnostic-settings", control="logging", concern=CONCERN, kind="stack",
        display_name="Accounts and vaults send audit logs and metrics to an approved workspace",
        severity=Severity.HIGH, controls=AUDIT_LOGGING,
        remediation="Add a diagnostic setting (resourceUri = the resource's id) with Audit and RequestResponse "
                    "(or allLogs) for accounts, AuditEvent (or audit/allLogs) for vaults, and AllMetrics, sent to "
                    "the region's Log Analytics workspace.",
        azure_policy=("1b4d1c4e…", "cf820ca0…"), psrule=("Azure.KeyVault.Logs",)),
    "Every account and Key Vault must send its audit log categories and AllMetrics to an approved Log Analytics "
    "workspace.",
    {"accountCategories": string_list("Log categories every account must send.", ["Audit", "RequestResponse"]),
     "accountCategoryGroups": string_list("Category groups that satisfy the account requirement instead.",
                                          ["allLogs"]),
     "vaultCategories": string_list("Log categories every vault must send.", ["AuditEvent"]),
     "vaultCategoryGroups": string_list("Category groups that satisfy the vault requirement instead.",
                                        ["audit", "allLogs"]),
     "requireMetrics": flag("Require the AllMetrics category.", True),
     "approvedWorkspaceIds": string_list("Workspace ids outside this stack that may receive logs (e.g. a central "
                                         "SOC workspace).", [])},
    _diagnostics)


def _retention(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    days = number(get(args.props, "retentionInDays"))
    minimum = cfg.number("minRetentionDays")
    effective = days if days is not None else 30.0  # Azure's default for PerGB2018
    if effective < minimum:
        yield (f"Set retentionInDays on {subject(WORKSPACE, args.name)} to at least {show(minimum)} (it is "
               f"{show(days) if days is not None else 'not set, so 30'}): audit and request logs must be kept for "
               f"the required period.")


WORKSPACE_RETENTION = resource_policy(
    PolicyMeta(
        name="aoai-log-retention", control="logging", concern=CONCERN,
        display_name="Log Analytics keeps logs for the required period", severity=Severity.MEDIUM,
        controls=LOG_RETENTION,
        remediation="Set retentionInDays on the workspace to the required minimum (365 in production: PCI DSS "
                    "10.5.1 asks for twelve months), or archive to long-term storage."),
    "Log Analytics workspaces must retain logs at least the configured number of days.",
    [WORKSPACE],
    {"minRetentionDays": integer("Shortest retention in days.", 90, 30)},
    _retention)


def _throttle_dimension(alert: PolicyResource) -> bool:
    for criterion in items(get(alert.props, "criteria.allOf")):
        for dimension in items(get(criterion, "dimensions")):
            if str(get(dimension, "name", "")).lower() == "statuscode" \
                    and get(dimension, "operator", "Include") == "Include" \
                    and "429" in [str(v) for v in items(get(dimension, "values"))]:
                return True
    return False


def _throttling(stack: Stack, cfg: Config) -> Iterator[Violation]:
    if not cfg.flag("requireThrottlingAlert"):
        return
    alerts = stack.of_type(METRIC_ALERT)
    for account in stack.of_type(ACCOUNT):
        who = subject(ACCOUNT, account.name)
        watching = [a for a in alerts if resource_id(account) in {norm_id(s) for s in items(get(a.props, "scopes"))}
                    and get(a.props, "enabled") is not False and _throttle_dimension(a)]
        if not watching:
            yield Violation(f"Add an enabled metric alert on {who} whose criteria filter dimension StatusCode on "
                            f"'429': throttled requests mean exhausted quota or PTU capacity and must page "
                            f"someone.", account.urn)
        elif cfg.flag("requireActionGroup") and not any(items(get(a.props, "actions")) for a in watching):
            yield Violation(f"Add an action group to the throttling alert of {who} "
                            f"({names(a.name for a in watching)}): an alert that notifies no one is not "
                            f"monitoring.", watching[0].urn)


THROTTLING_ALERT = stack_policy(
    PolicyMeta(
        name="aoai-throttling-alert", control="logging", concern=CONCERN, kind="stack",
        display_name="Each account alerts on throttling (HTTP 429)", severity=Severity.MEDIUM,
        controls=ALERTING,
        remediation="Create a MetricAlert scoped to the account on the requests metric with a StatusCode "
                    "dimension including '429', wired to an action group."),
    "Every Azure OpenAI account must have a metric alert on throttled (HTTP 429) requests that notifies someone.",
    {"requireThrottlingAlert": flag("Require the throttling alert.", True),
     "requireActionGroup": flag("Require the alert to notify an action group.", True)},
    _throttling)

# --- aoai-diagnostic-sinks ----------------------------------------------------------------------------------------

# Destinations a diagnostic setting can send to besides a Log Analytics workspace (REST spec Microsoft.Insights
# 2021-05-01-preview diagnosticsSettings_API.json, DiagnosticSettings properties, read 2026-11-30).
OTHER_SINKS = ("storageAccountId", "eventHubAuthorizationRuleId", "eventHubName", "marketplacePartnerId")


def _sinks(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    who = subject(DIAGNOSTIC_SETTING, args.name)
    extra = [key for key in OTHER_SINKS if get_or_unknown(args.props, key) not in (None, "")]
    if extra:
        yield (f"Remove {names(extra)} from {who}: logs may go only to the approved Log Analytics workspace; a "
               f"storage account, event hub or partner solution elsewhere is a copy of the prompts and audit trail "
               f"outside this stack's retention, access control and region.")
    if get_or_unknown(args.props, "workspaceId") in (None, ""):
        yield f"Set workspaceId on {who} to the approved Log Analytics workspace of its region."


DIAGNOSTIC_SINKS = resource_policy(
    PolicyMeta(
        name="aoai-diagnostic-sinks", control="logging", concern=CONCERN,
        display_name="Diagnostic settings send to the workspace only", severity=Severity.HIGH,
        controls=AUDIT_LOGGING,
        remediation="Give each diagnostic setting a workspaceId and no storageAccountId, eventHubAuthorizationRuleId, "
                    "eventHubName or marketplacePartnerId."),
    "Diagnostic settings must send only to a Log Analytics workspace: no storage account, event hub or partner "
    "destination.",
    [DIAGNOSTIC_SETTING], {}, _sinks)


# --- aoai-workspace-ingestion -------------------------------------------------------------------------------------

def _ingestion(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    who = subject(WORKSPACE, args.name)
    quota = get(args.props, "workspaceCapping.dailyQuotaGb")
    gb = number(quota)
    # workspaceCapping.dailyQuotaGb is a number (REST spec Microsoft.OperationalInsights 2023-09-01 Workspaces.json,
    # WorkspaceCapping, read 2026-11-30); -1 is accepted as "no cap", the value the portal and CLI write for it
    # (unconfirmed in the spec extract, which documents no special value), so any other number is a cap.
    if quota is not None and gb is None:
        yield (f"Set workspaceCapping.dailyQuotaGb on {who} to a number or leave it out (it is {show(quota)}): the "
               f"pack does not read a malformed cap as no cap.")
    elif gb is not None and gb != -1:
        minimum = cfg.number("minDailyQuotaGb")
        if not cfg.flag("allowDailyCap"):
            yield (f"Remove workspaceCapping.dailyQuotaGb ({show(gb)} GB) from {who}: once the cap is reached the "
                   f"workspace drops every further log until the next day, audit logs included, silently.")
        elif gb < minimum:
            yield (f"Raise workspaceCapping.dailyQuotaGb on {who} to at least {show(minimum)} GB (it is {show(gb)}): "
                   f"a low cap drops audit logs on a busy day.")
    if cfg.flag("requireEntraIngestion") and get(args.props, "features.disableLocalAuth") is not True:
        yield (f"Set features.disableLocalAuth to true on {who} (it is "
               f"{show(get(args.props, 'features.disableLocalAuth'))}): with shared-key ingestion on, anyone holding "
               f"the workspace key can write forged records into the audit trail.")
    purge = get(args.props, "features.immediatePurgeDataOn30Days")
    if purge is not None and purge is not False:
        yield (f"Set features.immediatePurgeDataOn30Days to false on {who} (it is {show(purge)}): it deletes data "
               f"after 30 days whatever the retention says.")


WORKSPACE_INGESTION = resource_policy(
    PolicyMeta(
        name="aoai-workspace-ingestion", control="logging", concern=CONCERN,
        display_name="The workspace keeps every log and takes Entra-authenticated ingestion only",
        severity=Severity.HIGH, controls=LOG_RETENTION,
        remediation="Leave workspaceCapping unset (or -1), set features.disableLocalAuth true and never set "
                    "features.immediatePurgeDataOn30Days.",
        azure_policy=("e15effd4…",)),
    "Log Analytics workspaces must not cap daily ingestion below the configured minimum (none by default), must "
    "refuse shared-key ingestion and must not purge early.",
    [WORKSPACE],
    {"allowDailyCap": flag("Accept a daily ingestion cap (at or above minDailyQuotaGb).", False),
     "minDailyQuotaGb": integer("Lowest daily cap in GB when a cap is allowed.", 100, 1),
     "requireEntraIngestion": flag("Require features.disableLocalAuth true.", True)},
    _ingestion)


# --- aoai-alert-notifies ------------------------------------------------------------------------------------------

ALERT_TYPES = (METRIC_ALERT, ACTIVITY_LOG_ALERT, SCHEDULED_QUERY_RULE)
# Receiver lists of an action group (pulumi_azure_native/monitor/action_group.py, v3.29.0, read 2026-11-30: "If an
# action group is not enabled, then none of its receivers will receive communications").
RECEIVERS = ("emailReceivers", "smsReceivers", "webhookReceivers", "azureAppPushReceivers", "itsmReceivers",
             "automationRunbookReceivers", "voiceReceivers", "logicAppReceivers", "azureFunctionReceivers",
             "armRoleReceivers", "eventHubReceivers", "incidentReceivers")


def action_group_ids(alert: PolicyResource) -> list[str]:
    """The action groups an alert notifies, whatever its type's shape: a metric alert's actions[].actionGroupId, an
    activity log alert's actions.actionGroups[].actionGroupId, a log alert's actions.actionGroups[] of ids."""
    actions = get(alert.props, "actions")
    found = [get(a, "actionGroupId") for a in items(actions)]
    for group in items(get(actions, "actionGroups")):
        found.append(group if isinstance(group, str) else get(group, "actionGroupId"))
    return [norm_id(g) for g in found if isinstance(g, str) and g]


def _notifies(stack: Stack, cfg: Config) -> Iterator[Violation]:
    groups = stack.by_id(ACTION_GROUP)
    approved = {norm_id(g) for g in cfg.strings("approvedActionGroupIds")}
    for alert in stack.of_type(*ALERT_TYPES):
        who = subject(alert.resource_type, alert.name)
        if get(alert.props, "enabled") is False:
            if cfg.flag("requireEnabledAlerts"):
                yield Violation(f"Set enabled to true on {who}: a disabled alert notifies no one.", alert.urn)
            continue
        ids = action_group_ids(alert)
        problems = []
        reaching = False
        for group_id in ids:
            group = groups.get(group_id)
            if group_id in approved:
                reaching = True
            elif group is None:
                problems.append(f"{show(group_id)} is not an action group of this stack or of approvedActionGroupIds")
            elif get(group.props, "enabled") is not True:
                problems.append(f"{subject(ACTION_GROUP, group.name)} is not enabled (enabled "
                                f"{show(get(group.props, 'enabled'))})")
            elif not any(items(get(group.props, r)) for r in RECEIVERS):
                problems.append(f"{subject(ACTION_GROUP, group.name)} has no receivers")
            else:
                reaching = True
        if not reaching:
            why = "; ".join(problems) if problems else "it names no action group"
            yield Violation(f"Make {who} notify an enabled action group with at least one receiver ({why}): an alert "
                            f"that reaches no one is not monitoring.", alert.urn)


ALERT_NOTIFIES = stack_policy(
    PolicyMeta(
        name="aoai-alert-notifies", control="logging", concern=CONCERN, kind="stack",
        display_name="Every alert reaches an enabled action group with a receiver", severity=Severity.HIGH,
        controls=ALERTING,
        remediation="Enable every alert and point it at an enabled action group of this stack (or a reviewed central "
                    "one in approvedActionGroupIds) that has at least one receiver (e-mail, SMS, webhook, ...)."),
    "Every alert must be enabled and notify an enabled action group that has at least one receiver.",
    {"approvedActionGroupIds": string_list("Action group ids outside this stack (e.g. a SOC's) accepted as "
                                           "reaching someone.", []),
     "requireEnabledAlerts": flag("Refuse alerts with enabled false.", True)},
    _notifies)


# --- aoai-alert-thresholds ----------------------------------------------------------------------------------------

# Reviewed bounds per metric. ServerErrors and the other legacy Cognitive Services metrics have none: Microsoft marks
# them "Do not use for Azure OpenAI service" (supported-metrics page, ms.date 2026-07-31, read 2026-11-30), so an alert
# on one is refused for want of bounds.
DEFAULT_THRESHOLD_BOUNDS = {
    "AzureOpenAIRequests": {"min": 1, "max": 100},
    "AzureOpenAITimeToResponse": {"min": 1000, "max": 60000},
    # Percent of the provisioned throughput in use; above it requests spill over or are throttled.
    "AzureOpenAIProvisionedManagedUtilizationV2": {"min": 50, "max": 95},
}


def _thresholds(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    who = subject(METRIC_ALERT, args.name)
    bounds = cfg["thresholdBounds"] if isinstance(cfg["thresholdBounds"], Mapping) else {}
    by_metric = {str(k).lower(): v for k, v in bounds.items()}
    sensitivities = cfg.strings("allowedDynamicSensitivities")
    for criterion in items(get(args.props, "criteria.allOf")):
        metric = get(criterion, "metricName")
        if str(get(criterion, "criterionType", "")).lower() == "dynamicthresholdcriterion":
            sensitivity = get(criterion, "alertSensitivity")
            if sensitivity not in sensitivities:
                yield (f"Set alertSensitivity of the {show(metric)} criterion of {who} to {names(sensitivities, 'or')} "
                       f"(it is {show(sensitivity)}): a low sensitivity rarely fires.")
            continue
        threshold = get(criterion, "threshold")
        value = number(threshold)
        bound = by_metric.get(str(metric).lower())
        if value is None:
            yield f"Set the threshold of the {show(metric)} criterion of {who} to a number (it is {show(threshold)})."
        elif bound is None:
            if cfg.flag("requireBounds"):
                yield (f"Add bounds for metric {show(metric)} to thresholdBounds (used by {who}): an alert whose "
                       f"threshold nobody reviewed may be set so high it never fires.")
        else:
            low, high = number(get(bound, "min")), number(get(bound, "max"))
            if (low is not None and value < low) or (high is not None and value > high):
                yield (f"Set the threshold of the {show(metric)} criterion of {who} between {show(low)} and "
                       f"{show(high)} (it is {show(value)}): outside the reviewed bounds the alert either never fires "
                       f"or fires on noise.")


ALERT_THRESHOLDS = resource_policy(
    PolicyMeta(
        name="aoai-alert-thresholds", control="logging", concern=CONCERN,
        display_name="Alert thresholds stay within reviewed bounds", severity=Severity.MEDIUM, controls=ALERTING,
        remediation="Keep each static threshold within thresholdBounds for its metric (add bounds for a new metric), "
                    "and dynamic thresholds at Medium or High sensitivity."),
    "Metric alert thresholds must lie within the configured bounds for their metric.",
    [METRIC_ALERT],
    {"thresholdBounds": {"type": "object", "description": "Metric name -> {min, max} bounds of a static threshold.",
                         "additionalProperties": {"type": "object", "properties": {"min": {"type": "number"},
                                                                                    "max": {"type": "number"}}},
                         "default": DEFAULT_THRESHOLD_BOUNDS},
     "requireBounds": flag("Refuse criteria on metrics without bounds.", True),
     "allowedDynamicSensitivities": string_list("alertSensitivity values accepted for dynamic thresholds.",
                                                ["Medium", "High"])},
    _thresholds)

POLICIES = [DIAGNOSTIC_SETTINGS, DIAGNOSTIC_SINKS, WORKSPACE_RETENTION, WORKSPACE_INGESTION, THROTTLING_ALERT,
            ALERT_NOTIFIES, ALERT_THRESHOLDS]
