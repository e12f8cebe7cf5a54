"""Monitoring: diagnostic settings with the audit categories, log retention, and a throttling alert per account."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity

from .common import (
    Config,
    Stack,
    Violation,
    extension_target,
    flag,
    get,
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
from .tokens import ACCOUNT, DIAGNOSTIC_SETTING, METRIC_ALERT, VAULT, WORKSPACE

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

POLICIES = [DIAGNOSTIC_SETTINGS, WORKSPACE_RETENTION, THROTTLING_ALERT]
