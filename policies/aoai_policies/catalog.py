"""Data tables the policies check against by default: models and versions, deployment SKUs, DNS zones.

They repeat facts of the program's `settings/catalog.py` (which the pack may not import); tests hold the two equal.
A stack changes them through policy config, not code.
"""

from __future__ import annotations

# Model -> versions approved for deployment: the versions the project's stacks pin today, each offered by Azure in
# the stacks' regions (settings/data/models/*.json, read 2026-11-30). A stack approves more through its policy config
# (allowedModels), after evaluation; retirement is judged separately (lifecycle.py).
DEFAULT_MODEL_VERSIONS: dict[str, list[str]] = {
    "gpt-4o": ["2024-11-20"],
    "gpt-4.1": ["2025-04-14"],
    "gpt-5.1": ["2025-11-13"],
    "text-embedding-3-large": ["1"],
    "text-embedding-3-small": ["1"],
    "gpt-image-1.5": ["2025-12-16"],
}

# Deployment SKUs by how far they may carry prompts: the account's region, the data zone, anywhere.
REGIONAL_SKUS = ("Standard", "ProvisionedManaged")
DATA_ZONE_SKUS = ("DataZoneStandard", "DataZoneProvisionedManaged", "DataZoneBatch")
GLOBAL_SKUS = ("GlobalStandard", "GlobalProvisionedManaged", "GlobalBatch")
PROVISIONED_SKUS = ("ProvisionedManaged", "DataZoneProvisionedManaged", "GlobalProvisionedManaged")

# Private DNS zones of the public cloud (US Government stacks set the .us / usgovcloudapi.net names in config).
ACCOUNT_ZONES = ["privatelink.openai.azure.com", "privatelink.cognitiveservices.azure.com"]
AI_SERVICES_ZONES = ["privatelink.services.ai.azure.com"]
VAULT_ZONES = ["privatelink.vaultcore.azure.net"]

# Content-filter severity thresholds, strictest first: 'Low' blocks the most content, 'High' the least.
SEVERITY_ORDER = ("Low", "Medium", "High")
HARM_CATEGORIES = ["hate", "sexual", "violence", "selfharm"]
