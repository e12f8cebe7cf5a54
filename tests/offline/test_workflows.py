"""The GitHub workflows parse, gate offline without secrets, preview only with Azure OIDC, and deploy behind
environment protection; every `python -m offline` line in them is one the CLI accepts."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml

from offline.cli import build_parser
from tests.offline.helpers import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(document, dict)
    # YAML 1.1 reads the key `on` as the boolean true.
    document["on"] = document.pop(True, document.get("on"))
    return document


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    found = job.get("steps")
    assert isinstance(found, list) and found, "a job needs steps"
    return found


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in steps(job))


def uses(job: dict[str, Any], action: str) -> dict[str, Any]:
    matches = [s for s in steps(job) if str(s.get("uses", "")).startswith(action + "@")]
    assert len(matches) == 1, f"expected one step using {action}"
    return matches[0]


@pytest.mark.parametrize("name", ["pr.yml", "deploy.yml"])
def test_workflow_has_triggers_jobs_and_steps(name: str) -> None:
    workflow = load(name)
    assert workflow["on"], "no trigger"
    assert workflow["jobs"]
    for job in workflow["jobs"].values():
        assert job["runs-on"] and steps(job)
        for step in steps(job):
            assert ("uses" in step) != ("run" in step), step


def test_offline_job_needs_no_cloud_and_no_secrets() -> None:
    workflow = load("pr.yml")
    assert {"pull_request", "push"} <= set(workflow["on"])
    job = workflow["jobs"]["offline"]
    text = yaml.safe_dump(job)
    assert "secrets." not in text and "azure/login" not in text and "pulumi preview" not in text
    assert "python -m pytest" in runs(job)
    for stack in ("dev", "prod"):
        assert f"python -m offline check --stack {stack}" in runs(job)
        assert f"python -m offline report --stack {stack}" in runs(job)


def test_preview_runs_only_with_azure_oidc_and_uses_the_policy_pack_per_stack() -> None:
    job = load("pr.yml")["jobs"]["preview"]
    condition = job["if"]
    for variable in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID"):
        assert f"vars.{variable} != ''" in condition
    assert job["permissions"]["id-token"] == "write"
    login = uses(job, "azure/login")["with"]
    assert login == {"client-id": "${{ vars.AZURE_CLIENT_ID }}", "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
                     "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}"}, "OIDC: ids only, no client secret"
    assert job["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    command = " ".join(runs(job).split())
    assert ("pulumi preview --stack ${{ matrix.stack }}" in command
            and "--policy-pack policies --policy-pack-config policies/config/${{ matrix.stack }}.json" in command)


def test_deploy_runs_pulumi_up_per_environment_behind_protection() -> None:
    workflow = load("deploy.yml")
    assert "workflow_dispatch" in workflow["on"]
    job = workflow["jobs"]["deploy"]
    assert job["environment"] == "${{ matrix.stack }}"
    assert job["needs"] == "gate" and job["strategy"]["max-parallel"] == 1
    assert job["permissions"]["id-token"] == "write"
    uses(job, "azure/login")
    command = " ".join(runs(job).split())
    assert "pulumi up --stack ${{ matrix.stack }} --yes" in command
    assert "--policy-pack policies --policy-pack-config policies/config/${{ matrix.stack }}.json" in command
    options = workflow["on"]["workflow_dispatch"]["inputs"]["target"]["options"]
    assert options == ["dev", "prod"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_stack_the_workflows_name_has_a_stack_file_and_a_policy_config(stack: str) -> None:
    assert (ROOT / f"Pulumi.{stack}.yaml").exists()
    assert (ROOT / "policies" / "config" / f"{stack}.json").exists()


def test_every_offline_command_in_the_workflows_is_accepted_by_the_cli() -> None:
    parser = build_parser()
    commands = []
    for name in ("pr.yml", "deploy.yml"):
        for job in load(name)["jobs"].values():
            commands += re.findall(r"python -m offline ([^\n]+)", runs(job))
    assert len(commands) >= 5
    for command in commands:
        parser.parse_args(shlex.split(command))
