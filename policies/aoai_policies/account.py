"""The Azure OpenAI account itself: network exposure, authentication, identity, subdomain, egress, kind and SKU."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sized

from pulumi_policy import ResourceValidationArgs, Severity

from .common import (
    UNKNOWN,
    Config,
    flag,
    get,
    get_or_unknown,
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
    if fqdns is None or isinstance(fqdns, (str, bytes)):
        yield (f"Set properties.allowedFqdnList on {_who(args)} to the list of hosts the service may reach "
               f"(an empty list allows none).")
        return
    suffixes = [s.lower() for s in cfg.strings("approvedFqdnSuffixes")]
    if suffixes:
        unapproved = [f for f in items(fqdns) if not any(str(f).lower().endswith(s) for s in suffixes)]
        if unapproved:
            yield (f"Remove {names(unapproved)} from properties.allowedFqdnList on {_who(args)}, or add their "
                   f"domain to approvedFqdnSuffixes after review: only {names(suffixes)} may be reached.")


OUTBOUND_RESTRICTED = resource_policy(
    PolicyMeta(
        name="aoai-account-outbound-restricted", control="network", concern=CONCERN,
        display_name="Azure OpenAI account restricts outbound access to an FQDN list", severity=Severity.HIGH,
        controls=DATA_EXFILTRATION,
        remediation="Set properties.restrictOutboundNetworkAccess to true and list the hosts the service may call "
                    "(e.g. your storage or search endpoints) in properties.allowedFqdnList.",
        checkov=("CKV_AZURE_247",)),
    "Azure OpenAI accounts must restrict outbound network access to an explicit FQDN list.",
    [ACCOUNT],
    {"approvedFqdnSuffixes": string_list("When not empty, every allowedFqdnList entry must end with one of these "
                                         "domains.", [])},
    _outbound)


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
            OUTBOUND_RESTRICTED, KIND_AND_SKU]
