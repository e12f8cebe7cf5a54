"""Parse and validate one stack's raw config into `Settings`, reporting every problem at once.

Nothing is registered with Azure until this succeeds, so a bad stack file costs a second, not a half-built environment.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from . import catalog
from .deployments import parse_deployments
from .guardrails import parse_guardrails
from .model import (
    AccountSettings,
    AlertSettings,
    ContentFilterSettings,
    DnsSettings,
    KeyVaultSettings,
    MonitoringSettings,
    ProtectionSettings,
    RegionSettings,
    ResidencySettings,
    RoleAssignmentSettings,
    Settings,
)
from .model_catalog import ModelCatalog, load_catalog
from .reader import EMAIL_RE, Reader, choices, suggestion

# The top-level keys of the project's config namespace, as declared in Pulumi.yaml.
TOP_LEVEL_KEYS = (
    "environment", "namePrefix", "nameSuffix", "cloud", "residency", "regions", "privateDns", "keyVault", "account",
    "modelLifecycle", "contentFilters", "deployments", "access", "monitoring", "protection", "tags", "subscription",
    "guardrails", "allowEnvironmentMismatch",
)
# Keys that were settings once: a clear word on what replaced them beats "is not a known setting".
RETIRED_KEYS = {
    "modelCatalog": "model availability now comes from Azure's own answers in settings/data/models/<region>.json "
                    "(refresh with `python -m offline catalog refresh --location <region>`); pin versions in "
                    "deployments[].version",
}
REQUIRED_TAGS = ("owner", "costCenter", "dataClassification")
DATA_CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")

_ENV_RE = re.compile(r"^[a-z][a-z0-9]{1,7}$")
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{1,9}$")
_SUFFIX_RE = re.compile(r"^[a-z0-9]{0,6}$")
_FILTER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$")
_FQDN_RE = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_GO_DURATION_RE = re.compile(r"^(?:\d+[hms])+$")
_SUBSCRIPTION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TAG_KEY_RE = re.compile(r"^[^<>%&\\?/]{1,512}$")
_ARM = r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/"
_SUBNET_ID_RE = re.compile(rf"^{_ARM}Microsoft\.Network/virtualNetworks/[^/]+/subnets/[^/]+$", re.IGNORECASE)
_ZONE_ID_RE = re.compile(rf"^{_ARM}Microsoft\.Network/privateDnsZones/(?P<zone>[^/]+)$", re.IGNORECASE)
_WORKSPACE_ID_RE = re.compile(rf"^{_ARM}Microsoft\.OperationalInsights/workspaces/[^/]+$", re.IGNORECASE)


def parse_settings(raw: Mapping[str, Any], stack: str, today: dt.date | None = None,
                   catalog_: ModelCatalog | None = None, subscription_id: str | None = None) -> Settings:
    """Validate `raw` (top-level config key -> decoded value) and return frozen settings, or raise SettingsError.

    `catalog_` is what Azure offers (default: the committed snapshot under settings/data). `subscription_id` is the
    stack's subscription (the provider's azure-native:subscriptionId) when configured: the guardrails' explicit
    scopes are checked against it."""
    r = Reader()
    today = today or dt.date.today()
    for key in raw:
        if key in RETIRED_KEYS:
            r.problem(key, raw[key], RETIRED_KEYS[key], "is no longer a setting")
        elif key not in TOP_LEVEL_KEYS:
            r.problem(key, raw[key], choices(TOP_LEVEL_KEYS), "is not a known setting", suggestion(key, TOP_LEVEL_KEYS))

    environment = r.string(raw, "environment", "environment", pattern=_ENV_RE,
                           allowed="2-8 lower-case letters or digits starting with a letter, e.g. dev or prod")
    mismatch_allowed = r.boolean(raw, "allowEnvironmentMismatch", "allowEnvironmentMismatch", False)
    if environment is not None and environment != stack and not mismatch_allowed:
        # A stack copied from another keeps its `environment`, and every name derives from it: the copy would
        # deploy into the other stack's resource groups and names.
        r.problem("environment", environment, f"{stack!r}, the stack's name (or set allowEnvironmentMismatch: true "
                  f"when this stack shares another's environment name on purpose)",
                  f"differs from the stack name {stack!r}, so this stack's resource names would be those of stack "
                  f"{environment!r}")
    name_prefix = r.string(raw, "namePrefix", "namePrefix", "aoai", pattern=_PREFIX_RE,
                           allowed="2-10 lower-case letters or digits starting with a letter")
    name_suffix = r.string(raw, "nameSuffix", "nameSuffix", "", pattern=_SUFFIX_RE,
                           allowed="0-6 lower-case letters or digits (makes global names unique)")
    cloud = r.enum(raw, "cloud", "cloud", catalog.CLOUDS, "public")

    regions = _regions(r, raw, cloud)
    residency = _residency(r, raw, regions)
    key_vault = _key_vault(r, raw, today)
    account = _account(r, raw)
    dns = _dns(r, raw, cloud, account.kind)
    filters = _content_filters(r, raw)
    lifecycle = r.obj(raw.get("modelLifecycle"), "modelLifecycle", ("warningDays",))
    warn_days = r.integer(lifecycle, "warningDays", "modelLifecycle.warningDays", 0, 730, 90)
    models = load_catalog() if catalog_ is None else catalog_
    deployments = parse_deployments(r, raw, filters, residency, regions, models, today, warn_days or 0)
    access = _access(r, raw)
    monitoring = _monitoring(r, raw, regions)
    protection = _protection(r, raw)
    tags = _tags(r, raw, environment)
    subscription = r.string(raw, "subscription", "subscription", "default", pattern=_SUBSCRIPTION_RE,
                            allowed="1-64 letters, digits, '.', '-' or '_' naming the Azure subscription")
    r.raise_if_any()

    settings = Settings(
        stack=stack, environment=environment, name_prefix=name_prefix, name_suffix=name_suffix or "", cloud=cloud,
        residency=residency, regions=regions, dns=dns, key_vault=key_vault, account=account,
        content_filters=filters, deployments=deployments, access=access, monitoring=monitoring,
        protection=protection, tags=tags, subscription=subscription, warnings=tuple(r.warnings),
    )
    _names(r, settings)
    guardrails = parse_guardrails(r, raw, settings, today, subscription_id)
    r.raise_if_any()
    return dataclasses.replace(settings, guardrails=guardrails)


def _regions(r: Reader, raw: Mapping[str, Any], cloud: str | None) -> tuple[RegionSettings, ...]:
    entries = r.items(raw.get("regions"), "regions")
    if not entries and "regions" not in raw:
        r.missing("regions", "a list of one or more regions, each with location and a network")
    elif not entries and isinstance(raw.get("regions"), list):
        r.problem("regions", raw["regions"], "a list of one or more regions, each with location and a network",
                  "is empty")
    regions: list[RegionSettings] = []
    networks: list[tuple[str, ipaddress.IPv4Network]] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        key = f"regions[{i}]"
        item = r.obj(entry, key, ("location", "vnetAddressSpace", "privateEndpointSubnet", "existingSubnetId"))
        location = r.enum(item, "location", f"{key}.location", sorted(catalog.REGIONS))
        if location is None:
            continue
        region = catalog.REGIONS[location]
        if cloud is not None and region.cloud != cloud:
            r.problem(f"{key}.location", location, f"a region of the {cloud!r} cloud", "is in another cloud")
        if location in seen:
            r.problem(f"{key}.location", location, "each region once", "is listed twice")
        seen.add(location)
        existing = r.string(item, "existingSubnetId", f"{key}.existingSubnetId", None, pattern=_SUBNET_ID_RE,
                            allowed="a subnet resource id /subscriptions/<id>/resourceGroups/<rg>/providers/"
                                    "Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>")
        if existing is not None or "existingSubnetId" in item:
            for sub in ("vnetAddressSpace", "privateEndpointSubnet"):
                if sub in item:
                    r.problem(f"{key}.{sub}", item[sub], "either existingSubnetId or address ranges, not both",
                              "conflicts with existingSubnetId")
            regions.append(RegionSettings(location, region.code, existing_subnet_id=existing))
            continue
        vnet = r.private_network(item.get("vnetAddressSpace"), f"{key}.vnetAddressSpace", "10.20.0.0/16")
        subnet = r.private_network(item.get("privateEndpointSubnet"), f"{key}.privateEndpointSubnet", "10.20.1.0/24")
        if vnet is not None and subnet is not None and not subnet.subnet_of(vnet):
            r.problem(f"{key}.privateEndpointSubnet", str(subnet), f"a range inside vnetAddressSpace {vnet}",
                      "is outside the VNet")
        if subnet is not None and subnet.prefixlen > 28:
            r.problem(f"{key}.privateEndpointSubnet", str(subnet),
                      "a prefix of /28 or larger (Azure keeps 5 addresses)",
                      "is too small")
        if vnet is not None:
            for other_key, other in networks:
                if vnet.overlaps(other):
                    r.problem(f"{key}.vnetAddressSpace", str(vnet), f"a range not overlapping {other_key} ({other})",
                              "overlaps another region")
            networks.append((f"{key}.vnetAddressSpace", vnet))
        regions.append(RegionSettings(location, region.code, str(vnet) if vnet else None,
                                      str(subnet) if subnet else None))
    return tuple(regions)


def _residency(r: Reader, raw: Mapping[str, Any], regions: tuple[RegionSettings, ...]) -> ResidencySettings:
    item = r.obj(raw.get("residency"), "residency", ("mode", "dataZone", "allowedRegions"))
    mode = r.enum(item, "mode", "residency.mode", catalog.RESIDENCY_MODES, "regional")
    zone = r.enum(item, "dataZone", "residency.dataZone", catalog.DATA_ZONES, None) if "dataZone" in item else None
    if mode == "dataZone" and "dataZone" not in item:
        r.missing("residency.dataZone", choices(catalog.DATA_ZONES) + " when residency.mode is dataZone")
    allowed_raw = r.items(item.get("allowedRegions"), "residency.allowedRegions")
    allowed: list[str] = []
    for i, location in enumerate(allowed_raw):
        if location not in catalog.REGIONS:
            r.problem(f"residency.allowedRegions[{i}]", location, "an Azure region name such as swedencentral")
        elif zone is not None and catalog.REGIONS[location].data_zone != zone:
            r.problem(f"residency.allowedRegions[{i}]", location, f"a region of the {zone} data zone",
                      "is outside the data zone")
        else:
            allowed.append(location)
    if not allowed_raw:
        allowed = [region.location for region in regions]
    for i, region in enumerate(regions):
        if allowed_raw and region.location not in allowed:
            r.problem(f"regions[{i}].location", region.location, choices(allowed) + " (residency.allowedRegions)",
                      "breaks data residency")
        if zone is not None and catalog.REGIONS[region.location].data_zone != zone:
            r.problem(f"regions[{i}].location", region.location, f"a region of the {zone} data zone",
                      "breaks data residency")
    skus = catalog.SKUS_BY_RESIDENCY.get(mode or "regional", catalog.REGIONAL_SKUS)
    return ResidencySettings(mode or "regional", zone, tuple(allowed), skus)


def _dns(r: Reader, raw: Mapping[str, Any], cloud: str | None, kind: str | None) -> DnsSettings:
    item = r.obj(raw.get("privateDns"), "privateDns", ("existingZoneIds",))
    needed = (*catalog.ACCOUNT_ZONE_KEYS.get(kind or "OpenAI", ()), "vault")
    ids = r.obj(item.get("existingZoneIds"), "privateDns.existingZoneIds", ("aiservices", *needed))
    if not ids:
        return DnsSettings()
    zones = catalog.DNS_ZONES[cloud or "public"]
    result: dict[str, str] = {}
    for zone_key in needed:
        key = f"privateDns.existingZoneIds.{zone_key}"
        value = ids.get(zone_key)
        allowed = f"the resource id of the private DNS zone {zones[zone_key]}"
        match = _ZONE_ID_RE.match(value) if isinstance(value, str) else None
        if value is None:
            r.missing(key, allowed + f" (give all of {', '.join(needed)}, or none to create them)")
        elif match is None or match.group("zone").lower() != zones[zone_key]:
            r.problem(key, value, allowed)
        else:
            result[zone_key] = value
    return DnsSettings(result)


def _key_vault(r: Reader, raw: Mapping[str, Any], today: dt.date) -> KeyVaultSettings:
    item = r.obj(raw.get("keyVault"), "keyVault", (
        "sku", "keyType", "keySize", "rotateAfter", "keyLifetime", "notifyBefore", "keyExpiresOn",
        "softDeleteRetentionDays", "customerManagedKey", "identity", "systemAssignedStep", "rbacPropagationDelay"))
    sku = r.enum(item, "sku", "keyVault.sku", catalog.VAULT_SKUS, "standard")
    key_type = r.enum(item, "keyType", "keyVault.keyType", catalog.KEY_TYPES, "RSA")
    key_size = r.enum(item, "keySize", "keyVault.keySize", catalog.KEY_SIZES, 2048)  # type: ignore[arg-type]
    if key_type == "RSA-HSM" and sku == "standard":
        r.problem("keyVault.sku", sku, "premium when keyVault.keyType is RSA-HSM (HSM keys need a premium vault)")
    limits = catalog.KEY_ROTATION_LIMITS
    rotate_after = r.duration(item, "rotateAfter", "keyVault.rotateAfter", "P180D", limits.min_time_after_create_days)
    lifetime = r.duration(item, "keyLifetime", "keyVault.keyLifetime", "P1Y", limits.min_expiry_time_days)
    notify = r.duration(item, "notifyBefore", "keyVault.notifyBefore", "P30D", limits.min_time_before_expiry_days)
    gap = limits.min_time_before_expiry_days  # Key Vault rotates at least this long before a version expires
    if rotate_after and lifetime and rotate_after.longest_days > lifetime.shortest_days - gap:
        r.problem("keyVault.rotateAfter", rotate_after.text,
                  f"a duration at least {gap} days shorter than keyVault.keyLifetime ({lifetime.text})",
                  "would let a key version expire before it is rotated")
    if notify and lifetime and notify.longest_days >= lifetime.shortest_days:
        r.problem("keyVault.notifyBefore", notify.text,
                  f"a duration shorter than keyVault.keyLifetime ({lifetime.text})")
    expires_on = r.string(item, "keyExpiresOn", "keyVault.keyExpiresOn", pattern=_DATE_RE,
                          allowed="a date YYYY-MM-DD in the future: when the first key version expires")
    epoch = 0
    if expires_on is not None:
        try:
            day = dt.date.fromisoformat(expires_on)
        except ValueError:
            r.problem("keyVault.keyExpiresOn", expires_on, "a real calendar date YYYY-MM-DD")
        else:
            if day <= today:
                r.problem("keyVault.keyExpiresOn", expires_on, f"a date after today ({today.isoformat()})",
                          "is in the past: the account could not use the key")
            epoch = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
    retention = r.integer(item, "softDeleteRetentionDays", "keyVault.softDeleteRetentionDays", 7, 90, 90)
    cmk = r.boolean(item, "customerManagedKey", "keyVault.customerManagedKey", True)
    identity = r.enum(item, "identity", "keyVault.identity", ("userAssigned", "systemAssigned"), "userAssigned")
    step = None
    if identity == "systemAssigned":
        step = r.enum(item, "systemAssignedStep", "keyVault.systemAssignedStep", (1, 2))  # type: ignore[arg-type]
    elif "systemAssignedStep" in item:
        r.problem("keyVault.systemAssignedStep", item["systemAssignedStep"],
                  "nothing unless keyVault.identity is systemAssigned", "has no effect")
    delay = r.string(item, "rbacPropagationDelay", "keyVault.rbacPropagationDelay", "2m", pattern=_GO_DURATION_RE,
                     allowed="a wait such as 2m, 90s or 0s (none), at most 15m")
    if delay is not None and _go_seconds(delay) > 900:
        r.problem("keyVault.rbacPropagationDelay", delay, "at most 15m", "is longer than any documented propagation")
    return KeyVaultSettings(sku, key_type, key_size, rotate_after.text if rotate_after else "",
                            lifetime.text if lifetime else "", notify.text if notify else "", expires_on, epoch,
                            retention, cmk, identity or "userAssigned", step,
                            "" if delay is None or _go_seconds(delay) == 0 else delay)


def _account(r: Reader, raw: Mapping[str, Any]) -> AccountSettings:
    item = r.obj(raw.get("account"), "account", ("kind", "sku", "allowedFqdns", "restore", "trustedServicesBypass"))
    kind = r.enum(item, "kind", "account.kind", catalog.ACCOUNT_KINDS, "OpenAI")
    sku = r.enum(item, "sku", "account.sku", ("S0",), "S0")
    fqdns: list[str] = []
    for i, fqdn in enumerate(r.items(item.get("allowedFqdns"), "account.allowedFqdns")):
        if not isinstance(fqdn, str) or not _FQDN_RE.match(fqdn):
            r.problem(f"account.allowedFqdns[{i}]", fqdn,
                      "a lower-case host name such as contoso.blob.core.windows.net")
        else:
            fqdns.append(fqdn)
    restore = r.boolean(item, "restore", "account.restore", False)
    # Trusted Azure services (e.g. AI Search with a managed identity) past the account firewall: off unless asked.
    bypass = r.boolean(item, "trustedServicesBypass", "account.trustedServicesBypass", False)
    return AccountSettings(kind, sku, tuple(fqdns), restore, "AzureServices" if bypass else "None")


def _content_filters(r: Reader, raw: Mapping[str, Any]) -> dict[str, ContentFilterSettings]:
    entries = r.obj(raw.get("contentFilters"), "contentFilters", _any_key(raw.get("contentFilters")))
    if not entries:
        entries = {"default": {}}
    filters: dict[str, ContentFilterSettings] = {}
    for name, entry in entries.items():
        key = f"contentFilters.{name}"
        if not _FILTER_NAME_RE.match(str(name)):
            r.problem(key, name, "2-64 letters, digits, '-' or '_'", "is not a valid policy name")
            continue
        item = r.obj(entry, key, ("basePolicy", "mode", "severityThreshold", "blocking", "jailbreak",
                                  "protectedMaterial"))
        base = r.enum(item, "basePolicy", f"{key}.basePolicy", ("Microsoft.DefaultV2", "Microsoft.Default"),
                      "Microsoft.DefaultV2")
        given = item.get("mode")
        mode: str = "Default"
        if given in catalog.SUPERSEDED_RAI_MODES:
            r.problem(f"{key}.mode", given, choices(catalog.RAI_MODES),
                      f"is superseded by {catalog.SUPERSEDED_RAI_MODES[given]!r} in API 2025-06-01")
        elif given in catalog.UNDOCUMENTED_RAI_MODES:
            r.problem(f"{key}.mode", given, choices(catalog.RAI_MODES) + " (Default filters before the answer is "
                      "returned)", "is in the API's enum but documented nowhere by Microsoft")
        else:
            mode = r.enum(item, "mode", f"{key}.mode", catalog.RAI_MODES, "Default")
        threshold = r.enum(item, "severityThreshold", f"{key}.severityThreshold", catalog.SEVERITY_THRESHOLDS,
                           "Medium")
        blocking = r.boolean(item, "blocking", f"{key}.blocking", True)
        jailbreak = r.boolean(item, "jailbreak", f"{key}.jailbreak", True)
        protected = r.boolean(item, "protectedMaterial", f"{key}.protectedMaterial", True)
        filters[name] = ContentFilterSettings(name, base, mode, threshold, blocking, jailbreak, protected)
    return filters


def _access(r: Reader, raw: Mapping[str, Any]) -> tuple[RoleAssignmentSettings, ...]:
    result: list[RoleAssignmentSettings] = []
    seen: set[tuple[str, str, str]] = set()
    for i, entry in enumerate(r.items(raw.get("access"), "access")):
        key = f"access[{i}]"
        item = r.obj(entry, key, ("principalId", "principalType", "role", "scope", "description"))
        principal = r.guid(item, "principalId", f"{key}.principalId")
        principal_type = r.enum(item, "principalType", f"{key}.principalType", catalog.PRINCIPAL_TYPES)
        role: str | None = item.get("role")
        if role in catalog.PRIVILEGED_ROLES:
            r.problem(f"{key}.role", role, choices(catalog.ASSIGNABLE_ROLES),
                      "is privileged and is never granted from stack config")
            role = None
        else:
            role = r.enum(item, "role", f"{key}.role", catalog.ASSIGNABLE_ROLES)
        scope = r.enum(item, "scope", f"{key}.scope", catalog.ACCESS_SCOPES, "account")
        description = r.string(item, "description", f"{key}.description", "", allowed="a string")
        if principal is None or principal_type is None or role is None or scope is None:
            continue
        if (principal.lower(), role, scope) in seen:
            r.problem(key, f"{principal} {role} on {scope}", "each principal, role and scope once", "is listed twice")
        seen.add((principal.lower(), role, scope))
        result.append(RoleAssignmentSettings(principal.lower(), principal_type, role, catalog.ROLE_IDS[role], scope,
                                             description or ""))
    return tuple(result)


def _monitoring(r: Reader, raw: Mapping[str, Any], regions: tuple[RegionSettings, ...]) -> MonitoringSettings:
    item = r.obj(raw.get("monitoring"), "monitoring", ("retentionDays", "existingWorkspaceIds",
                                                       "accountLogCategories", "alertEmails", "alerts"))
    retention = r.integer(item, "retentionDays", "monitoring.retentionDays", 30, 730, 90)
    locations = [region.location for region in regions]
    workspaces_raw = r.obj(item.get("existingWorkspaceIds"), "monitoring.existingWorkspaceIds", locations)
    workspaces: dict[str, str] = {}
    for location in workspaces_raw:
        key = f"monitoring.existingWorkspaceIds.{location}"
        if location in locations:
            ws = r.string(workspaces_raw, location, key, pattern=_WORKSPACE_ID_RE,
                          allowed="a Log Analytics workspace resource id in the same region")
            if ws:
                workspaces[location] = ws
    categories_raw = item.get("accountLogCategories", list(catalog.DEFAULT_ACCOUNT_LOG_CATEGORIES))
    categories: list[str] = []
    allowed_categories = catalog.ACCOUNT_LOG_CATEGORIES + catalog.LOG_CATEGORY_GROUPS
    for i, category in enumerate(r.items(categories_raw, "monitoring.accountLogCategories")):
        if category not in allowed_categories:
            r.problem(f"monitoring.accountLogCategories[{i}]", category, choices(allowed_categories))
        else:
            categories.append(category)
    if categories and "allLogs" not in categories and not {"Audit", "RequestResponse"} <= set(categories):
        r.problem("monitoring.accountLogCategories", categories, "a list with Audit and RequestResponse, or allLogs",
                  "misses the audit trail")
    emails: list[str] = []
    for i, email in enumerate(r.items(item.get("alertEmails"), "monitoring.alertEmails")):
        if not isinstance(email, str) or not EMAIL_RE.match(email):
            r.problem(f"monitoring.alertEmails[{i}]", email, "an e-mail address such as platform-oncall@contoso.com")
        else:
            emails.append(email)
    alerts_raw = r.obj(item.get("alerts"), "monitoring.alerts", (
        "enabled", "throttledRequestsThreshold", "serverErrorsThreshold", "latencyMsThreshold",
        "provisionedUtilizationPercent", "window", "frequency", "requestsMetric", "latencyMetric",
        "serverErrorStatusCodes", "serverErrorsMetric"))
    if "serverErrorsMetric" in alerts_raw:
        r.problem("monitoring.alerts.serverErrorsMetric", alerts_raw["serverErrorsMetric"],
                  f"nothing: server errors are {catalog.REQUESTS_METRIC.name} filtered on StatusCode "
                  f"(monitoring.alerts.serverErrorStatusCodes)", "is no longer a setting")
    codes = [str(c) for c in r.items(alerts_raw.get("serverErrorStatusCodes",
                                                    list(catalog.SERVER_ERROR_STATUS_CODES)),
                                     "monitoring.alerts.serverErrorStatusCodes")]
    for j, code in enumerate(codes):
        if not re.fullmatch(r"5\d\d", code):
            r.problem(f"monitoring.alerts.serverErrorStatusCodes[{j}]", code, "an HTTP 5xx status code such as '503'")
    alerts = AlertSettings(
        enabled=r.boolean(alerts_raw, "enabled", "monitoring.alerts.enabled", bool(emails)),
        throttled_requests_threshold=r.integer(alerts_raw, "throttledRequestsThreshold",
                                               "monitoring.alerts.throttledRequestsThreshold", 1, 1000000, 10),
        server_errors_threshold=r.integer(alerts_raw, "serverErrorsThreshold",
                                          "monitoring.alerts.serverErrorsThreshold", 1, 1000000, 5),
        latency_ms_threshold=r.integer(alerts_raw, "latencyMsThreshold", "monitoring.alerts.latencyMsThreshold",
                                       1, 600000, 30000),
        provisioned_utilization_percent=r.integer(
            alerts_raw, "provisionedUtilizationPercent", "monitoring.alerts.provisionedUtilizationPercent", 1, 100,
            80),
        window=r.enum(alerts_raw, "window", "monitoring.alerts.window", ("PT5M", "PT15M", "PT30M", "PT1H"), "PT5M"),
        frequency=r.enum(alerts_raw, "frequency", "monitoring.alerts.frequency", ("PT1M", "PT5M", "PT15M"), "PT1M"),
        requests_metric=_metric(r, alerts_raw, "requestsMetric", catalog.REQUESTS_METRIC.name),
        latency_metric=_metric(r, alerts_raw, "latencyMetric", catalog.TIME_TO_RESPONSE_METRIC.name),
        server_error_status_codes=tuple(codes),
    )
    if alerts.enabled and not emails:
        r.missing("monitoring.alertEmails", "one or more e-mail addresses when monitoring.alerts.enabled is true")
    return MonitoringSettings(retention, workspaces, tuple(categories), tuple(emails), alerts)


def _go_seconds(text: str) -> int:
    """Seconds in a Go duration made of hours, minutes and seconds ("1m30s")."""
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[unit] for n, unit in re.findall(r"(\d+)([hms])", text))


def _metric(r: Reader, raw: Mapping[str, Any], sub: str, default: str) -> str:
    """A metric name override; the legacy Cognitive Services metrics Microsoft says not to use are refused."""
    key = f"monitoring.alerts.{sub}"
    name: str = r.string(raw, sub, key, default, pattern=re.compile(r"^[A-Za-z][A-Za-z0-9]{1,63}$"),
                         allowed="an Azure Monitor metric name of Microsoft.CognitiveServices/accounts") or default
    if name in catalog.METRICS_NOT_FOR_AZURE_OPENAI:
        r.problem(key, name, f"an Azure OpenAI metric such as {default} ({catalog.METRIC_SOURCE})",
                  "is marked 'Do not use for Azure OpenAI service' by Microsoft")
    return name


def _protection(r: Reader, raw: Mapping[str, Any]) -> ProtectionSettings:
    item = r.obj(raw.get("protection"), "protection", ("protect", "locks"))
    return ProtectionSettings(r.boolean(item, "protect", "protection.protect", False),
                              r.boolean(item, "locks", "protection.locks", False))


def _tags(r: Reader, raw: Mapping[str, Any], environment: str | None) -> dict[str, str]:
    item = r.obj(raw.get("tags"), "tags", _any_key(raw.get("tags")))
    tags: dict[str, str] = {}
    for name, value in item.items():
        if not isinstance(name, str) or not _TAG_KEY_RE.match(name) or name.lower().startswith(("azure", "microsoft")):
            r.problem(f"tags.{name}", name, "1-512 characters without < > % & \\ ? / and not starting with "
                                           "azure or microsoft", "is not a valid tag key")
        elif not isinstance(value, str) or len(value) > 256:
            r.problem(f"tags.{name}", value, "a string of at most 256 characters")
        else:
            tags[name] = value
    classification = item.get("dataClassification")
    if classification is not None and classification not in DATA_CLASSIFICATIONS:
        r.problem("tags.dataClassification", classification, choices(DATA_CLASSIFICATIONS))
    for name in REQUIRED_TAGS:
        if name not in item:
            r.missing(f"tags.{name}", "a non-empty string (every resource carries it)")
    if "environment" in item and item["environment"] != environment:
        r.problem("tags.environment", item["environment"], f"{environment!r} (set from the environment setting)")
    if environment:
        tags["environment"] = environment
    tags.setdefault("managedBy", "pulumi")
    return dict(sorted(tags.items()))


def _names(r: Reader, settings: Settings) -> None:
    """Derived Azure names must fit Azure's limits; say which settings to shorten if they do not."""
    for i, region in enumerate(settings.regions):
        vault = settings.vault_name(region)
        if len(vault) > 24:
            r.problem(f"regions[{i}]", vault, "a Key Vault name of at most 24 characters: shorten namePrefix, "
                                              "environment or nameSuffix", "gives a Key Vault name too long")
        if len(settings.base_name(region)) > 64:
            r.problem(f"regions[{i}]", settings.base_name(region), "an account subdomain of at most 64 characters")


def _any_key(raw: Any) -> tuple[str, ...]:
    """For maps whose keys are names the user chooses (models, filters, tags): every key is known."""
    return tuple(raw) if isinstance(raw, Mapping) else ()
