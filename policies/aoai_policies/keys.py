"""Every Key Vault key of the stack, judged on its own inputs: exactly wrap and unwrap, never exportable, enabled, and
rotated and expiring within the configured maximums through every trigger.

`aoai-cmk-key-strength` follows an account to its key (type, size, HSM); these rules hold for every key, whether or not
an account names it yet, and decide at the first preview from what the program writes literally.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .common import (
    Config,
    duration_days,
    flag,
    get,
    integer,
    names,
    number,
    resource_policy,
    same,
    show,
    string_list,
    subject,
)
from .metadata import KEY_MANAGEMENT, PolicyMeta
from .tokens import KEY

CONCERN = "encryption"
SECONDS_PER_DAY = 86400.0


def _who(args: ResourceValidationArgs) -> str:
    return subject(KEY, args.name)


def _key_props(args: ResourceValidationArgs) -> Any:
    """The key's properties: under `properties` in its inputs (the resource policies' view)."""
    props = get(args.props, "properties")
    return props if props is not None else {}


# --- aoai-key-operations ------------------------------------------------------------------------------------------

def _operations(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    ops = get(_key_props(args), "keyOps")
    allowed = cfg.strings("allowedKeyOps")
    if ops is None:
        yield (f"Set properties.keyOps on {_who(args)} to exactly {names(allowed)}: without keyOps the key allows "
               f"every operation (encrypt, decrypt, sign, verify, wrap, unwrap), more than encryption at rest needs.")
        return
    if isinstance(ops, (str, bytes, Mapping)) or not isinstance(ops, Sequence) or \
            not all(isinstance(o, str) for o in ops):
        yield (f"Set properties.keyOps on {_who(args)} to a list of operation names, exactly {names(allowed)} (it is "
               f"{show(ops)}).")
        return
    extra = sorted({o for o in ops if o not in allowed})
    missing = [o for o in allowed if o not in ops]
    if extra or missing:
        parts = ([f"remove {names(extra)}"] if extra else []) + ([f"add {names(missing)}"] if missing else [])
        yield (f"Set properties.keyOps on {_who(args)} to exactly {names(allowed)} ({' and '.join(parts)}; it is "
               f"{show(list(ops))}): the account only wraps and unwraps its data key, and any other operation "
               f"lets whoever reaches the key use it for something else.")


KEY_OPERATIONS = resource_policy(
    PolicyMeta(
        name="aoai-key-operations", control="encryption", concern=CONCERN,
        display_name="The key allows exactly wrapKey and unwrapKey", severity=Severity.HIGH,
        controls=KEY_MANAGEMENT,
        remediation="Create the key with keyOps ['wrapKey', 'unwrapKey'] and nothing else."),
    "Key Vault keys must allow exactly the operations a customer-managed key needs: wrapKey and unwrapKey.",
    [KEY],
    {"allowedKeyOps": string_list("The exact set of keyOps a key must have.", ["wrapKey", "unwrapKey"])},
    _operations)


# --- aoai-key-not-exportable --------------------------------------------------------------------------------------

def _not_exportable(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    props = _key_props(args)
    exportable = get(props, "attributes.exportable")
    if exportable is not None and exportable is not False:
        yield (f"Set properties.attributes.exportable to false on {_who(args)} (it is {show(exportable)}): an "
               f"exportable key can leave the HSM, so the data it protects no longer depends on this vault.")
    release = get(props, "releasePolicy")
    if release is None:
        release = get(props, "release_policy")
    if release is not None:
        yield (f"Remove properties.releasePolicy from {_who(args)}: a release policy lets an attested environment "
               f"export the key material (secure key release), which a customer-managed key must never allow.")


KEY_NOT_EXPORTABLE = resource_policy(
    PolicyMeta(
        name="aoai-key-not-exportable", control="encryption", concern=CONCERN,
        display_name="The key cannot be exported or released", severity=Severity.CRITICAL,
        controls=KEY_MANAGEMENT,
        remediation="Leave attributes.exportable unset (false) and set no releasePolicy on the key."),
    "Key Vault keys must not be exportable and must carry no release policy.",
    [KEY], {}, _not_exportable)


# --- aoai-key-lifetime --------------------------------------------------------------------------------------------

def _days(value: Any, where: str, who: str, problems: list[str]) -> float | None:
    """An ISO 8601 duration in days; a malformed one is a problem, never a default."""
    days = duration_days(value)
    if value is not None and days is None:
        problems.append(f"Write {where} of {who} as an ISO 8601 duration such as P90D, P1Y or PT720H (it is "
                        f"{show(value)}).")
    return days


def _lifetime(args: ResourceValidationArgs, cfg: Config) -> Iterator[str]:
    who, props = _who(args), _key_props(args)
    problems: list[str] = []
    enabled = get(props, "attributes.enabled")
    if enabled is not None and enabled is not True:
        problems.append(f"Set properties.attributes.enabled to true on {who} (it is {show(enabled)}): a disabled "
                        f"key makes the account's data unreadable.")
    max_rotate = cfg.number("maxRotateAfterDays")
    max_lifetime = cfg.number("maxExpiryTimeDays")
    max_expires = cfg.number("maxExpiresInDays")

    policy = get(props, "rotationPolicy")
    expiry_time = get(policy, "attributes.expiryTime")
    lifetime = _days(expiry_time, "rotationPolicy.attributes.expiryTime", who, problems)
    if lifetime is not None and lifetime > max_lifetime:
        problems.append(f"Set rotationPolicy.attributes.expiryTime of {who} to at most {show(max_lifetime)} days (it "
                        f"is {show(expiry_time)}, {show(round(lifetime))} days): every rotated version must expire "
                        f"within the maximum key lifetime.")
    rotate_ages = []
    unreadable = False
    actions = get(policy, "lifetimeActions")
    if actions is not None and (isinstance(actions, (str, bytes, Mapping)) or not isinstance(actions, Sequence)):
        problems.append(f"Set rotationPolicy.lifetimeActions of {who} to a list of actions (it is {show(actions)}).")
        actions, unreadable = [], True
    for i, action in enumerate(actions or []):
        kind = get(action, "action.type")
        trigger = get(action, "trigger") or {}
        after, before = get(trigger, "timeAfterCreate"), get(trigger, "timeBeforeExpiry")
        where = f"rotationPolicy.lifetimeActions[{i}].trigger"
        if (after is None) == (before is None):
            problems.append(f"Give {where} of {who} exactly one of timeAfterCreate or timeBeforeExpiry (it is "
                            f"{show(trigger)}).")
            unreadable = True
            continue
        after_days = _days(after, f"{where}.timeAfterCreate", who, problems)
        before_days = _days(before, f"{where}.timeBeforeExpiry", who, problems)
        if not same(kind, "rotate"):
            continue
        unreadable = unreadable or (after_days is None and before_days is None)
        if after_days is not None:
            rotate_ages.append((after_days, f"{where}.timeAfterCreate {show(after)}"))
        elif before_days is not None:
            if lifetime is None:
                problems.append(f"Set rotationPolicy.attributes.expiryTime on {who}: its rotation triggers "
                                f"{show(before)} before an expiry that never comes, so the key is never rotated.")
            elif before_days >= lifetime:
                problems.append(f"Make {where}.timeBeforeExpiry of {who} shorter than the expiryTime "
                                f"{show(expiry_time)} (it is {show(before)}).")
            else:
                rotate_ages.append((lifetime - before_days, f"{where}.timeBeforeExpiry {show(before)} before the "
                                                            f"expiryTime {show(expiry_time)}"))
    if cfg.flag("requireRotation") and not rotate_ages and not unreadable:
        problems.append(f"Add a rotationPolicy lifetime action of type 'Rotate' to {who} (e.g. trigger "
                        f"timeAfterCreate 'P180D'), so new key versions replace old ones before they age out.")
    for age, how in rotate_ages:
        if age > max_rotate:
            problems.append(f"Rotate {who} at least every {show(max_rotate)} days: {how} rotates it after "
                            f"{show(round(age))} days.")

    expires = get(props, "attributes.expires")
    seconds = number(expires)
    if expires is not None and seconds is None:
        problems.append(f"Set properties.attributes.expires on {who} to a Unix time in seconds (it is "
                        f"{show(expires)}).")
    elif seconds is not None:
        days_left = (seconds - time.time()) / SECONDS_PER_DAY
        if days_left <= 0:
            problems.append(f"Set properties.attributes.expires on {who} to a future time (it is {show(expires)}, "
                            f"already past): an expired key cannot wrap the account's data key.")
        elif days_left > max_expires:
            problems.append(f"Let the current version of {who} expire within {show(max_expires)} days (its "
                            f"attributes.expires {show(expires)} is {show(round(days_left))} days away): a first "
                            f"version valid for years outlives any rotation policy.")
    if cfg.flag("requireExpiry") and seconds is None and lifetime is None and expires is None:
        problems.append(f"Set an expiry on {who}: properties.attributes.expires for the current version and "
                        f"rotationPolicy.attributes.expiryTime for every rotated version.")
    yield from problems


KEY_LIFETIME = resource_policy(
    PolicyMeta(
        name="aoai-key-lifetime", control="encryption", concern=CONCERN,
        display_name="The key is enabled, rotated and expiring within the maximums", severity=Severity.HIGH,
        controls=KEY_MANAGEMENT,
        remediation="Enable the key; give it a rotationPolicy whose Rotate action fires within maxRotateAfterDays "
                    "(timeAfterCreate, or expiryTime minus timeBeforeExpiry), an expiryTime within maxExpiryTimeDays, "
                    "and attributes.expires within maxExpiresInDays; write durations in ISO 8601 (P180D, P1Y, "
                    "PT720H).",
        checkov=("CKV_AZURE_40",),
        azure_policy=("152b15f7…", "49a22571…", "c26e4b24…", "d8cf8476…"),
        psrule=("Azure.KeyVault.AutoRotationPolicy",)),
    "Key Vault keys must be enabled, rotated and expire within the configured maximums, through every trigger.",
    [KEY],
    {"maxRotateAfterDays": integer("Longest time in days before a Rotate action fires, through either trigger.",
                                   365, 1),
     "maxExpiryTimeDays": integer("Longest rotationPolicy.attributes.expiryTime in days.", 730, 1),
     "maxExpiresInDays": integer("Longest time in days from now to the current version's attributes.expires.",
                                 1095, 1),
     "requireRotation": flag("Require a Rotate lifetime action.", True),
     "requireExpiry": flag("Require an expiry (attributes.expires or rotationPolicy.attributes.expiryTime).", True)},
    _lifetime)

POLICIES = [KEY_OPERATIONS, KEY_NOT_EXPORTABLE, KEY_LIFETIME]
