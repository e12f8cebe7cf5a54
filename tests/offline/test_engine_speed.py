"""The offline engine's shortcuts (alias URNs left to the engine, no source positions) change nothing the monitor reads."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from offline.engine import AzureMocks, RecordingMonitor, run_program


class Requests(RecordingMonitor):
    """Keeps every RegisterResource request whole, minus what names the caller's source line."""

    def __init__(self) -> None:
        super().__init__(AzureMocks())
        self.requests: dict[str, dict[str, Any]] = {}
        self.registered = 0
        self.traced: list[str] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        body = json_format.MessageToDict(request)
        self.registered += 1
        if body.pop("stackTrace", {}).get("frames"):
            self.traced.append(body["type"])
        body.pop("sourcePosition", None)
        for key in ("dependencies",):
            body[key] = sorted(body.get(key, []))
        body["propertyDependencies"] = {k: sorted(v.get("urns", []))
                                        for k, v in body.get("propertyDependencies", {}).items()}
        self.requests[response.urn] = body
        return response


def test_the_registrations_are_the_same_with_and_without_the_shortcuts() -> None:
    eager, lazy = Requests(), Requests()
    run_program("dev", monitor=eager, full_sdk=True)
    run_program("dev", monitor=lazy)
    assert eager.requests.keys() == lazy.requests.keys()
    assert eager.requests == lazy.requests
    # What the shortcuts leave out is there without them, and only there.
    assert len(eager.traced) == eager.registered == lazy.registered
    # The one left is the mock runtime's own stack, registered before the program runs (pulumi.runtime.set_mocks).
    assert lazy.traced == ["pulumi:pulumi:Stack"]
    account = next(body for urn, body in lazy.requests.items() if urn.endswith("::aoai-dev-swc-openai-account"))
    assert len(account["aliases"]) > 10, "the account's API-version aliases still reach the engine as specs"

