"""What Azure offers, per region: the model catalogue snapshot, read in the shape Azure's Models API answers.

`settings/data/models/<region>.json` holds, per region, the body of
`GET /subscriptions/{id}/providers/Microsoft.CognitiveServices/locations/{region}/models?api-version=2025-06-01`
(a `value` list of `{kind, skuName, model: {format, name, version, lifecycleStatus, isDefaultVersion, deprecation,
skus: [{name, usageName, deprecationDate, capacity: {minimum, maximum, step, default}}]}}`), plus `x-source`: where
each part came from and when. `python -m offline catalog refresh --location <region>` rewrites a file from the API;
the committed snapshot was built from Microsoft's documentation where no API answer was at hand (its `x-source`
says which). `settings/data/model-lifecycle.json` holds what the API does not: the successor Microsoft names for a
retired model (the model-retirements page).

The settings check every deployment against this data, so the stack files ask only for what Azure would accept.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import RunError

DATA_DIR = Path(__file__).resolve().parent / "data"
MODELS_DIR = DATA_DIR / "models"
LIFECYCLE_FILE = DATA_DIR / "model-lifecycle.json"
REFRESH_HINT = "regenerate it with `python -m offline catalog refresh --location {region}` (or restore it with git)"


class CatalogError(RunError):
    """A catalogue file is missing or malformed; the message names the file, the path inside it and the fix (a
    RunError, so `pulumi preview` prints it without a stack trace)."""


@dataclass(frozen=True)
class Capacity:
    """Deployment capacity bounds for one SKU (Standard: units of 1,000 tokens per minute; provisioned: PTUs)."""

    minimum: int | None = None
    maximum: int | None = None
    step: int | None = None
    default: int | None = None

    def problem(self, capacity: int) -> str | None:
        """Why `capacity` is not allowed, or None."""
        if self.minimum is not None and capacity < self.minimum:
            return f"below the minimum of {self.minimum}"
        if self.maximum is not None and capacity > self.maximum:
            return f"above the maximum of {self.maximum}"
        if self.step and capacity % self.step:
            return f"not a multiple of the step {self.step}"
        return None

    def describe(self) -> str:
        """'from 50 to 1000 in steps of 50', for messages."""
        parts = []
        if self.minimum is not None:
            parts.append(f"from {self.minimum}")
        if self.maximum is not None:
            parts.append(f"to {self.maximum}")
        if self.step:
            parts.append(f"in steps of {self.step}")
        return " ".join(parts) or "any whole number"


@dataclass(frozen=True)
class SkuOffer:
    """One deployment SKU Azure offers for a model version in a region."""

    name: str
    usage_name: str
    capacity: Capacity
    deprecation: dt.date | None = None


@dataclass(frozen=True)
class ModelOffer:
    """A model version as a region offers it: lifecycle, default flag, retirement date and its SKUs."""

    name: str
    version: str
    format: str
    lifecycle_status: str
    is_default: bool
    retirement: dt.date | None
    skus: Mapping[str, SkuOffer]

    def retired(self, today: dt.date) -> bool:
        """True from the day inference stops (the API's deprecation.inference date), or once the API calls it
        Deprecated, which is the API's word for retired (Microsoft Learn "model-retirements", 2026-10-05)."""
        return self.lifecycle_status == "Deprecated" or (self.retirement is not None and self.retirement <= today)

    @property
    def existing_customers_only(self) -> bool:
        """The API's Deprecating: only subscriptions that already deployed it may create new deployments."""
        return self.lifecycle_status == "Deprecating"


@dataclass(frozen=True)
class RegionCatalog:
    """Everything one region offers, with where the data came from and when."""

    location: str
    source: str
    retrieved: dt.date
    offers: Mapping[tuple[str, str], ModelOffer]
    path: Path

    def versions(self, model: str) -> list[ModelOffer]:
        """The versions of `model` offered here, newest first."""
        return sorted((o for (name, _), o in self.offers.items() if name == model), key=lambda o: o.version,
                      reverse=True)

    def current(self, model: str, today: dt.date) -> ModelOffer | None:
        """The version Azure would give a new deployment of `model` here: its default one unless retired, else the
        newest that is not retired."""
        live = [o for o in self.versions(model) if not o.retired(today)]
        return next((o for o in live if o.is_default), live[0] if live else None)

    def models(self) -> list[str]:
        return sorted({name for name, _ in self.offers})


@dataclass(frozen=True)
class Successor:
    """A model version's retirement as Microsoft's schedule gives it, and the replacement it names ("" for none)."""

    model: str
    version: str
    retirement: dt.date | None
    replacement: str
    source: str


@dataclass(frozen=True)
class ModelCatalog:
    """The snapshot for every region that has a file, and the lifecycle table."""

    regions: Mapping[str, RegionCatalog]
    lifecycle: Mapping[tuple[str, str], Successor] = field(default_factory=dict)

    def region(self, location: str) -> RegionCatalog | None:
        return self.regions.get(location)

    def schedule(self, model: str, version: str) -> Successor | None:
        """The retirement schedule's row for a model version, if it has one."""
        return self.lifecycle.get((model, version))

    def successor(self, model: str, version: str) -> Successor | None:
        """Microsoft's named replacement for a model version, when it names one."""
        entry = self.schedule(model, version)
        return entry if entry is not None and entry.replacement else None


# --- reading -------------------------------------------------------------------------------------------------------

class _Reader:
    """Walks one JSON document, raising CatalogError with the file and the JSON path of the first bad value."""

    def __init__(self, path: Path, hint: str):
        self.path, self.hint = path, hint

    def fail(self, where: str, what: str) -> CatalogError:
        return CatalogError(f"{self.path}: {where}: {what}; {self.hint}")

    def obj(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, f"expected an object, found {_kind(value)}")
        return value

    def array(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list, found {_kind(value)}")
        return value

    def text(self, value: Any, where: str, optional: bool = False) -> str:
        if value in (None, "") and optional:
            return ""
        if not isinstance(value, str) or not value:
            raise self.fail(where, f"expected a non-empty string, found {_kind(value)}")
        return value

    def whole(self, value: Any, where: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            raise self.fail(where, f"expected a whole number, found {_kind(value)}")
        return int(value)

    def date(self, value: Any, where: str) -> dt.date | None:
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            raise self.fail(where, f"expected a date, found {_kind(value)}")
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            raise self.fail(where, f"{value!r} is not a date (YYYY-MM-DD or an ISO 8601 timestamp)") from None


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "true/false", int: "a number", float: "a number", str: f"{value!r}", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _load_json(path: Path, hint: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CatalogError(f"{path}: the file is missing; {hint}") from None
    except (OSError, ValueError) as error:
        raise CatalogError(f"{path}: not readable JSON ({error}); {hint}") from None


def read_region(path: Path) -> RegionCatalog:
    """One region's snapshot file, validated whole."""
    location = path.stem
    r = _Reader(path, REFRESH_HINT.format(region=location))
    document = r.obj(_load_json(path, r.hint), "(root)")
    source = r.obj(document.get("x-source"), "x-source")
    retrieved = r.date(document.get("x-retrieved"), "x-retrieved")
    if retrieved is None:
        raise r.fail("x-retrieved", "the date the data was read (YYYY-MM-DD) is required")
    offers: dict[tuple[str, str], ModelOffer] = {}
    for i, entry in enumerate(r.array(document.get("value"), "value")):
        where = f"value[{i}].model"
        model = r.obj(r.obj(entry, f"value[{i}]").get("model"), where)
        name = r.text(model.get("name"), f"{where}.name")
        version = r.text(model.get("version"), f"{where}.version")
        skus: dict[str, SkuOffer] = {}
        for j, sku in enumerate(r.array(model.get("skus", []), f"{where}.skus")):
            at = f"{where}.skus[{j}]"
            sku = r.obj(sku, at)
            bounds = r.obj(sku.get("capacity", {}), f"{at}.capacity")
            sku_name = r.text(sku.get("name"), f"{at}.name")
            skus[sku_name] = SkuOffer(
                sku_name, r.text(sku.get("usageName"), f"{at}.usageName", optional=True),
                Capacity(*(r.whole(bounds.get(k), f"{at}.capacity.{k}") for k in ("minimum", "maximum", "step",
                                                                                  "default"))),
                r.date(sku.get("deprecationDate"), f"{at}.deprecationDate"))
        deprecation = r.obj(model.get("deprecation", {}), f"{where}.deprecation")
        if (name, version) in offers:
            raise r.fail(where, f"{name} {version} is listed twice")
        offers[(name, version)] = ModelOffer(
            name, version, r.text(model.get("format"), f"{where}.format"),
            r.text(model.get("lifecycleStatus"), f"{where}.lifecycleStatus", optional=True),
            model.get("isDefaultVersion") is True,
            r.date(deprecation.get("inference"), f"{where}.deprecation.inference"), skus)
    what = str(source.get("summary") or ", ".join(sorted(source)))
    return RegionCatalog(location, what, retrieved, offers, path)


def read_lifecycle(path: Path) -> dict[tuple[str, str], Successor]:
    """The successor table: {"models": [{model, version, retirement, replacement, source}]}."""
    r = _Reader(path, "restore it with git; it is maintained by hand from Microsoft's model-retirements page")
    document = r.obj(_load_json(path, r.hint), "(root)")
    table: dict[tuple[str, str], Successor] = {}
    for i, entry in enumerate(r.array(document.get("models"), "models")):
        where = f"models[{i}]"
        entry = r.obj(entry, where)
        item = Successor(r.text(entry.get("model"), f"{where}.model"), r.text(entry.get("version"), f"{where}.version"),
                         r.date(entry.get("retirement"), f"{where}.retirement"),
                         r.text(entry.get("replacement"), f"{where}.replacement", optional=True),
                         r.text(entry.get("source"), f"{where}.source"))
        table[(item.model, item.version)] = item
    return table


@functools.cache
def load_catalog(data_dir: Path = DATA_DIR) -> ModelCatalog:
    """Every region file under `data_dir/models` and the lifecycle table (read once per process)."""
    models = data_dir / "models"
    if not models.is_dir():
        raise CatalogError(f"{models}: the model catalogue folder is missing; restore it with git, or create it with "
                           f"`python -m offline catalog refresh --location <region>`")
    regions = {path.stem: read_region(path) for path in sorted(models.glob("*.json"))}
    return ModelCatalog(regions, read_lifecycle(data_dir / "model-lifecycle.json"))
