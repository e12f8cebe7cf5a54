"""The data tables the settings are checked against: models, regions, roles, DNS zones.

Each table is the one place its facts live. Facts marked *unconfirmed* in the reference (model versions, which SKUs a
model offers in which region, data-zone membership) can be overridden per stack through settings, so a change at
Microsoft needs a config edit, not a code change.
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

RESIDENCY_MODES = ("regional", "dataZone", "global")
SKUS_BY_RESIDENCY = {
    "regional": REGIONAL_SKUS,
    "dataZone": REGIONAL_SKUS | DATA_ZONE_SKUS,
    "global": ALL_DEPLOYMENT_SKUS,
}

VERSION_UPGRADE_OPTIONS = ("NoAutoUpgrade", "OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired")


@dataclass(frozen=True)
class ModelSpec:
    """A model we support: the version we pin by default and the deployment SKUs it can be deployed with."""

    name: str
    default_version: str
    skus: frozenset[str]
    family: str


_CHAT_SKUS = frozenset({"Standard", "DataZoneStandard", "GlobalStandard", "ProvisionedManaged",
                        "DataZoneProvisionedManaged", "GlobalProvisionedManaged", "GlobalBatch", "DataZoneBatch"})
_EMBEDDING_SKUS = frozenset({"Standard", "DataZoneStandard", "GlobalStandard", "ProvisionedManaged",
                             "GlobalProvisionedManaged"})

# Versions are the ones named in the reference (unconfirmed): a stack overrides them with `modelCatalog`.
MODEL_CATALOG: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("gpt-4o", "2024-11-20", _CHAT_SKUS, "chat"),
        ModelSpec("gpt-4.1", "2025-04-14", _CHAT_SKUS, "chat"),
        ModelSpec("o3", "2025-04-16", _CHAT_SKUS, "reasoning"),
        ModelSpec("o4-mini", "2025-04-16", _CHAT_SKUS, "reasoning"),
        ModelSpec("text-embedding-3-large", "1", _EMBEDDING_SKUS, "embedding"),
        ModelSpec("text-embedding-3-small", "1", _EMBEDDING_SKUS, "embedding"),
        ModelSpec("whisper", "001", frozenset({"Standard"}), "audio"),
        ModelSpec("dall-e-3", "3.0", frozenset({"Standard"}), "image"),
    )
}


@dataclass(frozen=True)
class Region:
    """An Azure region we may deploy to, with the short code used in resource names and its data zone."""

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
        Region("norwayeast", "noe", "none"),
        Region("switzerlandnorth", "szn", "none"),
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
        Region("usgovvirginia", "ugv", "none", "usgovernment"),
        Region("usgovarizona", "uga", "none", "usgovernment"),
    )
}
DATA_ZONES = ("EU", "US")

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

# Built-in role definition ids (REFERENCE: Built-in role definition ids). The policy pack keeps its own copy, and a
# test holds the two equal.
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
RAI_MODES = ("Default", "Deferred", "Blocking", "Asynchronous_filter")

ACCOUNT_KINDS = ("OpenAI", "AIServices")
VAULT_SKUS = ("standard", "premium")
KEY_TYPES = ("RSA", "RSA-HSM")
KEY_SIZES = (2048,)  # what Azure OpenAI accepts for a customer-managed key
