"""Every key: exactly wrapKey and unwrapKey, never exportable, enabled, rotated and expiring within the maximums."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from aoai_policies import tokens as t
from policy_harness import check_resource

DAY = 86400


def key(**changes: Any) -> dict[str, Any]:
    """A key's inputs as the program writes them (prod), with `changes` merged into `properties`."""
    props: dict[str, Any] = {
        "kty": "RSA-HSM", "keySize": 2048.0, "keyOps": ["wrapKey", "unwrapKey"],
        "attributes": {"enabled": True, "expires": float(int(time.time()) + 400 * DAY)},
        "rotationPolicy": {"attributes": {"expiryTime": "P1Y"}, "lifetimeActions": [
            {"trigger": {"timeAfterCreate": "P180D"}, "action": {"type": "Rotate"}},
            {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}]}}
    for path, value in changes.items():
        target = props
        parts = path.split("__")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        if value is ...:
            target.pop(parts[-1], None)
        else:
            target[parts[-1]] = copy.deepcopy(value)
    return {"properties": props}


def run(policy_name: str, props: dict[str, Any], **config: Any) -> list[str]:
    return check_resource(policy_name, t.KEY, props, name="cmk", **config)


def test_the_programs_key_passes_every_key_rule() -> None:
    for name in ("aoai-key-operations", "aoai-key-not-exportable", "aoai-key-lifetime"):
        assert run(name, key()) == []


# --- aoai-key-operations ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("ops", "fragment"), [
    (["wrapKey", "unwrapKey", "encrypt", "sign"], "remove 'encrypt' and 'sign'"),
    (["wrapKey"], "add 'unwrapKey'"),
    ([], "add 'wrapKey' and 'unwrapKey'"),
])
def test_key_operations_must_be_exactly_wrap_and_unwrap(ops: list[str], fragment: str) -> None:
    (message,) = run("aoai-key-operations", key(keyOps=ops))
    assert message.startswith("Set properties.keyOps on key 'cmk' to exactly 'wrapKey' and 'unwrapKey' (")
    assert fragment in message


def test_absent_or_malformed_operations_are_refused() -> None:
    (message,) = run("aoai-key-operations", key(keyOps=...))
    assert "without keyOps the key allows every operation" in message
    (message,) = run("aoai-key-operations", key(keyOps=[{"op": "wrapKey"}, {"op": "unwrapKey"}]))
    assert message.startswith("Set properties.keyOps on key 'cmk' to a list of operation names")


def test_the_allowed_operations_are_configurable() -> None:
    assert run("aoai-key-operations", key(keyOps=["wrapKey", "unwrapKey", "decrypt"]),
               allowedKeyOps=["wrapKey", "unwrapKey", "decrypt"]) == []


# --- aoai-key-not-exportable --------------------------------------------------------------------------------------

def test_an_exportable_key_with_a_release_policy_is_refused() -> None:
    props = key(attributes__exportable=True, releasePolicy={"contentType": "application/json; charset=utf-8",
                                                            "data": "eyJ2ZXJzaW9uIjoiMS4wLjAifQ"})
    exportable, release = run("aoai-key-not-exportable", props)
    assert exportable.startswith("Set properties.attributes.exportable to false on key 'cmk' (it is true)")
    assert release.startswith("Remove properties.releasePolicy from key 'cmk'")
    assert run("aoai-key-not-exportable", key(attributes__exportable="false")) != []  # not the boolean false


# --- aoai-key-lifetime --------------------------------------------------------------------------------------------

def lifetime(props: dict[str, Any], **config: Any) -> list[str]:
    return run("aoai-key-lifetime", props, **config)


def test_a_disabled_key_is_refused() -> None:
    (message,) = lifetime(key(attributes__enabled=False))
    assert message.startswith("Set properties.attributes.enabled to true on key 'cmk' (it is false)")


@pytest.mark.parametrize("after", ["P400D", "P2Y", "P13M", "PT9000H", "P60W"])
def test_rotation_after_creation_beyond_the_maximum_is_refused_in_any_unit(after: str) -> None:
    props = key(rotationPolicy__attributes={"expiryTime": "P2Y"},
                rotationPolicy__lifetimeActions=[{"trigger": {"timeAfterCreate": after}, "action": {"type": "Rotate"}}])
    (message,) = lifetime(props)
    assert message.startswith(f"Rotate key 'cmk' at least every 365 days: rotationPolicy.lifetimeActions[0].trigger."
                              f"timeAfterCreate '{after}' rotates it after")


def test_rotation_before_expiry_is_bounded_through_the_expiry_time() -> None:
    late = key(rotationPolicy__attributes={"expiryTime": "P2Y"}, rotationPolicy__lifetimeActions=[
        {"trigger": {"timeBeforeExpiry": "P7D"}, "action": {"type": "Rotate"}}])
    (message,) = lifetime(late)
    assert "timeBeforeExpiry 'P7D' before the expiryTime 'P2Y' rotates it after 723 days" in message
    timely = key(rotationPolicy__lifetimeActions=[{"trigger": {"timeBeforeExpiry": "PT720H"},
                                                   "action": {"type": "Rotate"}}])
    assert lifetime(timely) == []
    never = key(rotationPolicy__attributes=..., rotationPolicy__lifetimeActions=[
        {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Rotate"}}])
    assert any("before an expiry that never comes" in m for m in lifetime(never))


def test_a_key_without_rotation_or_with_a_malformed_trigger_is_refused() -> None:
    (message,) = lifetime(key(rotationPolicy__lifetimeActions=[
        {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}]))
    assert message.startswith("Add a rotationPolicy lifetime action of type 'Rotate' to key 'cmk'")
    assert lifetime(key(rotationPolicy__lifetimeActions=[]), requireRotation=False) == []
    (message,) = lifetime(key(rotationPolicy__lifetimeActions=[
        {"trigger": {"timeAfterCreate": "180 days"}, "action": {"type": "Rotate"}}]))
    assert message.startswith("Write rotationPolicy.lifetimeActions[0].trigger.timeAfterCreate of key 'cmk' as an "
                              "ISO 8601 duration")
    (message,) = lifetime(key(rotationPolicy__lifetimeActions=[
        {"trigger": {"timeAfterCreate": "P90D", "timeBeforeExpiry": "P30D"}, "action": {"type": "Rotate"}}]))
    assert "exactly one of timeAfterCreate or timeBeforeExpiry" in message


def test_versions_expiring_beyond_the_maximum_lifetime_are_refused() -> None:
    (message,) = lifetime(key(rotationPolicy__attributes={"expiryTime": "P10Y"}))
    assert message.startswith("Set rotationPolicy.attributes.expiryTime of key 'cmk' to at most 730 days (it is "
                              "'P10Y', 3650 days)")
    assert lifetime(key(rotationPolicy__attributes={"expiryTime": "P10Y"}), maxExpiryTimeDays=4000) == []


def test_a_first_version_valid_for_decades_or_already_expired_is_refused() -> None:
    decades = float(int(time.time()) + 30 * 365 * DAY)
    (message,) = lifetime(key(attributes__expires=decades))
    assert message.startswith("Let the current version of key 'cmk' expire within 1095 days")
    (message,) = lifetime(key(attributes__expires=float(int(time.time()) - DAY)))
    assert "already past" in message
    (message,) = lifetime(key(attributes__expires="2030-01-01"))
    assert message.startswith("Set properties.attributes.expires on key 'cmk' to a Unix time in seconds")


def test_a_key_that_never_expires_is_refused_unless_configured() -> None:
    props = key(attributes__expires=..., rotationPolicy__attributes=...,
                rotationPolicy__lifetimeActions=[{"trigger": {"timeAfterCreate": "P90D"},
                                                  "action": {"type": "Rotate"}}])
    (message,) = lifetime(props)
    assert message.startswith("Set an expiry on key 'cmk'")
    assert lifetime(props, requireExpiry=False) == []
