"""The offline engine's shortcut (alias URNs left to the engine) changes nothing the monitor receives."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from offline.engine import AzureMocks, RecordingMonitor, run_program


class Requests(RecordingMonitor):
    """Keeps every RegisterResource request whole, minus what names the caller's source line."""

    def __init__(self) -> None:
        super().__init__(AzureMocks())
        self.requests: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        body = json_format.MessageToDict(request)
        body.pop("sourcePosition", None)
        body.pop("stackTrace", None)
        for key in ("dependencies",):
            body[key] = sorted(body.get(key, []))
        body["propertyDependencies"] = {k: sorted(v.get("urns", []))
                                        for k, v in body.get("propertyDependencies", {}).items()}
        self.requests[response.urn] = body
        return response


def test_the_registrations_are_the_same_with_and_without_eager_alias_urns() -> None:
    eager, lazy = Requests(), Requests()
    run_program("prod", monitor=eager, eager_alias_urns=True)
    run_program("prod", monitor=lazy)
    assert eager.requests.keys() == lazy.requests.keys()
    assert eager.requests == lazy.requests
    account = next(body for urn, body in lazy.requests.items() if urn.endswith("::aoai-prod-swc-openai-account"))
    assert len(account["aliases"]) > 10, "the account's API-version aliases still reach the engine as specs"
