"""Refresh the model catalogue and quota snapshots from Azure itself, for platform teams with credentials.

    python -m offline catalog refresh --location swedencentral --subscription-id <id> [--subscription <name>]

calls the ARM Models API (`client.models.list(location)`) and Usages API (`client.usages.list(location)`) through
the Azure SDK for Python (`azure-mgmt-cognitiveservices`, signed in with `azure-identity`'s DefaultAzureCredential:
`az login`, a workload identity or environment credentials) at api-version 2025-06-01, and rewrites
`settings/data/models/<location>.json` and `settings/data/quota/<subscription>/<location>.json` in the API's own
shape, with `x-source` saying where and when. The pack's lifecycle copy (`policies/aoai_policies/data/
model-retirements.json`) is rewritten from the whole catalogue so the two stay equal.

The snapshot files are reviewed like code: a refresh shows up as a diff in the pull request that carries it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settings.model_catalog import DATA_DIR, CatalogError, load_catalog, read_region

from .lifecycle_export import write_pack_retirements

API_VERSION = "2025-06-01"  # the shape settings/model_catalog.py reads; the SDK's own default may be newer
ACCOUNT_KINDS = ("OpenAI",)  # the Models API lists each model once per account kind; an OpenAI account's view


class RefreshError(Exception):
    """The refresh could not run (no SDK, no credentials, Azure refused); the message says what to do."""


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh wrote."""

    models_file: Path
    quota_file: Path
    models: int
    usages: int


def make_client(subscription_id: str, credential: Any = None, **client_options: Any) -> Any:
    """A CognitiveServicesManagementClient pinned to API_VERSION. `credential` defaults to DefaultAzureCredential;
    `client_options` reach the SDK (tests pass a `transport` that answers with recorded responses)."""
    try:
        from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
    except ImportError as error:  # pragma: no cover - the pinned requirements install it
        raise RefreshError("the Azure SDK is not installed: run `make setup`") from error
    if credential is None:
        try:
            from azure.identity import DefaultAzureCredential
        except ImportError as error:  # pragma: no cover
            raise RefreshError("azure-identity is not installed: run `make setup`") from error
        credential = DefaultAzureCredential()
    return CognitiveServicesManagementClient(credential, subscription_id, api_version=API_VERSION, **client_options)


def _serialize(items: Iterable[Any]) -> list[dict[str, Any]]:
    # keep_readonly: lifecycle, deprecation and capacity are read-only in the API's schema but are the point here.
    return [item.serialize(keep_readonly=True) for item in items]


def models_document(models: list[dict[str, Any]], location: str, subscription_id: str,
                    today: dt.date) -> dict[str, Any]:
    """The snapshot file: the API's `value`, OpenAI models of an OpenAI account only, sorted for stable diffs."""
    kept = [m for m in models if m.get("kind") in ACCOUNT_KINDS]
    kept.sort(key=lambda m: (str(m.get("model", {}).get("name")), str(m.get("model", {}).get("version"))))
    return {
        "x-retrieved": today.isoformat(),
        "x-source": {
            "summary": f"ARM Models API, subscription {_mask(subscription_id)}",
            "availability": f"ARM Models API GET /subscriptions/{{id}}/providers/Microsoft.CognitiveServices/"
                            f"locations/{location}/models?api-version={API_VERSION} (python -m offline catalog "
                            f"refresh, subscription {_mask(subscription_id)})",
        },
        "value": kept,
    }


def usages_document(usages: list[dict[str, Any]], location: str, subscription_id: str,
                    today: dt.date) -> dict[str, Any]:
    """The quota file: the API's `value` (usage name, limit, current value), sorted by usage name."""
    usages = sorted(usages, key=lambda u: str(u.get("name", {}).get("value")))
    return {
        "x-retrieved": today.isoformat(),
        "x-source": {
            "quota": f"ARM Usages API GET /subscriptions/{{id}}/providers/Microsoft.CognitiveServices/locations/"
                     f"{location}/usages?api-version={API_VERSION} (subscription {_mask(subscription_id)})",
        },
        "value": usages,
    }


def _mask(subscription_id: str) -> str:
    """Enough of the id to tell subscriptions apart in review, not the whole id in a public repository."""
    return f"{subscription_id[:8]}…" if len(subscription_id) > 8 else subscription_id


def _write(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")


def refresh(client: Any, location: str, subscription_id: str, subscription: str, data_dir: Path = DATA_DIR,
            today: dt.date | None = None, pack_file: Path | None = None) -> RefreshResult:
    """Ask Azure what `location` offers and what quota `subscription` has there; rewrite both snapshot files and
    the pack's retirement table. A response the catalogue reader refuses is not written."""
    today = today or dt.date.today()
    try:
        models = _serialize(client.models.list(location))
        usages = _serialize(client.usages.list(location))
    except Exception as error:  # the SDK raises HttpResponseError, ClientAuthenticationError, ...
        raise RefreshError(f"Azure did not answer for {location}: {error}") from error
    models_file = data_dir / "models" / f"{location}.json"
    quota_file = data_dir / "quota" / subscription / f"{location}.json"
    candidate = models_file.with_suffix(".json.new")
    _write(candidate, models_document(models, location, subscription_id, today))
    try:
        read_region(candidate)  # refuse to replace a good snapshot with one the settings could not read
    except CatalogError as error:
        candidate.unlink()
        raise RefreshError(f"Azure's answer for {location} could not be read, so {models_file} was left as it "
                           f"was: {error}") from error
    candidate.replace(models_file)
    _write(quota_file, usages_document(usages, location, subscription_id, today))
    load_catalog.cache_clear()
    write_pack_retirements(load_catalog(data_dir), pack_file)
    return RefreshResult(models_file, quota_file, len(models), len(usages))
