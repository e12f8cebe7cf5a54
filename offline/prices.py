"""The PTU price table (settings/data/prices.json): what provisioned capacity costs a month, as the platform team
records it from its agreement with Microsoft. Nothing here is a default price: a SKU and region without an entry is
reported as "no price configured", never guessed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from .loader import LoadError, Problem, load_json

PRICES_FILE = Path(__file__).resolve().parent.parent / "settings" / "data" / "prices.json"
DISPLAY = "settings/data/prices.json"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["currency", "prices"],
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "prices": {"type": "array", "items": {
            "type": "object",
            "required": ["sku", "region", "monthlyPerPtu", "source", "read"],
            "additionalProperties": False,
            "properties": {
                "sku": {"enum": ["ProvisionedManaged", "DataZoneProvisionedManaged", "GlobalProvisionedManaged"]},
                "region": {"type": "string", "minLength": 1},
                "monthlyPerPtu": {"type": "number", "exclusiveMinimum": 0},
                "source": {"type": "string", "minLength": 10},
                "read": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
            },
        }},
    },
}


@dataclass(frozen=True)
class Price:
    """One PTU price with its provenance."""

    sku: str
    region: str
    monthly_per_ptu: float
    source: str
    read: str


@dataclass(frozen=True)
class PriceTable:
    """Every configured price; `lookup` prefers a region's own entry to a "*" one."""

    currency: str
    prices: tuple[Price, ...]
    file: str = DISPLAY

    def lookup(self, sku: str, region: str) -> Price | None:
        exact = [p for p in self.prices if p.sku == sku and p.region == region]
        anywhere = [p for p in self.prices if p.sku == sku and p.region == "*"]
        found = exact or anywhere
        return found[0] if found else None

    def missing(self, sku: str, region: str) -> str:
        """The sentence a diff or report shows for a SKU and region without a price."""
        return f"no price configured for {sku} in {region}: add it to {self.file}"


def load_prices(path: Path = PRICES_FILE, display: str = DISPLAY) -> PriceTable:
    """Read and validate the price table; every problem names the file, the line and the key."""
    document = load_json(path, display)
    problems = [document.problem(error.message, *error.absolute_path)
                for error in Draft7Validator(SCHEMA).iter_errors(document.value)]
    if problems:
        raise LoadError(problems)
    raw = document.value
    prices = tuple(Price(p["sku"], p["region"], float(p["monthlyPerPtu"]), p["source"], p["read"])
                   for p in raw["prices"])
    seen: set[tuple[str, str]] = set()
    for index, price in enumerate(prices):
        if (price.sku, price.region) in seen:
            raise LoadError([Problem(display, f"{price.sku} in {price.region} is priced twice", f"prices[{index}]",
                                     document.position("prices", index))])
        seen.add((price.sku, price.region))
    return PriceTable(raw["currency"], prices, display)
