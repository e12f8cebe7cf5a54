"""The `guardrails` settings: which built-in policy definitions a stack assigns, where, with which effect, and the
Activity Log, change alerts, key near-expiry alert and Defender plan that go with them.

Every check here protects one of two things: the assignment must mean what it says (a known, current built-in
definition, at a scope inside the stack's subscription, an exemption that is reasoned and expires), and a Deny must
never block the stack's own next `pulumi up` (an allowed-locations list that misses a stack region, a
customer-managed-key Deny while the account is not yet encrypted).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from . import catalog
from .durations import parse_duration
from .model import GuardrailAssignment, GuardrailSettings, PolicyExemptionSettings, Settings
from .policy_catalog import PolicyCatalog, load_catalog, unusable
from .reader import GUID_RE, Reader, choices

MODES = ("enforce", "audit", "off")
SCOPE_KEYWORDS = ("resourceGroup", "subscription")
EXEMPTION_CATEGORIES = ("Waiver", "Mitigated")
MAX_EXEMPTION_DAYS = 365
# Activity Log categories (Azure Monitor activity log schema); CIS Azure 5.1.2 asks for the first four at least.
REQUIRED_ACTIVITY_LOG_CATEGORIES = ("Administrative", "Security", "Policy", "Alert")
ACTIVITY_LOG_CATEGORIES = (*REQUIRED_ACTIVITY_LOG_CATEGORIES, "ServiceHealth", "Recommendation", "Autoscale",
                           "ResourceHealth")
# Key Vault AuditEvent operation names (learn.microsoft.com/azure/key-vault/general/logging, read 2026-11-30).
# Disabling a key is a KeyUpdate (attributes.enabled false); there is no separate KeyDisable operation.
REQUIRED_VAULT_OPERATIONS = ("KeyUpdate", "KeyDelete", "KeyPurge")
DEFAULT_VAULT_OPERATIONS = (*REQUIRED_VAULT_OPERATIONS, "KeyRestore", "KeyImport")
KEY_EXPIRY_SEVERITIES = ("Sev0", "Sev1", "Sev2", "Sev3", "Sev4")
# Policy assignment names: at most 24 characters at management-group scope, 64 below it.
MG_ASSIGNMENT_NAME_MAX, ASSIGNMENT_NAME_MAX = 24, 64

_SUBSCRIPTION_RE = re.compile(r"^/subscriptions/(?P<sub>[0-9a-fA-F-]{36})$")
_MG_RE = re.compile(r"^/providers/Microsoft\.Management/managementGroups/(?P<mg>[A-Za-z0-9_().-]{1,90})$",
                    re.IGNORECASE)
_SCOPE_ID_RE = re.compile(r"^/subscriptions/(?P<sub>[0-9a-fA-F-]{36})/resourceGroups/(?P<rg>[^/]+)(/providers/.+)?$",
                          re.IGNORECASE)
_OPERATION_RE = re.compile(r"^(Key|Vault)[A-Z][A-Za-z]+$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
KNOWN = ("mode", "scope", "allowedLocations", "controls", "exemptions", "activityLog", "activityLogCategories",
         "changeAlerts", "vaultAuditOperations", "keyExpiryAlerts", "keyExpirySeverity", "defenderForAI")


def parse_guardrails(r: Reader, raw: Mapping[str, Any], s: Settings, today: dt.date,
                     subscription_id: str | None, policy_catalog: PolicyCatalog | None = None) -> GuardrailSettings:
    """Validate `guardrails` against the rest of the (already valid) settings; problems go to `r`."""
    cat = policy_catalog or load_catalog()
    item = r.obj(raw.get("guardrails"), "guardrails", KNOWN)
    production = s.environment == "prod"
    # Outside prod the defaults are what the dev policy config requires (policies/config/dev.json): the built-ins
    # assigned in audit and the Activity Log routed, so a stack that sets nothing passes its own gate; paging
    # (change and near-expiry alerts) and the Defender plan stay prod's.
    mode = r.enum(item, "mode", "guardrails.mode", MODES, "enforce" if production else "audit") or "off"
    scope_kind, mg = _scope(r, item, s, subscription_id)
    locations = _locations(r, item, s)
    assignments = _assignments(r, item, s, cat, mode, locations) if mode != "off" else ()
    limit = MG_ASSIGNMENT_NAME_MAX if scope_kind == "managementGroup" else ASSIGNMENT_NAME_MAX
    longest = max((a.name for a in assignments), key=len, default="")
    if len(longest) > limit:
        r.problem("guardrails.scope", item.get("scope", "resourceGroup"), f"assignment names of at most {limit} "
                  "characters at this scope: shorten namePrefix or environment", f"gives names such as {longest!r}")
    exemptions = _exemptions(r, item, s, today, subscription_id, scope_kind, {a.control for a in assignments})
    emails = bool(s.monitoring.alert_emails)
    activity_log = r.boolean(item, "activityLog", "guardrails.activityLog", True)
    categories = _categories(r, item)
    change_alerts = r.boolean(item, "changeAlerts", "guardrails.changeAlerts", production)
    operations = _operations(r, item)
    key_expiry = r.boolean(item, "keyExpiryAlerts", "guardrails.keyExpiryAlerts", production)
    severity = r.enum(item, "keyExpirySeverity", "guardrails.keyExpirySeverity", KEY_EXPIRY_SEVERITIES, "Sev2")
    for flag, on in (("changeAlerts", change_alerts), ("keyExpiryAlerts", key_expiry)):
        if on and not emails:
            r.missing("monitoring.alertEmails", f"one or more e-mail addresses when guardrails.{flag} is true "
                                                "(the alerts notify the region's action group)")
    defender = r.boolean(item, "defenderForAI", "guardrails.defenderForAI", production)
    return GuardrailSettings(
        mode=mode, scope_kind=scope_kind, management_group_id=mg, assignments=tuple(assignments),
        exemptions=tuple(exemptions), activity_log=activity_log, activity_log_categories=categories,
        change_alerts=change_alerts, vault_audit_operations=operations, key_expiry_alerts=key_expiry,
        key_expiry_severity=severity or "Sev2", defender_for_ai=defender)


def _scope(r: Reader, item: Mapping[str, Any], s: Settings, subscription_id: str | None,
           ) -> tuple[str, str | None]:
    value = item.get("scope", "resourceGroup")
    allowed = ("resourceGroup (each region's resource group), subscription (the deploying subscription), "
               "/subscriptions/<the stack's azure-native:subscriptionId> or "
               "/providers/Microsoft.Management/managementGroups/<id>")
    if value in SCOPE_KEYWORDS:
        return value, None
    if not isinstance(value, str):
        r.problem("guardrails.scope", value, allowed)
        return "resourceGroup", None
    mg = _MG_RE.match(value)
    if mg:
        return "managementGroup", mg.group(0)
    sub = _SUBSCRIPTION_RE.match(value)
    if sub is None:
        r.problem("guardrails.scope", value, allowed, "is not a scope assignments can have")
    elif subscription_id is None:
        r.problem("guardrails.scope", value, allowed + " (set azure-native:subscriptionId, or use 'subscription')",
                  "cannot be checked against the stack's subscription")
    elif sub.group("sub").lower() != subscription_id.lower():
        r.problem("guardrails.scope", value, allowed,
                  f"is outside the stack's subscription (azure-native:subscriptionId is {subscription_id})")
    return "subscription", None


def _locations(r: Reader, item: Mapping[str, Any], s: Settings) -> tuple[str, ...]:
    residency = list(s.residency.allowed_regions)
    raw = item.get("allowedLocations", residency)
    found: list[str] = []
    for i, location in enumerate(r.items(raw, "guardrails.allowedLocations")):
        key = f"guardrails.allowedLocations[{i}]"
        if location not in catalog.REGIONS:
            r.problem(key, location, "an Azure region name such as swedencentral")
        elif location not in residency:
            r.problem(key, location, choices(residency) + " (residency.allowedRegions)",
                      "would allow resources outside data residency")
        else:
            found.append(location)
    for i, region in enumerate(s.regions):
        if region.location not in found and isinstance(raw, list):
            r.problem("guardrails.allowedLocations", raw, f"a list including {region.location!r} "
                      f"(regions[{i}].location)", "would deny the stack's own resources in that region")
    return tuple(found)


def _assignments(r: Reader, item: Mapping[str, Any], s: Settings, cat: PolicyCatalog, mode: str,
                 locations: tuple[str, ...]) -> list[GuardrailAssignment]:
    controls = r.obj(item.get("controls"), "guardrails.controls", tuple(cat.controls))
    result = []
    for key, control in cat.controls.items():
        entry = controls.get(key, mode)
        ckey = f"guardrails.controls.{key}"
        if isinstance(entry, Mapping):
            sub = r.obj(entry, ckey, ("level", "definitionId"))
            level = r.enum(sub, "level", f"{ckey}.level", MODES, mode)
            definition_id = sub.get("definitionId", control.definition)
        else:
            level = entry if entry in MODES else r.enum(controls, key, ckey, MODES)
            definition_id = control.definition
        definition = cat.definitions.get(str(definition_id).lower()) if isinstance(definition_id, str) else None
        default = cat.definitions[control.definition]
        if definition is None or not GUID_RE.match(str(definition_id)):
            r.problem(f"{ckey}.definitionId", definition_id,
                      choices(sorted(d for d in cat.definitions if not unusable(cat.definitions[d])))
                      + " (verified built-ins in settings/data/policy_definitions.json)",
                      "is not a verified built-in definition")
            continue
        reasons = unusable(definition)
        if definition.resource_types != default.resource_types:
            reasons.append(f"governs {', '.join(definition.resource_types)}, not "
                           f"{', '.join(default.resource_types)}")
        if reasons:
            r.problem(f"{ckey}.definitionId", definition_id, "a definition that can stand in for "
                      f"{default.id} ({default.display_name})", "; ".join(reasons))
            continue
        if level in (None, "off"):
            continue
        effect = definition.effect(level, control.max_effect)
        parameters = _parameters(key, s, locations, definition.parameters)
        if key == "accountCustomerManagedKey" and effect == "Deny" and not s.key_vault.encrypts_account:
            why = ("keyVault.customerManagedKey is false" if not s.key_vault.customer_managed_key
                   else "keyVault.systemAssignedStep is 1 (the account is not encrypted until step 2)")
            r.problem(ckey, level, "audit or off while " + why,
                      "would deny the stack's own account (Deny on an account without a customer-managed key)")
            continue
        result.append(GuardrailAssignment(
            control=key, name=f"{s.name_prefix}-{s.environment}-{control.name}", title=control.title,
            definition_guid=definition.id, definition_name=definition.display_name,
            definition_version=definition.version_pin, effect_parameter=definition.effect_parameter,
            effect=effect, level=level, mirrors=control.mirrors, parameters=parameters))
    return result


def _parameters(control: str, s: Settings, locations: tuple[str, ...],
                spec: Mapping[str, Any]) -> dict[str, Any]:
    """The definition's parameters this stack computes (besides the effect)."""
    if control == "allowedLocations":
        return {"listOfAllowedLocations": list(locations)}
    if control == "keyExpiryHorizon":
        notify = parse_duration(s.key_vault.notify_before)
        return {"minimumDaysBeforeExpiration": int(notify.shortest_days) if notify is not None else 30}
    if control == "accountCustomerManagedKey" and "excludedKinds" in spec:
        # Microsoft's default excludes AIServices (and other kinds that store no data): keep the default, minus
        # this stack's kind, so the control covers the account the stack creates.
        default = list(spec["excludedKinds"].default or [])
        if s.account.kind in default:
            return {"excludedKinds": [k for k in default if k != s.account.kind]}
    return {}


def _exemptions(r: Reader, item: Mapping[str, Any], s: Settings, today: dt.date, subscription_id: str | None,
                scope_kind: str, assigned: set[str]) -> list[PolicyExemptionSettings]:
    entries = r.items(item.get("exemptions"), "guardrails.exemptions")
    result: list[PolicyExemptionSettings] = []
    seen: set[tuple[str, str]] = set()
    regions = [region.location for region in s.regions]
    groups = {f"rg-{s.base_name(region)}".lower() for region in s.regions}
    for i, entry in enumerate(entries):
        key = f"guardrails.exemptions[{i}]"
        e = r.obj(entry, key, ("control", "region", "scope", "reason", "expiresOn", "category"))
        control = e.get("control")
        if control not in assigned:
            r.problem(f"{key}.control", control, choices(sorted(assigned)) if assigned else
                      "none: the stack assigns no control (guardrails.mode is off)",
                      "is not a control this stack assigns")
        reason = e.get("reason")
        why = ("why the control is waived and who approved it (20 characters or more, e.g. 'CHG-1234: legacy "
               "vault migrates in Q1, approved by the CISO')")
        if reason is None:
            r.missing(f"{key}.reason", why)
        elif not isinstance(reason, str) or len(reason.strip()) < 20:
            r.problem(f"{key}.reason", reason, why, "is missing or too short")
        expires = _expiry(r, e, f"{key}.expiresOn", today)
        category = r.enum(e, "category", f"{key}.category", EXEMPTION_CATEGORIES, "Waiver")
        region = e.get("region")
        scope = e.get("scope")
        if (region is None) == (scope is None):
            r.problem(key, dict(e), f"either region ({', '.join(regions)}) or scope (a resource id in the stack's "
                                    "resource groups)", "must name exactly one of region and scope")
        elif region is not None and region not in regions:
            r.problem(f"{key}.region", region, choices(regions))
        elif scope is not None:
            _exemption_scope(r, f"{key}.scope", scope, subscription_id, scope_kind, groups)
        where = str(region or scope).lower()
        if (str(control), where) in seen:
            r.problem(key, f"{control} on {where}", "each control and scope once", "is listed twice")
        seen.add((str(control), where))
        if control in assigned and isinstance(reason, str) and expires and category:
            result.append(PolicyExemptionSettings(control, reason.strip(), expires, category, region,
                                                  scope if isinstance(scope, str) else None))
    return result


def _expiry(r: Reader, e: Mapping[str, Any], key: str, today: dt.date) -> str | None:
    value = e.get("expiresOn")
    latest = today + dt.timedelta(days=MAX_EXEMPTION_DAYS)
    allowed = f"a date YYYY-MM-DD after today ({today.isoformat()}) and at most {MAX_EXEMPTION_DAYS} days ahead"
    if value is None:
        r.missing(key, allowed + ": an exemption without an end is a permanent hole")
        return None
    if not isinstance(value, str) or not _DATE_RE.match(value):
        r.problem(key, value, allowed)
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        r.problem(key, value, "a real calendar date YYYY-MM-DD")
        return None
    if day <= today:
        r.problem(key, value, allowed, "is in the past")
    elif day > latest:
        r.problem(key, value, allowed, f"is later than {latest.isoformat()}")
    else:
        return value
    return None


def _exemption_scope(r: Reader, key: str, scope: Any, subscription_id: str | None, scope_kind: str,
                     groups: set[str]) -> None:
    allowed = "a resource or resource group id in this stack's subscription"
    match = _SCOPE_ID_RE.match(scope) if isinstance(scope, str) else None
    if match is None:
        r.problem(key, scope, allowed + ": /subscriptions/<id>/resourceGroups/<group>[/providers/...]")
    elif subscription_id is None:
        r.problem(key, scope, allowed + " (set azure-native:subscriptionId so it can be checked, or use region)",
                  "cannot be checked against the stack's subscription")
    elif match.group("sub").lower() != subscription_id.lower():
        r.problem(key, scope, allowed, f"is outside the stack's subscription ({subscription_id})")
    elif scope_kind == "resourceGroup" and match.group("rg").lower() not in groups:
        r.problem(key, scope, f"a scope inside {', '.join(sorted(groups))} (guardrails.scope is resourceGroup)",
                  "is outside every assignment's scope")


def _categories(r: Reader, item: Mapping[str, Any]) -> tuple[str, ...]:
    raw = item.get("activityLogCategories", list(ACTIVITY_LOG_CATEGORIES))
    found = []
    for i, category in enumerate(r.items(raw, "guardrails.activityLogCategories")):
        if category not in ACTIVITY_LOG_CATEGORIES:
            r.problem(f"guardrails.activityLogCategories[{i}]", category, choices(ACTIVITY_LOG_CATEGORIES))
        else:
            found.append(category)
    missing = [c for c in REQUIRED_ACTIVITY_LOG_CATEGORIES if c not in found]
    if missing and isinstance(raw, list):
        r.problem("guardrails.activityLogCategories", raw, f"a list including {', '.join(missing)}",
                  "misses the audit trail of control-plane changes")
    return tuple(found)


def _operations(r: Reader, item: Mapping[str, Any]) -> tuple[str, ...]:
    raw = item.get("vaultAuditOperations", list(DEFAULT_VAULT_OPERATIONS))
    found = []
    for i, operation in enumerate(r.items(raw, "guardrails.vaultAuditOperations")):
        if not isinstance(operation, str) or not _OPERATION_RE.match(operation):
            r.problem(f"guardrails.vaultAuditOperations[{i}]", operation,
                      "a Key Vault AuditEvent operation name such as KeyDelete")
        else:
            found.append(operation)
    missing = [o for o in REQUIRED_VAULT_OPERATIONS if o not in found]
    if missing and isinstance(raw, list):
        r.problem("guardrails.vaultAuditOperations", raw, f"a list including {', '.join(missing)}",
                  "would not alert on a disabled, deleted or purged key")
    return tuple(found)
