"""The pipeline guard: a stack on a self-managed backend needs its committed Key Vault secrets provider and data key
before a preview or deployment starts; Pulumi Cloud keeps its own secrets."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.require_secrets_provider import problems
from tests.offline.helpers import ROOT

SCRIPT = ROOT / "scripts" / "require_secrets_provider.py"
PROVIDER = ("secretsprovider: azurekeyvault://kv-pulumi-secrets-001.vault.azure.net/keys/pulumi-stacks\n"
            "encryptedkey: ZXhhbXBsZS1kYXRhLWtleQ==\n")


def project(tmp_path: Path, header: str = "") -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.prod.yaml").write_text(header + (ROOT / "Pulumi.prod.yaml").read_text())
    return tmp_path


def run(backend: str, directory: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PULUMI_BACKEND_URL": backend}
    return subprocess.run([sys.executable, str(SCRIPT), "prod"], cwd=directory, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize(("header", "missing"), [
    ("", ["secretsprovider: is 'missing'", "encryptedkey: is missing"]),
    ("secretsprovider: azurekeyvault://kv.vault.azure.net/keys/k\n", ["encryptedkey: is missing"]),
    ("secretsprovider: passphrase\nencryptedkey: abc\n", ["secretsprovider: is 'passphrase'"]),
])
def test_a_self_managed_backend_needs_both_lines(tmp_path: Path, header: str, missing: list[str]) -> None:
    found = problems("prod", "azblob://pulumi-state?storage_account=stpulumistate001", project(tmp_path, header))
    for text in missing:
        assert any(line.startswith(f"Pulumi.prod.yaml: {text}") for line in found), found
    assert found[-1].startswith("fix: docs/bootstrap.md, section 9: `pulumi stack init prod --secrets-provider")


def test_with_both_lines_or_on_pulumi_cloud_the_stack_is_ready(tmp_path: Path) -> None:
    assert problems("prod", "azblob://pulumi-state?storage_account=x", project(tmp_path, PROVIDER)) == []
    assert problems("prod", "", ROOT) == [] and problems("prod", "https://api.pulumi.com", ROOT) == []


def test_the_script_exits_1_for_the_committed_stack_files_on_azblob_until_bootstrap_writes_them() -> None:
    done = run("azblob://pulumi-state?storage_account=stpulumistate001")
    assert done.returncode == 1
    assert "error: Pulumi.prod.yaml: secretsprovider: is 'missing'" in done.stderr and "section 9" in done.stderr
    assert run("").returncode == 0
