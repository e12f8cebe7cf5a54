"""The model catalogue decides what a stack may deploy: versions, SKUs, capacity and retirement, per region.

These tests run the settings against a small catalogue written for the test, so each rule is seen to pass and to fail
without depending on what Microsoft offers this month; tests/test_settings.py runs the real snapshot.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from settings import SettingsError, parse_settings
from settings.model_catalog import CatalogError, load_catalog, read_region
from tests.support import stack_values

TODAY = dt.date(2026, 11, 30)


def model(name: str, version: str, skus: dict[str, dict[str, int]], retirement: str | None = None,
          default: bool = False, usage: str = "") -> dict[str, Any]:
    entry: dict[str, Any] = {
        "format": "OpenAI", "name": name, "version": version, "lifecycleStatus": "GenerallyAvailable",
        "isDefaultVersion": default,
        "skus": [{"name": sku, "usageName": usage or f"OpenAI.{sku}.{name}", "capacity": bounds}
                 for sku, bounds in skus.items()],
    }
    if retirement:
        entry["deprecation"] = {"inference": f"{retirement}T00:00:00Z"}
    return {"kind": "OpenAI", "skuName": "S0", "model": entry}


STANDARD = {"minimum": 1, "maximum": 300, "step": 1, "default": 10}
PTU = {"minimum": 50, "maximum": 1000, "step": 50, "default": 50}


def write_catalog(root: Path, regions: dict[str, list[dict[str, Any]]],
                  lifecycle: list[dict[str, str]] | None = None) -> Path:
    (root / "models").mkdir(parents=True)
    for region, models in regions.items():
        (root / "models" / f"{region}.json").write_text(json.dumps(
            {"x-retrieved": "2026-11-30", "x-source": {"availability": "test"}, "value": models}))
    (root / "model-lifecycle.json").write_text(json.dumps({"models": lifecycle or []}))
    return root


@pytest.fixture
def catalog(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = write_catalog(tmp_path, {
        "swedencentral": [
            model("gpt-4.1", "2025-04-14", {"Standard": STANDARD, "ProvisionedManaged": PTU}, "2027-04-14", True),
            model("gpt-4o", "2024-11-20", {"Standard": STANDARD}, "2026-10-01"),
            model("gpt-4o", "2024-08-06", {"Standard": STANDARD}, "2027-01-20", True),
            model("text-embedding-3-large", "1", {"Standard": STANDARD}, None, True),
        ],
        "francecentral": [
            model("gpt-4.1", "2025-04-14", {"Standard": STANDARD}, "2027-04-14", True),
            model("text-embedding-3-large", "1", {"Standard": STANDARD}, None, True),
        ],
    }, lifecycle=[{"model": "dall-e-3", "version": "3.0", "retirement": "2026-03-04", "replacement": "gpt-image-1",
                   "source": "test retirement page"}])
    load_catalog.cache_clear()
    yield load_catalog(root)
    load_catalog.cache_clear()


def raw_with(*deployments: dict[str, Any], regions: int = 2) -> dict[str, Any]:
    raw = stack_values("prod")
    raw["regions"] = raw["regions"][:regions]
    raw["residency"]["allowedRegions"] = [r["location"] for r in raw["regions"]]
    raw["deployments"] = list(deployments)
    return raw


def problems(raw: dict[str, Any], catalog: Any) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parse_settings(raw, "prod", today=TODAY, catalog_=catalog)
    return caught.value.problems


def test_a_deployment_offered_in_every_region_passes(catalog: Any) -> None:
    s = parse_settings(raw_with({"model": "gpt-4.1", "version": "2025-04-14", "capacity": 10}), "prod", today=TODAY,
                       catalog_=catalog)
    assert [(d.model, d.version, d.sku, d.regions) for d in s.deployments] == [
        ("gpt-4.1", "2025-04-14", "Standard", ("swedencentral", "francecentral"))]
    assert s.warnings == ()


def test_a_retired_version_names_its_date_and_what_azure_offers_instead(catalog: Any) -> None:
    found = problems(raw_with({"model": "gpt-4o", "version": "2024-11-20", "capacity": 10, "regions":
                               ["swedencentral"]}), catalog)
    assert found == ["deployments[0].version: '2024-11-20' of gpt-4o was retired on 2026-10-01 (allowed: a version "
                     "Azure still serves: Azure offers gpt-4o 2024-08-06 instead in swedencentral (model catalogue of "
                     "swedencentral read 2026-11-30))"]


def test_a_model_missing_in_one_region_is_refused_there(catalog: Any) -> None:
    found = problems(raw_with({"model": "gpt-4o", "version": "2024-08-06", "capacity": 10}), catalog)
    assert len(found) == 1
    assert found[0].startswith("deployments[0].model: 'gpt-4o' is not offered (allowed: a model Azure offers in "
                               "francecentral (model catalogue of francecentral read 2026-11-30)")


def test_limiting_a_deployment_to_regions_that_offer_it_passes(catalog: Any) -> None:
    s = parse_settings(raw_with({"model": "gpt-4o", "version": "2024-08-06", "capacity": 10,
                                 "regions": ["swedencentral"]}), "prod", today=TODAY, catalog_=catalog)
    assert s.deployments[0].regions == ("swedencentral",)
    assert s.deployments_in("francecentral") == ()


def test_a_version_retiring_within_the_window_is_a_warning_not_an_error(catalog: Any) -> None:
    s = parse_settings(raw_with({"model": "gpt-4o", "version": "2024-08-06", "capacity": 10,
                                 "regions": ["swedencentral"]}), "prod", today=TODAY, catalog_=catalog)
    assert s.warnings == ("deployments[0].version: gpt-4o 2024-08-06 retires on 2027-01-20 in swedencentral "
                          "(51 days): Azure offers no other version of gpt-4o in swedencentral",)
    raw = raw_with({"model": "gpt-4o", "version": "2024-08-06", "capacity": 10, "regions": ["swedencentral"]})
    raw["modelLifecycle"] = {"warningDays": 30}
    assert parse_settings(raw, "prod", today=TODAY, catalog_=catalog).warnings == ()


def test_a_sku_the_region_lacks_for_the_version_is_refused(catalog: Any) -> None:
    found = problems(raw_with({"model": "gpt-4.1", "version": "2025-04-14", "sku": "ProvisionedManaged",
                               "capacity": 100}), catalog)
    assert found == ["deployments[0].sku: 'ProvisionedManaged' is not offered (allowed: one of Standard for gpt-4.1 "
                     "2025-04-14 in francecentral (model catalogue of francecentral read 2026-11-30))"]


@pytest.mark.parametrize(("capacity", "why"), [
    (25, "is below the minimum of 50"), (1050, "is above the maximum of 1000"), (75, "is not a multiple of the step 50"),
])
def test_capacity_must_fit_the_sku_bounds(catalog: Any, capacity: int, why: str) -> None:
    found = problems(raw_with({"model": "gpt-4.1", "version": "2025-04-14", "sku": "ProvisionedManaged",
                               "capacity": capacity, "regions": ["swedencentral"]}), catalog)
    assert found == [f"deployments[0].capacity: {capacity} {why} (allowed: from 50 to 1000 in steps of 50 PTUs for "
                     f"gpt-4.1 2025-04-14 on ProvisionedManaged in swedencentral (model catalogue of swedencentral "
                     f"read 2026-11-30))"]


def test_a_model_retired_everywhere_names_microsofts_successor(catalog: Any) -> None:
    found = problems(raw_with({"model": "dall-e-3", "version": "3.0", "capacity": 1, "regions": ["swedencentral"]}),
                     catalog)
    assert found == ["deployments[0].model: 'dall-e-3' is not offered (allowed: a model Azure offers in swedencentral "
                     "(model catalogue of swedencentral read 2026-11-30); Microsoft names gpt-image-1 as its "
                     "successor)"]


def test_an_unpinned_version_takes_the_regions_current_default(catalog: Any) -> None:
    s = parse_settings(raw_with({"model": "gpt-4o", "capacity": 10, "regions": ["swedencentral"]}), "prod",
                       today=TODAY, catalog_=catalog)
    assert s.deployments[0].version == "2024-08-06"


def test_data_zone_skus_need_a_region_of_that_data_zone(catalog: Any) -> None:
    raw = raw_with({"model": "gpt-4.1", "version": "2025-04-14", "sku": "DataZoneStandard", "capacity": 10,
                    "regions": ["swedencentral"]})
    raw["residency"]["mode"] = "dataZone"
    found = problems(raw, catalog)
    # swedencentral is in the EU data zone, so the SKU is allowed by residency, and refused only because the test
    # catalogue does not offer it there: the data decides.
    assert found == ["deployments[0].sku: 'DataZoneStandard' is not offered (allowed: one of ProvisionedManaged, "
                     "Standard for gpt-4.1 2025-04-14 in swedencentral (model catalogue of swedencentral read "
                     "2026-11-30))"]


def test_a_provisioned_deployment_spills_over_to_a_standard_one_first_in_creation_order(catalog: Any) -> None:
    s = parse_settings(raw_with(
        {"name": "chat", "model": "gpt-4.1", "version": "2025-04-14", "sku": "ProvisionedManaged", "capacity": 100,
         "regions": ["swedencentral"], "spilloverTo": "chat-paygo"},
        {"name": "chat-paygo", "model": "gpt-4.1", "version": "2025-04-14", "capacity": 50}), "prod", today=TODAY,
        catalog_=catalog)
    from components.openai import creation_order

    assert s.deployments[0].spillover == "chat-paygo"
    assert [d.name for d in creation_order(s.deployments)] == ["chat-paygo", "chat"]


@pytest.mark.parametrize(("extra", "target", "text"), [
    ({"spilloverTo": "chat-paygo"}, {}, "has no effect"),
    ({"sku": "ProvisionedManaged", "capacity": 100, "spilloverTo": "nope"}, {}, "is not a deployment of this stack"),
    ({"sku": "ProvisionedManaged", "capacity": 100, "spilloverTo": "chat-paygo"},
     {"sku": "ProvisionedManaged", "capacity": 100}, "is on ProvisionedManaged"),
    ({"sku": "ProvisionedManaged", "capacity": 100, "spilloverTo": "chat-paygo"},
     {"model": "text-embedding-3-large", "version": "1"}, "serves text-embedding-3-large 1"),
])
def test_spillover_targets_are_checked(catalog: Any, extra: dict[str, Any], target: dict[str, Any],
                                       text: str) -> None:
    found = problems(raw_with(
        {"name": "chat", "model": "gpt-4.1", "version": "2025-04-14", "capacity": 10, "regions": ["swedencentral"],
         **extra},
        {"name": "chat-paygo", "model": "gpt-4.1", "version": "2025-04-14", "capacity": 50,
         "regions": ["swedencentral"], **target}), catalog)
    assert any(p.startswith("deployments[0].spilloverTo:") and text in p for p in found), found


def test_spillover_target_must_serve_the_same_model_version(catalog: Any) -> None:
    found = problems(raw_with(
        {"name": "chat", "model": "gpt-4o", "version": "2024-08-06", "sku": "Standard", "capacity": 10,
         "regions": ["swedencentral"]},
        {"name": "chat-ptu", "model": "gpt-4.1", "version": "2025-04-14", "sku": "ProvisionedManaged",
         "capacity": 100, "regions": ["swedencentral"], "spilloverTo": "chat"}), catalog)
    assert "deployments[1].spilloverTo: 'chat' serves gpt-4o 2024-08-06 (allowed: a deployment of gpt-4.1 2025-04-14)" \
        in found


def test_spillover_target_must_exist_in_every_region_of_the_provisioned_deployment(tmp_path: Path) -> None:
    root = write_catalog(tmp_path, {
        "swedencentral": [model("gpt-4.1", "2025-04-14", {"Standard": STANDARD, "ProvisionedManaged": PTU})],
        "francecentral": [model("gpt-4.1", "2025-04-14", {"Standard": STANDARD, "ProvisionedManaged": PTU})]})
    catalog = load_catalog(root)
    found = problems(raw_with(
        {"name": "chat", "model": "gpt-4.1", "version": "2025-04-14", "sku": "ProvisionedManaged", "capacity": 100,
         "spilloverTo": "chat-paygo"},
        {"name": "chat-paygo", "model": "gpt-4.1", "version": "2025-04-14", "capacity": 50,
         "regions": ["swedencentral"]}), catalog)
    assert found == ["deployments[0].spilloverTo: 'chat-paygo' is missing in francecentral (allowed: a deployment "
                     "present in swedencentral, francecentral)"]


def test_a_region_without_a_catalogue_file_says_how_to_create_it(tmp_path: Path) -> None:
    catalog = load_catalog(write_catalog(tmp_path, {"swedencentral": [
        model("gpt-4.1", "2025-04-14", {"Standard": STANDARD})]}))
    found = problems(raw_with({"model": "gpt-4.1", "version": "2025-04-14", "capacity": 10}), catalog)
    assert found == ["deployments[0].regions: 'francecentral' has no model catalogue (allowed: a region with a model "
                     "catalogue file (settings/data/models/francecentral.json): create it with `python -m offline "
                     "catalog refresh --location francecentral`)"]


@pytest.mark.parametrize(("document", "text"), [
    ("{not json", "not readable JSON"),
    (json.dumps({"value": []}), "x-source: expected an object, found nothing"),
    (json.dumps({"x-source": {}, "x-retrieved": "yesterday", "value": []}), "'yesterday' is not a date"),
    (json.dumps({"x-source": {}, "value": []}), "x-retrieved: the date the data was read (YYYY-MM-DD) is required"),
    (json.dumps({"x-source": {}, "x-retrieved": "2026-11-30", "value": {}}), "value: expected a list, found an object"),
    (json.dumps({"x-source": {}, "x-retrieved": "2026-11-30", "value": [{"model": {"name": "gpt-4.1"}}]}),
     "value[0].model.version: expected a non-empty string, found nothing"),
    (json.dumps({"x-source": {}, "x-retrieved": "2026-11-30",
                 "value": [model("m", "1", {"Standard": {"minimum": "1"}})]}),
     "value[0].model.skus[0].capacity.minimum: expected a whole number, found '1'"),
])
def test_a_malformed_catalogue_file_names_the_path_and_how_to_regenerate_it(tmp_path: Path, document: str,
                                                                            text: str) -> None:
    path = tmp_path / "westeurope.json"
    path.write_text(document)
    with pytest.raises(CatalogError) as caught:
        read_region(path)
    assert text in str(caught.value)
    assert str(path) in str(caught.value)
    assert "python -m offline catalog refresh --location westeurope" in str(caught.value)


def test_a_missing_catalogue_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="the model catalogue folder is missing"):
        load_catalog(tmp_path)
