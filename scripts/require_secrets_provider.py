"""Stop a pipeline early when a stack on a self-managed backend has no committed secrets provider.

On a self-managed backend (azblob://, s3://, gs://, file://) the Pulumi CLI reads a stack's secrets provider and its
encrypted data key from Pulumi.<stack>.yaml: the `secretsprovider:` and `encryptedkey:` lines that
`pulumi stack init --secrets-provider azurekeyvault://...` (or `pulumi stack change-secrets-provider`) writes. Without
them a `--non-interactive` preview falls back to a passphrase secrets manager and fails, deep in the run, for want of
PULUMI_CONFIG_PASSPHRASE (pulumi/pulumi pkg/secrets/passphrase/manager.go). With only `secretsprovider:` the CLI makes
a new data key on every run (pkg/secrets/cloud/manager.go `NewCloudSecretsManager`) and writes it into a checkout that
CI throws away, so a `secure:` value set with another key never decrypts. The key cannot be made without Azure, so
the repository does not carry a made-up one: docs/bootstrap.md section 9 writes both lines once, and this check
refuses to run a preview or an update until they are committed. Pulumi Cloud (no PULUMI_BACKEND_URL, or an https://
one) keeps the secrets itself and needs neither line.

Usage: python scripts/require_secrets_provider.py STACK  (reads PULUMI_BACKEND_URL; exit 0 ready, 1 not, 2 unreadable)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.loader import LoadError  # noqa: E402
from offline.project_files import load_project, load_stack_file  # noqa: E402

SELF_MANAGED = ("azblob://", "s3://", "gs://", "file://")
FIX = ("docs/bootstrap.md, section 9: `pulumi stack init {stack} --secrets-provider "
       "\"azurekeyvault://<vault>.vault.azure.net/keys/<key>\"` (or `pulumi stack change-secrets-provider` for a "
       "stack that exists) writes both lines; commit the stack file")


def problems(stack: str, backend_url: str, project_dir: Path = ROOT) -> list[str]:
    """Why `stack` cannot run against `backend_url` yet; empty when it can."""
    if not backend_url.startswith(SELF_MANAGED):
        return []
    path = project_dir / f"Pulumi.{stack}.yaml"
    stack_file = load_stack_file(load_project(project_dir), path, path.name)
    found = []
    if not stack_file.secrets_provider.startswith("azurekeyvault://"):
        found.append(f"{path.name}: secretsprovider: is {stack_file.secrets_provider or 'missing'!r}; a stack on "
                     f"{backend_url.split('?')[0]} needs the Azure Key Vault key (azurekeyvault://...)")
    if not stack_file.encrypted_key:
        found.append(f"{path.name}: encryptedkey: is missing: the CLI would make a new data key on every run")
    return [*found, "fix: " + FIX.format(stack=stack)] if found else []


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    stack = argv[0]
    try:
        found = problems(stack, os.environ.get("PULUMI_BACKEND_URL", ""))
    except (LoadError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in found:
        print(f"error: {line}", file=sys.stderr)
    if not found:
        print(f"{stack}: the secrets provider is ready for this backend")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
