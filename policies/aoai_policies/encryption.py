"""Customer-managed keys, checked across resources: account -> key -> vault -> identity -> role assignment.

The account names its key by vault URI and key name, and the identity that reads it by client id; these policies
follow those links through the stack's outputs and check every resource on the way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity

from .common import (
    Config,
    Stack,
    Violation,
    child_parent,
    depends_on,
    duration_days,
    flag,
    get,
    get_or_unknown,
    integer,
    integer_list,
    items,
    json_type,
    keys,
    names,
    norm_id,
    number,
    region,
    resource_id,
    resource_policy,
    same,
    scope_kind,
    show,
    stack_policy,
    string_list,
    subject,
)
from .metadata import ENCRYPTION_AT_REST, KEY_MANAGEMENT, KEY_STORE, LEAST_PRIVILEGE, PolicyMeta
from .roles import CMK_ROLE, ROLE_IDS, role_guid
from .tokens import ACCOUNT, KEY, ROLE_ASSIGNMENT, USER_ASSIGNED_IDENTITY, VAULT

CONCERN = "encryption"
CMK_ROLE_ID = ROLE_IDS[CMK_ROLE]


def _account_cmk(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    if not cfg.flag("requireCmk"):
        return
    who = subject(ACCOUNT, args.name)
    encryption = get(args.props, "properties.encryption")
    source = get(encryption, "keySource")
    if source != "Microsoft.KeyVault":
        yield (f"Encrypt {who} with a customer-managed key: set properties.encryption.keySource to "
               f"'Microsoft.KeyVault' (it is {show(source)}) with keyVaultProperties {{keyVaultUri, keyName, "
               f"keyVersion, identityClientId}}.")
        return
    required = ["keyVaultUri", "keyName"]
    if cfg.flag("requireKeyVersion"):
        required.append("keyVersion")
    kind = get(args.props, "identity.type", "")
    if not (cfg.flag("allowSystemAssignedIdentity") and "SystemAssigned" in str(kind)):
        required.append("identityClientId")
    missing = [f for f in required if get_or_unknown(encryption, f"keyVaultProperties.{f}") in (None, "")]
    if missing:
        reasons = {
            "keyVersion": "Azure OpenAI does not rotate to a new version by itself: pin one and update it after "
                          "a rotation",
            "identityClientId": "name the user-assigned identity that holds Key Vault Crypto Service Encryption "
                                "User on the key",
        }
        why = "; ".join(reasons[f] for f in missing if f in reasons)
        paths = " and ".join(f"properties.encryption.keyVaultProperties.{f}" for f in missing)
        yield f"Set {paths} on {who}" + (f" ({why})." if why else ".")


ACCOUNT_CMK = resource_policy(
    PolicyMeta(
        name="aoai-account-cmk", control="encryption", concern=CONCERN,
        display_name="Azure OpenAI account is encrypted with a customer-managed key", severity=Severity.HIGH,
        controls=ENCRYPTION_AT_REST,
        remediation="Create a Key Vault key and a user-assigned identity holding Key Vault Crypto Service "
                    "Encryption User on it; set properties.encryption {keySource: Microsoft.KeyVault, "
                    "keyVaultProperties: {keyVaultUri, keyName, keyVersion, identityClientId}} and make the account "
                    "depend on the role assignment.",
        checkov=("CKV2_AZURE_22",), azure_policy=("67121cc7…",)),
    "Azure OpenAI accounts must encrypt data at rest with a customer-managed key.",
    [ACCOUNT],
    {"requireCmk": flag("Require a customer-managed key on every account.", True),
     "requireKeyVersion": flag("Require a pinned keyVersion (the service does not auto-rotate).", True),
     "allowSystemAssignedIdentity": flag("Accept a system-assigned identity without identityClientId (the "
                                         "documented two-step enablement).", False)},
    _account_cmk)


@dataclass(frozen=True)
class CmkLink:
    """An account encrypted with a Key Vault key, and the vault and key of this stack it names (None if absent)."""

    account: PolicyResource
    vault_uri: str
    key_name: str
    client_id: Any
    vault: PolicyResource | None
    key: PolicyResource | None


def key_property(key: PolicyResource, name: str) -> Any:
    """A key's property from its outputs: top-level in the provider's outputs, under `properties` in its inputs."""
    value = get(key.props, name)
    return value if value is not None else get(key.props, f"properties.{name}")


def _key_name(key: PolicyResource) -> str:
    return str(get(key.props, "keyName") or resource_id(key).rsplit("/", 1)[-1] or get(key.props, "name") or "")


def cmk_links(stack: Stack) -> list[CmkLink]:
    """Every account of the stack whose encryption names a Key Vault key, with that key's vault and key."""
    vaults = stack.of_type(VAULT)
    all_keys = stack.of_type(KEY)
    links = []
    for account in stack.of_type(ACCOUNT):
        encryption = get(account.props, "properties.encryption")
        if get(encryption, "keySource") != "Microsoft.KeyVault":
            continue
        raw_uri = get(encryption, "keyVaultProperties.keyVaultUri")
        uri = norm_id(raw_uri)
        key_name = str(get(encryption, "keyVaultProperties.keyName", ""))
        vault = next((v for v in vaults if uri and norm_id(get(v.props, "properties.vaultUri")) == uri), None)
        key = None
        if vault is not None:
            vault_id = resource_id(vault)
            key = next((k for k in all_keys
                        if child_parent(resource_id(k), "keys") == vault_id and same(_key_name(k), key_name)), None)
        if key is None and uri:
            key = next((k for k in all_keys if norm_id(get(k.props, "keyUri")) == f"{uri}/keys/{key_name.lower()}"),
                       None)
        client_id = get(encryption, "keyVaultProperties.identityClientId")
        links.append(CmkLink(account, str(raw_uri or ""), key_name, client_id, vault, key))
    return links


def _key_strength(stack: Stack, cfg: Config) -> Iterator[Violation]:
    checked: set[str] = set()
    for link in cmk_links(stack):
        who = subject(ACCOUNT, link.account.name)
        if link.vault is None and link.key is None:
            yield Violation(f"Manage the Key Vault {link.vault_uri or '(no keyVaultUri)'} that {who} names in this "
                            f"stack: the pack cannot verify the type, size, rotation and expiry of a key it does "
                            f"not see.", link.account.urn)
            continue
        if link.key is None:
            vault_name = link.vault.name if link.vault is not None else link.vault_uri
            yield Violation(f"Create key '{link.key_name}' in Key Vault '{vault_name}' in this stack: {who} "
                            f"names it in properties.encryption.keyVaultProperties.keyName.", link.account.urn)
            continue
        if link.key.urn in checked:
            continue
        checked.add(link.key.urn)
        yield from _check_key(link.key, who, cfg)


def _check_key(key: PolicyResource, user: str, cfg: Config) -> Iterator[Violation]:
    what = f"{subject(KEY, key.name)} (it encrypts {user})"
    kty = key_property(key, "kty")
    types = cfg.strings("allowedKeyTypes")
    if kty not in types:
        yield Violation(f"Set kty of {what} to one of {names(types)} (it is {show(kty)}): Azure OpenAI accepts RSA "
                        f"keys only.", key.urn)
    elif cfg.flag("requireHsm") and kty != "RSA-HSM":
        yield Violation(f"Use an HSM-protected key for {what}: set kty to 'RSA-HSM' (it is {show(kty)}) in a "
                        f"premium vault.", key.urn)
    size = number(key_property(key, "keySize"))
    sizes = cfg.numbers("allowedKeySizes")
    if size not in sizes:
        yield Violation(f"Set keySize of {what} to {names(sizes)} bits (it is {show(size)}): Azure OpenAI accepts "
                        f"2048-bit RSA keys.", key.urn)
    ops = key_property(key, "keyOps")
    # Only string elements count: a list of objects (or anything but a list) grants nothing the pack can verify.
    if ops is not None and not {"wrapKey", "unwrapKey"} <= {o for o in items(ops) if isinstance(o, str)}:
        yield Violation(f"Allow keyOps 'wrapKey' and 'unwrapKey' on {what} (they are {show(ops)}): the account "
                        f"wraps its data encryption key with them.", key.urn)
    actions = items(get(key_property(key, "rotationPolicy") or {}, "lifetimeActions"))
    rotations = [a for a in actions if same(get(a, "action.type"), "rotate")]
    if not rotations:
        yield Violation(f"Add a rotationPolicy to {what} with a lifetime action of type 'rotate' (e.g. trigger "
                        f"timeAfterCreate 'P180D'), so a new key version is created before the old one ages out.",
                        key.urn)
    limit = cfg.number("maxRotateAfterDays")
    for action in rotations:
        after = get(action, "trigger.timeAfterCreate")
        days = duration_days(after)
        if days is not None and days > limit:
            yield Violation(f"Rotate {what} at least every {show(limit)} days: its rotation trigger "
                            f"timeAfterCreate is {show(after)}.", key.urn)
    expires = get(key_property(key, "attributes") or {}, "expires")
    expiry_time = get(key_property(key, "rotationPolicy") or {}, "attributes.expiryTime")
    if cfg.flag("requireExpiry") and expires is None and expiry_time is None:
        yield Violation(f"Set an expiry on {what}: attributes.expires for the current version, or "
                        f"rotationPolicy.attributes.expiryTime for every rotated version.", key.urn)


CMK_KEY_STRENGTH = stack_policy(
    PolicyMeta(
        name="aoai-cmk-key-strength", control="encryption", concern=CONCERN, kind="stack",
        display_name="Customer-managed key is RSA 2048 (HSM in prod), rotated and expiring", severity=Severity.HIGH,
        controls=KEY_MANAGEMENT,
        remediation="Manage the key in this stack: kty RSA-HSM (premium vault) or RSA, keySize 2048, keyOps "
                    "wrapKey/unwrapKey, a rotationPolicy with a 'rotate' lifetime action and an expiryTime, and "
                    "attributes.expires on the first version.",
        checkov=("CKV_AZURE_40", "CKV_AZURE_112"),
        azure_policy=("152b15f7…", "587c79fe…", "75c4f823…", "82067dbb…", "d8cf8476…"),
        psrule=("Azure.KeyVault.AutoRotationPolicy",)),
    "The key each Azure OpenAI account is encrypted with must be a strong, rotated, expiring RSA key in this stack.",
    {"requireHsm": flag("Require an HSM-protected key (kty RSA-HSM, premium vault).", True),
     "allowedKeyTypes": string_list("Key types Azure OpenAI accepts.", ["RSA", "RSA-HSM"]),
     "allowedKeySizes": integer_list("Key sizes in bits Azure OpenAI accepts.", [2048]),
     "maxRotateAfterDays": integer("Longest allowed rotation interval (timeAfterCreate) in days.", 365, 1),
     "requireExpiry": flag("Require an expiry on the key or its rotated versions.", True)},
    _key_strength)


def _principal_of(link: CmkLink, identities: list[PolicyResource]) -> tuple[str | None, list[Violation]]:
    """The principal id that reads the account's key, and what is wrong with how the account names it."""
    account, who = link.account, subject(ACCOUNT, link.account.name)
    if link.client_id in (None, ""):
        principal = get(account.props, "identity.principalId")
        return (str(principal) if principal else None), []
    identity = next((i for i in identities if same(get(i.props, "clientId"), link.client_id)), None)
    if identity is None:
        return None, [Violation(
            f"Create the user-assigned identity whose clientId is '{link.client_id}' in this stack, or correct "
            f"identityClientId on {who}: no identity of the stack has that client id.", account.urn)]
    problems = []
    listed = {norm_id(i) for i in keys(get(account.props, "identity.userAssignedIdentities"))}
    if resource_id(identity) not in listed:
        problems.append(Violation(
            f"Add {subject(USER_ASSIGNED_IDENTITY, identity.name)} to identity.userAssignedIdentities of {who}: "
            f"its encryption names the identity's client id, but the account does not carry the identity.",
            account.urn))
    principal = get(identity.props, "principalId")
    return (str(principal) if principal else None), problems


def _key_access(stack: Stack, cfg: Config) -> Iterator[Violation]:
    identities = stack.of_type(USER_ASSIGNED_IDENTITY)
    assignments = stack.of_type(ROLE_ASSIGNMENT)
    for link in cmk_links(stack):
        if link.vault is None or link.key is None:
            continue  # aoai-cmk-key-strength reports the missing key
        who = subject(ACCOUNT, link.account.name)
        principal, problems = _principal_of(link, identities)
        yield from problems
        if principal is None:
            continue
        allowed = {resource_id(link.key): "key", resource_id(link.vault): "vault"}
        grants = [a for a in assignments
                  if same(get(a.props, "principalId"), principal)
                  and role_guid(str(get(a.props, "roleDefinitionId", ""))) == CMK_ROLE_ID]
        narrow = [a for a in grants if norm_id(get(a.props, "scope")) in allowed]
        for grant in grants:
            scope = get(grant.props, "scope")
            if norm_id(scope) not in allowed:
                yield Violation(
                    f"Scope {subject(ROLE_ASSIGNMENT, grant.name)} ({CMK_ROLE}) to key '{link.key.name}' instead of "
                    f"the {scope_kind(scope)} {show(scope)}: the identity of {who} may use that key and nothing "
                    f"else.", grant.urn)
        if not narrow:
            yield Violation(
                f"Grant principal '{principal}' (the identity {who} reads its key with) the role {CMK_ROLE} "
                f"({CMK_ROLE_ID}) scoped to key '{link.key.name}' or its vault: without it Azure cannot unwrap the "
                f"account's data.", link.account.urn)
        # An account's own (system-assigned) identity is granted after the account exists, so the account cannot
        # wait for the grant; the two-step enablement puts the grant in an earlier `pulumi up` instead.
        elif (cfg.flag("requireDependsOn") and link.client_id not in (None, "")
              and not any(depends_on(link.account, a.urn) for a in narrow)):
            yield Violation(
                f"Make {who} depend on {subject(ROLE_ASSIGNMENT, narrow[0].name)} (depends_on): role assignments "
                f"take minutes to propagate and Azure checks the key when the account is written.",
                link.account.urn)


CMK_KEY_ACCESS = stack_policy(
    PolicyMeta(
        name="aoai-cmk-key-access", control="encryption", concern=CONCERN, kind="stack",
        display_name="Only the account's identity may use its key, scoped to the key", severity=Severity.HIGH,
        controls=LEAST_PRIVILEGE,
        remediation="Assign 'Key Vault Crypto Service Encryption User' to the user-assigned identity named in "
                    "identityClientId, scoped to the key (or its vault), list the identity in "
                    "identity.userAssignedIdentities, and make the account depend on the assignment."),
    "The identity an account reads its key with must hold Key Vault Crypto Service Encryption User on that key only.",
    {"requireDependsOn": flag("Require the account to depend on the role assignment (RBAC propagation).", True)},
    _key_access)


def _vault_protection(stack: Stack, cfg: Config) -> Iterator[Violation]:
    links = cmk_links(stack)
    all_keys = stack.of_type(KEY)
    minimum = cfg.number("minSoftDeleteRetentionDays")
    for vault in stack.of_type(VAULT):
        who = subject(VAULT, vault.name)
        props = get(vault.props, "properties") or {}
        for field, why in (("enableSoftDelete", "deleted keys must stay recoverable"),
                           ("enablePurgeProtection", "nobody may purge the key before its retention ends, or the "
                                                     "account's data is lost for good"),
                           ("enableRbacAuthorization", "access is granted by Azure RBAC, not vault access policies")):
            if get(props, field) is not True:
                yield Violation(f"Set properties.{field} to true on {who} (it is {show(get(props, field))}): {why}.",
                                vault.urn)
        raw_retention = get(props, "softDeleteRetentionInDays")
        retention = number(raw_retention)
        if raw_retention is not None and retention is None:
            yield Violation(f"Set properties.softDeleteRetentionInDays on {who} to a number of days (it is "
                            f"{show(raw_retention)}, a {json_type(raw_retention)}): the pack does not read a malformed "
                            f"value as Azure's default of 90.", vault.urn)
        elif (retention if retention is not None else 90.0) < minimum:
            retention = retention if retention is not None else 90.0
            yield Violation(f"Set properties.softDeleteRetentionInDays on {who} to at least {show(minimum)} (it is "
                            f"{show(retention)}).", vault.urn)
        if get(props, "publicNetworkAccess") != "Disabled":
            yield Violation(f"Set properties.publicNetworkAccess to 'Disabled' on {who} (it is "
                            f"{show(get(props, 'publicNetworkAccess'))}): reach it through its private endpoint.",
                            vault.urn)
        if get(props, "networkAcls.defaultAction") != "Deny":
            yield Violation(f"Set properties.networkAcls.defaultAction to 'Deny' on {who} (it is "
                            f"{show(get(props, 'networkAcls.defaultAction'))}).", vault.urn)
        vault_id = resource_id(vault)
        hsm_keys = [k for k in all_keys if child_parent(resource_id(k), "keys") == vault_id
                    and str(key_property(k, "kty") or "").endswith("-HSM")]
        if hsm_keys and get(props, "sku.name") != "premium":
            yield Violation(f"Set properties.sku.name to 'premium' on {who} (it is {show(get(props, 'sku.name'))}): "
                            f"it holds HSM key {names(k.name for k in hsm_keys)}, which a standard vault cannot "
                            f"store.", vault.urn)
        for link in (link for link in links if link.vault is vault):
            if get(props, "networkAcls.bypass") != "AzureServices":
                yield Violation(f"Set properties.networkAcls.bypass to 'AzureServices' on {who}: "
                                f"{subject(ACCOUNT, link.account.name)} reaches its key as a trusted Microsoft "
                                f"service, past the vault firewall.", vault.urn)
            if region(get(vault.props, "location")) != region(get(link.account.props, "location")):
                yield Violation(f"Create {who} in the region of {subject(ACCOUNT, link.account.name)} "
                                f"({show(get(link.account.props, 'location'))}, it is "
                                f"{show(get(vault.props, 'location'))}): the key vault must be in the account's "
                                f"region.", vault.urn)


KEY_VAULT_PROTECTION = stack_policy(
    PolicyMeta(
        name="aoai-key-vault-protection", control="encryption", concern=CONCERN, kind="stack",
        display_name="Key Vault is recoverable, RBAC-only, private, and fit for its keys", severity=Severity.HIGH,
        controls=KEY_STORE,
        remediation="Set enableSoftDelete, enablePurgeProtection and enableRbacAuthorization to true, "
                    "publicNetworkAccess 'Disabled', networkAcls {defaultAction: Deny, bypass: AzureServices}, sku "
                    "'premium' for HSM keys, and create the vault in its account's region.",
        checkov=("CKV_AZURE_42", "CKV_AZURE_110", "CKV_AZURE_111", "CKV_AZURE_189", "CKV_AZURE_109"),
        azure_policy=("1e66c121…", "0b60c0b2…", "405c5871…", "55615ac9…", "12d4fa5e…"),
        psrule=("Azure.KeyVault.SoftDelete", "Azure.KeyVault.PurgeProtect", "Azure.KeyVault.Firewall")),
    "Key Vaults must be soft-delete and purge protected, RBAC-authorized, private, and premium for HSM keys.",
    {"minSoftDeleteRetentionDays": integer("Shortest soft-delete retention in days (Azure allows 7-90).", 90, 7)},
    _vault_protection)

POLICIES = [ACCOUNT_CMK, CMK_KEY_STRENGTH, CMK_KEY_ACCESS, KEY_VAULT_PROTECTION]
