"""The catalogue refresh, run through the real Azure SDK against recorded answers in the API's own shape.

No network: an azure-core transport answers each request the SDK makes from tests/fixtures/azure, so the SDK's
paging, deserialization and our serialization back to the API's shape all run for real.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.transport import HttpResponse, HttpTransport

from offline.catalog_refresh import API_VERSION, RefreshError, make_client, refresh
from offline.cli import main
from settings.model_catalog import load_catalog, read_region

RECORDING = json.loads((Path(__file__).parent / "fixtures" / "azure" / "swedencentral.2025-06-01.json").read_text())
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"


class _Answer(HttpResponse):
    def __init__(self, request: Any, status: int, body: Any):
        super().__init__(request, None)
        self.status_code, self.reason = status, "OK" if status == 200 else "Error"
        self.headers = {"Content-Type": "application/json"}
        self.content_type = "application/json"
        self._body = json.dumps(body).encode()

    def body(self) -> bytes:
        return self._body


class RecordedAzure(HttpTransport):
    """Answers ARM requests from the recording and remembers every URL asked for."""

    def __init__(self, status: int = 200):
        self.urls: list[str] = []
        self.status = status

    def __enter__(self) -> RecordedAzure:
        return self

    def __exit__(self, *args: object) -> None:
        pass

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, request: Any, **kwargs: Any) -> HttpResponse:
        url = request.url
        self.urls.append(url)
        if self.status != 200:
            return _Answer(request, self.status, {"error": {"code": "AuthorizationFailed", "message": "denied"}})
        if "/usages" in url:
            return _Answer(request, 200, RECORDING["usages"])
        page = 1 if "skipToken=page2" in url else 0
        return _Answer(request, 200, RECORDING["models"][page])


class Credential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("token", int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo("token", int(time.time()) + 3600)


def client(transport: RecordedAzure) -> Any:
    return make_client(SUBSCRIPTION, Credential(), transport=transport)


def test_refresh_writes_the_models_apis_answer_in_its_own_shape(tmp_path: Path) -> None:
    transport = RecordedAzure()
    pack_file = tmp_path / "pack" / "model-retirements.json"
    (tmp_path / "model-lifecycle.json").write_text(json.dumps({"models": []}))
    result = refresh(client(transport), "swedencentral", SUBSCRIPTION, "prod", data_dir=tmp_path,
                     today=dt.date(2026, 11, 30), pack_file=pack_file)
    assert transport.urls[0] == (f"https://management.azure.com/subscriptions/{SUBSCRIPTION}/providers/"
                                 f"Microsoft.CognitiveServices/locations/swedencentral/models?api-version={API_VERSION}")
    assert any("skipToken=page2" in url for url in transport.urls), "the SDK followed nextLink"
    written = json.loads(result.models_file.read_text())
    assert written["x-retrieved"] == "2026-11-30"
    assert "11111111…" in written["x-source"]["availability"] and SUBSCRIPTION not in json.dumps(written)
    # OpenAI-kind entries only, from both pages, sorted; the API's field names and values kept.
    assert [(m["kind"], m["model"]["name"]) for m in written["value"]] == [
        ("OpenAI", "gpt-4.1"), ("OpenAI", "o4-mini"), ("OpenAI", "text-embedding-3-large")]
    gpt41 = written["value"][0]["model"]
    assert gpt41["lifecycleStatus"] == "GenerallyAvailable" and gpt41["deprecation"]["inference"].startswith(
        "2027-04-14")
    assert gpt41["skus"][1] == {"name": "DataZoneProvisionedManaged", "usageName": "OpenAI.DataZoneProvisionedManaged",
                                "deprecationDate": "2027-04-14T00:00:00.000Z",
                                "capacity": {"minimum": 15, "maximum": 100000, "step": 5}}
    region = read_region(result.models_file)
    assert region.offers[("gpt-4.1", "2025-04-14")].skus["DataZoneProvisionedManaged"].capacity.step == 5
    assert region.offers[("o4-mini", "2025-04-16")].retired(dt.date(2026, 11, 30))
    assert result.models == 4 and result.usages == 3


def test_refresh_writes_the_quota_and_the_packs_retirement_copy(tmp_path: Path) -> None:
    (tmp_path / "model-lifecycle.json").write_text(json.dumps({"models": []}))
    pack_file = tmp_path / "pack" / "model-retirements.json"
    result = refresh(client(RecordedAzure()), "swedencentral", SUBSCRIPTION, "prod", data_dir=tmp_path,
                     today=dt.date(2026, 11, 30), pack_file=pack_file)
    assert result.quota_file == tmp_path / "quota" / "prod" / "swedencentral.json"
    quota = json.loads(result.quota_file.read_text())
    assert [u["name"]["value"] for u in quota["value"]] == [
        "AccountCount", "OpenAI.DataZoneProvisionedManaged", "OpenAI.Standard.gpt4.1"]
    assert quota["value"][2]["limit"] == 300 and quota["value"][2]["currentValue"] == 40
    retirements = json.loads(pack_file.read_text())["retirements"]
    assert retirements["o4-mini"] == {"2025-04-16": "2026-10-16"}
    assert retirements["gpt-4.1"] == {"2025-04-14": "2027-04-14"}
    load_catalog.cache_clear()


def test_a_refusal_from_azure_is_a_refresh_error_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(RefreshError, match="Azure did not answer for swedencentral"):
        refresh(client(RecordedAzure(status=403)), "swedencentral", SUBSCRIPTION, "prod", data_dir=tmp_path)
    assert not (tmp_path / "models").exists()


def test_an_answer_the_catalogue_cannot_read_does_not_replace_the_snapshot(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    good = models / "swedencentral.json"
    good.write_text('{"x-retrieved": "2026-11-01", "x-source": {}, "value": []}')

    class Broken(RecordedAzure):
        def send(self, request: Any, **kwargs: Any) -> HttpResponse:
            if "/models" in request.url:
                return _Answer(request, 200, {"value": [{"kind": "OpenAI", "model": {"name": "gpt-4.1"}}]})
            return super().send(request, **kwargs)

    with pytest.raises(RefreshError, match=r"could not be read, so .* was left as it was: .*value\[0\].model.version"):
        refresh(client(Broken()), "swedencentral", SUBSCRIPTION, "prod", data_dir=tmp_path)
    assert good.read_text() == '{"x-retrieved": "2026-11-01", "x-source": {}, "value": []}'
    assert list(models.iterdir()) == [good]


def test_the_command_without_credentials_fails_with_exit_2_and_says_why(monkeypatch: pytest.MonkeyPatch,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    def no_credentials(*args: Any, **kwargs: Any) -> Any:
        raise RefreshError("no Azure credentials: run `az login` (DefaultAzureCredential found none)")

    monkeypatch.setattr("offline.catalog_refresh.make_client", no_credentials)
    code = main(["catalog", "refresh", "--location", "swedencentral", "--subscription-id", SUBSCRIPTION])
    assert code == 2
    err = capsys.readouterr().err
    assert "the catalogue could not be refreshed" in err and "az login" in err and "Traceback" not in err
