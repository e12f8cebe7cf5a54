"""The fixed tables the settings are checked against: SKUs, regions, DNS zones, roles, log categories, metrics.

Each table is the one place its facts live, and names where they come from and when they were read. What Azure
offers per region (models, versions, SKUs, capacity, retirement) changes monthly, so it is not here but in the
catalogue snapshot under settings/data (settings/model_catalog.py), which a refresh command rewrites from Azure.
"""

from __future__ import annotations

from dataclasses import dataclass

# Deployment SKUs by the residency they keep. Standard/ProvisionedManaged process prompts in the account's region;
# DataZone* within the data zone (EU, US); Global* anywhere Microsoft chooses, which breaks data residency.
REGIONAL_SKUS = frozenset({"Standard", "ProvisionedManaged"})
DATA_ZONE_SKUS = frozenset({"DataZoneStandard", "DataZoneProvisionedManaged", "DataZoneBatch"})
GLOBAL_SKUS = frozenset({"GlobalStandard", "GlobalProvisionedManaged", "GlobalBatch"})
ALL_DEPLOYMENT_SKUS = REGIONAL_SKUS | DATA_ZONE_SKUS | GLOBAL_SKUS
PROVISIONED_SKUS = frozenset({"ProvisionedManaged", "DataZoneProvisionedManaged", "GlobalProvisionedManaged"})

# A provisioned deployment spills over to a standard deployment on the same account whose data processing level
# matches (Microsoft Learn "Manage traffic with spillover for provisioned deployments", ms.date 2026-03-04, read
# 2026-11-30: Global to GlobalStandard, Data Zone to DataZoneStandard; regional by the same rule).
SPILLOVER_TARGET_SKUS = {"ProvisionedManaged": "Standard", "DataZoneProvisionedManaged": "DataZoneStandard",
                         "GlobalProvisionedManaged": "GlobalStandard"}

RESIDENCY_MODES = ("regional", "dataZone", "global")
SKUS_BY_RESIDENCY = {
    "regional": REGIONAL_SKUS,
    "dataZone": REGIONAL_SKUS | DATA_ZONE_SKUS,
    "global": ALL_DEPLOYMENT_SKUS,
}

VERSION_UPGRADE_OPTIONS = ("NoAutoUpgrade", "OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired")


@dataclass(frozen=True)
class Region:
    """An Azure region we may deploy to, with the short code used in resource names and its data zone.

    Data zones: Microsoft Learn "Deployment types" (ms.date 2026-05-08: the EU Data Zone covers France, Germany,
    Italy, Netherlands, Norway, Poland, Spain, Sweden and Switzerland; the US Data Zone the US) and "Deployment types
    in Azure Government" (ms.date 2026-04-03: USGov), read 2026-11-30. Ireland (northeurope) and the UK are in none.
    Which data-zone SKUs a region actually offers is the model catalogue's business, not this table's."""

    name: str
    code: str
    data_zone: str
    cloud: str = "public"


REGIONS: dict[str, Region] = {
    r.name: r
    for r in (
        Region("swedencentral", "swc", "EU"),
        Region("francecentral", "frc", "EU"),
        Region("germanywestcentral", "gwc", "EU"),
        Region("westeurope", "weu", "EU"),
        Region("northeurope", "neu", "EU"),
        Region("italynorth", "itn", "EU"),
        Region("polandcentral", "plc", "EU"),
        Region("spaincentral", "spc", "EU"),
        Region("norwayeast", "noe", "EU"),
        Region("switzerlandnorth", "szn", "EU"),
        Region("uksouth", "uks", "none"),
        Region("eastus", "eus", "US"),
        Region("eastus2", "eus2", "US"),
        Region("westus", "wus", "US"),
        Region("westus3", "wus3", "US"),
        Region("northcentralus", "ncus", "US"),
        Region("southcentralus", "scus", "US"),
        Region("canadaeast", "cae", "none"),
        Region("australiaeast", "aue", "none"),
        Region("japaneast", "jpe", "none"),
        Region("koreacentral", "krc", "none"),
        Region("southindia", "ins", "none"),
        Region("brazilsouth", "brs", "none"),
        Region("usgovvirginia", "ugv", "USGov", "usgovernment"),
        Region("usgovarizona", "uga", "USGov", "usgovernment"),
    )
}
DATA_ZONES = ("EU", "US", "USGov")

# Private DNS zones per cloud (REFERENCE: Private endpoints and DNS).
DNS_ZONES: dict[str, dict[str, str]] = {
    "public": {
        "openai": "privatelink.openai.azure.com",
        "cognitiveservices": "privatelink.cognitiveservices.azure.com",
        "aiservices": "privatelink.services.ai.azure.com",
        "vault": "privatelink.vaultcore.azure.net",
    },
    "usgovernment": {
        "openai": "privatelink.openai.azure.us",
        "cognitiveservices": "privatelink.cognitiveservices.azure.us",
        "aiservices": "privatelink.services.ai.azure.us",
        "vault": "privatelink.vaultcore.usgovcloudapi.net",
    },
}
CLOUDS = tuple(DNS_ZONES)
# The zones an account's private endpoint registers in, by account kind; the vault always uses "vault".
ACCOUNT_ZONE_KEYS: dict[str, tuple[str, ...]] = {
    "OpenAI": ("openai", "cognitiveservices"),
    "AIServices": ("openai", "cognitiveservices", "aiservices"),
}

# Built-in role definition ids: Microsoft Learn "Azure built-in roles" (learn.microsoft.com/azure/role-based-access-
# control/built-in-roles, ms.date 2026-04-09), every id checked there on 2026-11-30. The policy pack keeps its own
# copy, and a test holds the two equal.
ROLE_IDS: dict[str, str] = {
    "Cognitive Services OpenAI User": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
    "Cognitive Services OpenAI Contributor": "a001fd3d-188f-4b5d-821b-7da978bf7442",
    "Cognitive Services User": "a97b65f3-24c7-4388-baec-2e87135dc908",
    "Cognitive Services Contributor": "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68",
    "Azure AI Developer": "64702f94-c441-49e6-a78b-ef80e0188fee",
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
    "Key Vault Crypto Officer": "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Monitoring Reader": "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
    "Log Analytics Reader": "73c42c96-874c-492b-b04d-ab87d138a893",
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
}
# Roles this project refuses to hand out from config: they grant control of the resource or of who may access it.
PRIVILEGED_ROLES = frozenset({"Owner", "Contributor", "User Access Administrator", "Cognitive Services Contributor"})
ASSIGNABLE_ROLES = tuple(sorted(set(ROLE_IDS) - PRIVILEGED_ROLES))
CMK_ROLE = "Key Vault Crypto Service Encryption User"

PRINCIPAL_TYPES = ("Group", "ServicePrincipal", "User")
ACCESS_SCOPES = ("account", "keyVault", "workspace")

# Diagnostic log categories (REFERENCE: Diagnostics). ManagedNetworkEvent is unconfirmed, so not a default.
ACCOUNT_LOG_CATEGORIES = ("Audit", "RequestResponse", "AzureOpenAIRequestUsage", "Trace", "ManagedNetworkEvent")
DEFAULT_ACCOUNT_LOG_CATEGORIES = ("Audit", "RequestResponse", "AzureOpenAIRequestUsage", "Trace")
LOG_CATEGORY_GROUPS = ("allLogs", "audit")

CONTENT_FILTER_CATEGORIES = ("hate", "sexual", "violence", "selfharm")
SEVERITY_THRESHOLDS = ("Low", "Medium", "High")
# Content-filter (RAI policy) modes. REST spec cognitiveservices 2025-06-01 RaiPolicyMode (Azure/azure-rest-api-specs
# @2c4d374c, read 2026-11-30) lists Default, Deferred, Blocking, Asynchronous_filter and says of Deferred: "Please use
# 'Asynchronous_filter' after 2025-06-01. It is the same as 'Deferred' in previous version." Microsoft Learn documents
# Default (filter before the answer is returned) and Asynchronous_filter only; Blocking is documented nowhere, so it is
# not offered here.
RAI_MODES = ("Default", "Asynchronous_filter")
SUPERSEDED_RAI_MODES = {"Deferred": "Asynchronous_filter"}
UNDOCUMENTED_RAI_MODES = ("Blocking",)



@dataclass(frozen=True)
class Metric:
    """An Azure Monitor platform metric of Microsoft.CognitiveServices/accounts and how the alerts aggregate it."""

    name: str
    aggregation: str
    unit: str


# Microsoft Learn "Supported metrics for Microsoft.CognitiveServices/accounts" (MicrosoftDocs/azure-monitor-docs,
# ms.date 2026-07-31) and "Monitoring Azure OpenAI" reference (ms.date 2026-03-19), read 2026-11-30.
METRIC_SOURCE = ("https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/"
                 "microsoft-cognitiveservices-accounts-metrics (ms.date 2026-07-31, read 2026-11-30)")
REQUESTS_METRIC = Metric("AzureOpenAIRequests", "Total", "Count")  # dimension StatusCode ("200", "429", "500"...)
TIME_TO_RESPONSE_METRIC = Metric("AzureOpenAITimeToResponse", "Average", "MilliSeconds")  # PTU and pay-as-you-go
PROVISIONED_UTILIZATION_METRIC = Metric("AzureOpenAIProvisionedManagedUtilizationV2", "Average", "Percent")
# Every legacy "Cognitive Services - HTTP Requests" metric carries "Do not use for Azure OpenAI service" on that page.
METRICS_NOT_FOR_AZURE_OPENAI = ("ServerErrors", "ClientErrors", "Latency", "BlockedCalls", "TotalCalls",
                                "SuccessfulCalls", "TotalErrors", "SuccessRate", "DataIn", "DataOut",
                                "ProvisionedManagedUtilization")
# Metric alert dimensions take Include/Exclude of listed values only (no wildcard within a value), so server errors are
# the 5xx codes Azure OpenAI answers with, listed.
SERVER_ERROR_STATUS_CODES = ("500", "502", "503", "504")
THROTTLED_STATUS_CODE = "429"

ACCOUNT_KINDS = ("OpenAI", "AIServices")
VAULT_SKUS = ("standard", "premium")
KEY_TYPES = ("RSA", "RSA-HSM")
KEY_SIZES = (2048,)  # what Azure OpenAI accepts for a customer-managed key


@dataclass(frozen=True)
class KeyRotationLimits:
    """What Key Vault accepts in a key rotation policy, in days (REST keys.json KeyRotationPolicy; Microsoft Learn
    "Configure cryptographic key auto-rotation in Azure Key Vault", read 2026-11-30)."""

    min_expiry_time_days: int
    min_time_after_create_days: int
    min_time_before_expiry_days: int


KEY_ROTATION_LIMITS = KeyRotationLimits(min_expiry_time_days=28, min_time_after_create_days=7,
                                        min_time_before_expiry_days=7)
