"""The Azure OpenAI account itself: network exposure, authentication, identity, subdomain, egress, kind and SKU."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence, Sized

from pulumi_policy import ResourceValidationArgs, Severity

from .common import (
    UNKNOWN,
    Config,
    flag,
    get,
    get_or_unknown,
    integer,
    items,
    names,
    resource_policy,
    show,
    string_list,
    subject,
    text,
)
from .metadata import AUTHENTICATION, CHANGE_CONTROL, DATA_EXFILTRATION, NETWORK_ISOLATION, PolicyMeta
from .tokens import ACCOUNT

CONCERN = "account"


def _who(args: ResourceValidationArgs) -> str:
    return subject(ACCOUNT, args.name)


def _public_network(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    value = get(args.props, "properties.publicNetworkAccess")
    if value != "Disabled":
        yield (f"Set properties.publicNetworkAccess to 'Disabled' on {_who(args)} (it is {show(value)}), so the "
               f"account is reachable only through its private endpoint.")


PUBLIC_NETWORK_DISABLED = resource_policy(
    PolicyMeta(
        name="aoai-account-public-network-disabled", control="network", concern=CONCERN,
        display_name="Azure OpenAI account has public network access disabled", severity=Severity.CRITICAL,
        controls=NETWORK_ISOLATION,
        remediation="Set properties.publicNetworkAccess to 'Disabled' on the account and reach it through its "
                    "private endpoint from the VNet (or a peered hub).",
        checkov=("CKV_AZURE_134",), azure_policy=("47ba1dd7…",), psrule=("Azure.AI.PublicAccess",)),
    "Azure OpenAI accounts must not be reachable from the public internet.",
    [ACCOUNT], {}, _public_network)


def _network_acls(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    acls = get(args.props, "properties.networkAcls")
    if acls is None:
        yield (f"Set properties.networkAcls to {{defaultAction: 'Deny', ipRules: []}} on {_who(args)}: without "
               f"network rules the account accepts any network that can reach it.")
        return
    default_action = get(acls, "defaultAction")
    if default_action != "Deny":
        yield (f"Set properties.networkAcls.defaultAction to 'Deny' on {_who(args)} (it is {show(default_action)}), "
               f"so traffic not coming through the private endpoint is refused.")
    ip_rules = [get(rule, "value", rule) for rule in items(get(acls, "ipRules"))]
    if ip_rules:
        yield (f"Remove the ipRules {names(ip_rules)} from properties.networkAcls on {_who(args)}: public IP ranges "
               f"must not reach the account; use the private endpoint.")
    bypass = get(acls, "bypass", "AzureServices")
    allowed = cfg.strings("allowedBypass")
    if bypass not in allowed:
        yield (f"Set properties.networkAcls.bypass to one of {names(allowed)} on {_who(args)} "
               f"(it is {show(bypass)}).")


NETWORK_ACLS_DENY = resource_policy(
    PolicyMeta(
        name="aoai-account-network-acls-deny", control="network", concern=CONCERN,
        display_name="Azure OpenAI account network rules deny by default", severity=Severity.HIGH,
        controls=NETWORK_ISOLATION,
        remediation="Set properties.networkAcls to {defaultAction: Deny, bypass: None, ipRules: []}; allow trusted "
                    "Azure services (bypass AzureServices) only when a reviewed integration needs it.",
        azure_policy=("037eea7a…",)),
    "Azure OpenAI account network rules must deny by default and allow no public IP ranges.",
    [ACCOUNT],
    {"allowedBypass": string_list("Values allowed for properties.networkAcls.bypass (absent means AzureServices).",
                                  ["None", "AzureServices"])},
    _network_acls)


def _local_auth(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    value = get(args.props, "properties.disableLocalAuth")
    if value is not True:
        yield (f"Set properties.disableLocalAuth to true on {_who(args)} (it is {show(value)}): API keys must not "
               f"work, so every caller authenticates with an Entra ID token.")


LOCAL_AUTH_DISABLED = resource_policy(
    PolicyMeta(
        name="aoai-account-local-auth-disabled", control="identity", concern=CONCERN,
        display_name="Azure OpenAI account disables API keys", severity=Severity.HIGH, controls=AUTHENTICATION,
        remediation="Set properties.disableLocalAuth to true and grant callers 'Cognitive Services OpenAI User' "
                    "through Entra ID groups or workload identities; never call listKeys.",
        checkov=("CKV_AZURE_236",), azure_policy=("71ef260a…",), psrule=("Azure.AI.DisableLocalAuth",)),
    "Azure OpenAI accounts must accept Entra ID tokens only (local API keys disabled).",
    [ACCOUNT], {}, _local_auth)


def _managed_identity(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    kind = get(args.props, "identity.type")
    kinds = [k.strip() for k in kind.split(",")] if isinstance(kind, str) else []
    if not kinds or kinds == ["None"]:
        yield (f"Give {_who(args)} a managed identity (identity.type 'UserAssigned' or 'SystemAssigned'): it needs "
               f"one to read its customer-managed key without secrets.")
        return
    allowed = cfg.strings("allowedIdentityTypes")
    if kind not in allowed:
        yield f"Set identity.type on {_who(args)} to one of {names(allowed)} (it is {show(kind)})."
    if cfg.flag("requireUserAssigned") and "UserAssigned" not in kinds:
        yield (f"Add a user-assigned identity to {_who(args)} (identity.type 'UserAssigned'): it exists before the "
               f"account, so the account can be created already encrypted with its key.")
    listed = get_or_unknown(args.props, "identity.userAssignedIdentities")
    # Only the count matters here: the ids themselves may be unknown until the identities exist.
    if "UserAssigned" in kinds and listed is not UNKNOWN and not (isinstance(listed, Sized) and len(listed)):
        yield (f"List the identity's resource id in identity.userAssignedIdentities on {_who(args)}: the type is "
               f"'UserAssigned' but no identity is named.")


MANAGED_IDENTITY = resource_policy(
    PolicyMeta(
        name="aoai-account-managed-identity", control="identity", concern=CONCERN,
        display_name="Azure OpenAI account has a managed identity", severity=Severity.MEDIUM,
        controls=AUTHENTICATION,
        remediation="Create a user-assigned identity, name it in identity.userAssignedIdentities with type "
                    "'UserAssigned', and use it for the customer-managed key.",
        checkov=("CKV_AZURE_238",), azure_policy=("fe3fd216…",), psrule=("Azure.AI.ManagedIdentity",)),
    "Azure OpenAI accounts must have a managed identity (no stored credentials for key access).",
    [ACCOUNT],
    {"allowedIdentityTypes": string_list("Allowed identity.type values.",
                                         ["UserAssigned", "SystemAssigned", "SystemAssigned, UserAssigned"]),
     "requireUserAssigned": flag("Require a user-assigned identity (needed to create the account already "
                                 "encrypted with its customer-managed key).", False)},
    _managed_identity)

# Azure's rule for custom subdomains: 2-64 characters, letters, digits and hyphens, no hyphen at either end.
_SUBDOMAIN = r"^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}[a-zA-Z0-9]$"


def _custom_subdomain(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    value = get_or_unknown(args.props, "properties.customSubDomainName")
    if value is UNKNOWN:
        return
    if not isinstance(value, str) or not value:
        yield (f"Set properties.customSubDomainName on {_who(args)} (e.g. to the account name): Entra ID token "
               f"authentication, network rules and private endpoints need a custom subdomain.")
    elif not re.match(cfg.text("pattern"), value):
        yield (f"Change properties.customSubDomainName '{value}' on {_who(args)} to match {cfg.text('pattern')} "
               f"(note: the subdomain cannot change later without replacing the account).")


CUSTOM_SUBDOMAIN = resource_policy(
    PolicyMeta(
        name="aoai-account-custom-subdomain", control="network", concern=CONCERN,
        display_name="Azure OpenAI account has a custom subdomain", severity=Severity.HIGH,
        controls=AUTHENTICATION,
        remediation="Set properties.customSubDomainName to a globally unique name (the account name) when the "
                    "account is created; it is immutable afterwards."),
    "Azure OpenAI accounts must have a custom subdomain (required for Entra ID auth and private endpoints).",
    [ACCOUNT],
    {"pattern": text("Regular expression the subdomain must match.", _SUBDOMAIN)},
    _custom_subdomain)


def _outbound(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    restrict = get(args.props, "properties.restrictOutboundNetworkAccess")
    if restrict is not True:
        yield (f"Set properties.restrictOutboundNetworkAccess to true on {_who(args)} (it is {show(restrict)}), so "
               f"the service can only call the hosts in allowedFqdnList (data-loss prevention).")
    fqdns = get(args.props, "properties.allowedFqdnList")
    if fqdns is None:
        yield (f"Set properties.allowedFqdnList on {_who(args)} to the list of hosts the service may reach "
               f"(an empty list allows none); aoai-outbound-fqdn-allow-list judges each entry.")


OUTBOUND_RESTRICTED = resource_policy(
    PolicyMeta(
        name="aoai-account-outbound-restricted", control="network", concern=CONCERN,
        display_name="Azure OpenAI account restricts outbound access to an FQDN list", severity=Severity.HIGH,
        controls=DATA_EXFILTRATION,
        remediation="Set properties.restrictOutboundNetworkAccess to true and list the hosts the service may call "
                    "(e.g. your storage or search endpoints) in properties.allowedFqdnList.",
        checkov=("CKV_AZURE_247",)),
    "Azure OpenAI accounts must restrict outbound network access to an explicit FQDN list.",
    [ACCOUNT], {}, _outbound)


# Shared, multi-tenant parent domains: a wildcard under one of them (`*.blob.core.windows.net`) reaches every
# customer's endpoint there, so it is refused even when a stack approves the parent. Data, extended in config.
BROAD_DOMAINS = (
    "windows.net", "core.windows.net", "blob.core.windows.net", "dfs.core.windows.net", "file.core.windows.net",
    "queue.core.windows.net", "table.core.windows.net", "web.core.windows.net", "database.windows.net",
    "servicebus.windows.net", "search.windows.net", "azure.com", "azure.net", "vault.azure.net",
    "openai.azure.com", "cognitiveservices.azure.com", "services.ai.azure.com", "documents.azure.com",
    "azurewebsites.net", "cloudapp.net", "cloudapp.azure.com", "azurecr.io", "azurefd.net", "azureedge.net",
    "trafficmanager.net", "usgovcloudapi.net", "amazonaws.com", "cloudfront.net", "googleapis.com", "appspot.com",
    "run.app", "github.io", "githubusercontent.com", "herokuapp.com", "ngrok.io", "ngrok-free.app", "workers.dev",
    "pages.dev", "vercel.app", "netlify.app", "co.uk", "com.au", "co.jp",
)
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _under(host: str, suffix: str) -> bool:
    """Whether `host` is `suffix` or a name below it, at a label boundary (`evilcontoso.com` is not under
    `contoso.com`)."""
    return host == suffix or host.endswith("." + suffix)


def _fqdn_entry(entry: object, suffixes: list[str], broad: list[str], min_labels: int) -> str | None:
    """Why an allowedFqdnList entry is refused, or None when it is approved."""
    if not isinstance(entry, str):
        return f"{show(entry)} is not a host name"
    host = entry.strip().lower().rstrip(".")
    wildcard = host.startswith("*.")
    base = host[2:] if wildcard else host
    labels = base.split(".")
    if host == "*" or "*" in base or not all(_LABEL.match(label) for label in labels):
        return f"{show(entry)} is not a host name or a '*.<domain>' wildcard (a bare or embedded '*' allows anything)"
    if wildcard and (len(labels) < min_labels or any(_under(b, base) for b in broad)):
        return (f"{show(entry)} is a broad wildcard: it reaches every host under {show(base)}, other tenants' "
                f"endpoints included")
    if not any(_under(base, s) for s in suffixes):
        if not suffixes:
            return f"{show(entry)} is not allowed: approvedFqdnSuffixes is empty, so the account may call no host"
        return f"{show(entry)} is not under an approved suffix ({names(suffixes, 'or')})"
    return None


def _fqdn_allow_list(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    fqdns = get(args.props, "properties.allowedFqdnList")
    if fqdns is None:
        return  # aoai-account-outbound-restricted requires the list
    if isinstance(fqdns, (str, bytes)) or not isinstance(fqdns, Sequence):
        yield (f"Set properties.allowedFqdnList on {_who(args)} to a list of host names (it is {show(fqdns)}): the "
               f"pack does not guess which hosts a malformed value allows.")
        return
    suffixes = [s.strip().lower().lstrip("*").lstrip(".") for s in cfg.strings("approvedFqdnSuffixes")]
    broad = [b.strip().lower() for b in cfg.strings("broadDomains")]
    min_labels = int(cfg.number("minWildcardLabels"))
    for entry in fqdns:
        reason = _fqdn_entry(entry, [s for s in suffixes if s], broad, min_labels)
        if reason is not None:
            yield (f"Remove {show(entry)} from properties.allowedFqdnList on {_who(args)}: {reason}. The account "
                   f"may send data only to hosts under the reviewed approvedFqdnSuffixes.")


OUTBOUND_FQDN_ALLOW_LIST = resource_policy(
    PolicyMeta(
        name="aoai-outbound-fqdn-allow-list", control="network", concern=CONCERN,
        display_name="Outbound hosts are under approved domains, no broad wildcards", severity=Severity.HIGH,
        controls=DATA_EXFILTRATION,
        remediation="List in properties.allowedFqdnList only hosts (or '*.<your-domain>' wildcards) under the "
                    "stack's approvedFqdnSuffixes; an empty approvedFqdnSuffixes means the account calls no host at "
                    "all. Never '*', never a wildcard over a shared domain such as *.blob.core.windows.net."),
    "Every host in an account's allowedFqdnList must fall under an approved suffix; bare and broad wildcards are "
    "refused, and no approved suffix means no outbound host at all.",
    [ACCOUNT],
    {"approvedFqdnSuffixes": string_list("Domains the account may call hosts under (at a label boundary). Empty: "
                                         "the account may call no host.", []),
     "broadDomains": string_list("Shared domains no wildcard may cover.", BROAD_DOMAINS),
     "minWildcardLabels": integer("Fewest labels the domain under a '*.' wildcard must have (2 refuses *.com).", 2,
                                  1)},
    _fqdn_allow_list)


def _kind_sku(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    kind = get(args.props, "kind")
    kinds = cfg.strings("allowedKinds")
    if kind not in kinds:
        yield f"Set kind on {_who(args)} to one of {names(kinds)} (it is {show(kind)})."
    sku = get(args.props, "sku.name")
    skus = cfg.strings("allowedSkus")
    if sku not in skus:
        yield f"Set sku.name on {_who(args)} to one of {names(skus)} (it is {show(sku)})."


KIND_AND_SKU = resource_policy(
    PolicyMeta(
        name="aoai-account-kind-sku", control="other", concern=CONCERN,
        display_name="Azure OpenAI account has an approved kind and SKU", severity=Severity.MEDIUM,
        controls=CHANGE_CONTROL,
        remediation="Create the account with kind 'OpenAI' (or 'AIServices') and sku.name 'S0'."),
    "Cognitive Services accounts must be of an approved kind and SKU.",
    [ACCOUNT],
    {"allowedKinds": string_list("Allowed account kinds.", ["OpenAI", "AIServices"]),
     "allowedSkus": string_list("Allowed account SKU names.", ["S0"])},
    _kind_sku)

POLICIES = [PUBLIC_NETWORK_DISABLED, NETWORK_ACLS_DENY, LOCAL_AUTH_DISABLED, MANAGED_IDENTITY, CUSTOM_SUBDOMAIN,
            OUTBOUND_RESTRICTED, OUTBOUND_FQDN_ALLOW_LIST, KIND_AND_SKU]
