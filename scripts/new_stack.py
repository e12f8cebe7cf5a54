"""Create a stack: Pulumi.<name>.yaml and policies/config/<name>.json from the templates in scripts/templates/, then
run the offline gate on them, so a new stack starts from files that pass `make check`.

Usage: .venv/bin/python scripts/new_stack.py NAME   (or `make new-stack NAME=...`)
Exit codes: 0 written and checked, 1 written but the gate finds a mandatory violation, 2 not written (a bad name, a
stack that exists) or the files cannot be checked.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import zlib
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.cli import main as offline  # noqa: E402

TEMPLATES = ROOT / "scripts" / "templates"
NAME_RE = re.compile(r"^[a-z][a-z0-9]{1,7}$")  # the environment setting's rule: the stack name becomes it


def new_stack(name: str, root: Path = ROOT, today: dt.date | None = None) -> tuple[Path, Path]:
    """Write the two files for stack `name`; refuses a name settings would refuse and a stack that exists."""
    if not NAME_RE.match(name):
        raise ValueError(f"{name!r} cannot name a stack: its name is its environment, 2-8 lower-case letters or digits "
                         "starting with a letter (e.g. test, staging, prodeu)")
    stack_file = root / f"Pulumi.{name}.yaml"
    config_file = root / "policies" / "config" / f"{name}.json"
    for path in (stack_file, config_file):
        if path.exists():
            raise FileExistsError(f"{path.relative_to(root)} exists: stack {name!r} is already there")
    today = today or dt.date.today()
    values = {
        "name": name,
        # A VNet range of its own per stack name (10.100-10.199), so two new stacks do not overlap by default.
        "octet": str(100 + zlib.crc32(name.encode()) % 100),
        # The key's first version expires in 18 months: inside the policy's 1095-day maximum.
        "expires": (today + dt.timedelta(days=540)).isoformat(),
    }
    stack_file.write_text(Template((TEMPLATES / "Pulumi.stack.yaml").read_text()).substitute(values))
    config_file.write_text(Template((TEMPLATES / "policy-config.json").read_text()).substitute(values))
    return stack_file, config_file


def run(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-3], file=sys.stderr)
        return 2
    try:
        stack_file, config_file = new_stack(argv[0])
    except (ValueError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {stack_file.relative_to(ROOT)} and {config_file.relative_to(ROOT)}; checking them:")
    return offline(["check", "--stack", argv[0]])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
