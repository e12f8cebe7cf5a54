"""The pack starts the way the Pulumi CLI's Python language host starts it: the interpreter PulumiPolicy.yaml names (no
fallback to ours), `-u -m pulumi.policy <engine> <absolute pack dir>`, the pack directory as working directory, and
the stack's variables in an environment where the CLI's own ones win. A missing interpreter or a missing pulumi-policy
stops `check` with exit 2 and the command that fixes it."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from offline.analyzer_host import (
    ENGINE_ADDRESS,
    PackStartError,
    PolicyPackHost,
    StackContext,
    pack_environment,
    pack_launch,
    read_pack_project,
)
from offline.cli import main
from offline.project_files import stack_config
from tests.offline.helpers import PACK, ROOT, TINY_PACK_MAIN, write_pack


def pack_project(virtualenv: str | None, toolchain: str | None = "pip") -> str:
    options = "".join(f"    {k}: {v}\n" for k, v in (("toolchain", toolchain), ("virtualenv", virtualenv)) if v)
    return "runtime:\n  name: python\n" + (f"  options:\n{options}" if options else "") + "version: 0.3.0\n"


def test_the_pack_runs_with_the_virtualenv_make_setup_creates() -> None:
    launch = pack_launch(PACK, read_pack_project(PACK))
    assert launch.python == str(ROOT / "policies" / ".." / ".venv" / "bin" / "python")
    assert Path(launch.python).resolve() == (ROOT / ".venv" / "bin" / "python").resolve()
    assert launch.command[1:] == ("-u", "-m", "pulumi.policy", ENGINE_ADDRESS, str(PACK.resolve()))
    assert launch.cwd == PACK.resolve()
    assert launch.base_environment["VIRTUAL_ENV"] == str(PACK.resolve() / ".." / ".venv")
    assert launch.base_environment["PATH"].split(os.pathsep)[0] == str(PACK.resolve() / ".." / ".venv" / "bin")


def test_the_real_pack_starts_from_the_project_venv_and_answers_over_grpc() -> None:
    resolved = stack_config("prod")
    context = StackContext(resolved.project, "prod", dict(resolved.values))
    with PolicyPackHost(PACK, context) as host:
        host.connect()
        assert host.info is not None and host.info.name == "aoai-policies" and len(host.info.policies) > 20
        assert host.client is not None
        assert [c.method for c in host.client.calls] == ["ConfigureStack", "GetAnalyzerInfo"]
        process = host.process._process
        assert process is not None
        proc = Path("/proc") / str(process.pid)
        command = (proc / "cmdline").read_bytes().split(b"\0")[:-1]
        assert [c.decode() for c in command] == list(host.process.launch.command)
        assert Path(os.readlink(proc / "cwd")) == PACK.resolve()
        environment = dict(item.decode().split("=", 1) for item in (proc / "environ").read_bytes().split(b"\0")
                           if b"=" in item)
        assert environment["PULUMI_STACK"] == "prod" and environment["PULUMI_DRY_RUN"] == "true"
        assert environment["PULUMI_ORGANIZATION"] == "organization"


def test_a_missing_virtualenv_exits_2_with_the_fix_and_starts_nothing(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    pack = write_pack(tmp_path / "pack", TINY_PACK_MAIN, pack_project("../.venv"))
    assert main(["check", "--stack", "dev", "--policy-pack", str(pack)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / '.venv'} doesn't exist" in err and "Run `make setup`" in err
    assert sys.executable not in err, "no fallback to the interpreter running the check"


def test_a_virtualenv_without_pulumi_policy_exits_2_with_the_fix(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    bare = tmp_path / "bare-venv"
    venv.EnvBuilder(with_pip=False).create(bare)
    pack = write_pack(tmp_path / "pack", TINY_PACK_MAIN, pack_project(str(bare)))
    assert main(["check", "--stack", "dev", "--policy-pack", str(pack)]) == 2
    err = capsys.readouterr().err
    assert f"{bare}/bin/python lacks the pack's requirements (pulumi is not installed)" in err
    assert "Run `make setup`" in err and f"-m pip install -r {pack / 'requirements.txt'}" in err


def test_without_a_virtualenv_the_cli_uses_python3_on_path(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "pack", TINY_PACK_MAIN, pack_project(None))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python3", "python", "mypython"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    project = read_pack_project(pack)
    assert pack_launch(pack, project, {"PATH": str(bin_dir)}).python == str(bin_dir / "python3")
    assert pack_launch(pack, project, {"PATH": str(bin_dir), "PULUMI_PYTHON_CMD": "mypython"}).python == str(
        bin_dir / "mypython")
    assert pack_launch(pack, project, {"PATH": str(bin_dir)}).base_environment == {}
    with pytest.raises(PackStartError, match="names no virtualenv"):
        pack_launch(pack, project, {"PATH": str(tmp_path / "empty")})


def test_a_lock_file_above_the_pack_picks_another_toolchain(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "pack", TINY_PACK_MAIN, pack_project(sys.prefix, toolchain=None))
    assert pack_launch(pack, read_pack_project(pack)).python == str(Path(sys.prefix) / "bin" / "python")
    (tmp_path / "uv.lock").write_text("")
    with pytest.raises(PackStartError, match="the uv toolchain is not served offline"):
        pack_launch(pack, read_pack_project(pack))


@pytest.mark.parametrize(("options", "message"), [
    ("    virtualenv: 3\n", "virtualenv option must be a string"),
    ("    toolchain: conda\n", "unsupported toolchain option: conda"),
    ("    virtualenv: venv\nrequiredPulumiVersion: soon\n", "parsing CLI version range 'soon' failed"),
])
def test_bad_runtime_options_are_refused_in_the_language_hosts_words(tmp_path: Path, options: str,
                                                                     message: str) -> None:
    pack = write_pack(tmp_path / "pack", TINY_PACK_MAIN,
                      f"runtime:\n  name: python\n  options:\n{options}version: 0.3.0\n")
    with pytest.raises(PackStartError, match=message):
        read_pack_project(pack)


def test_the_environment_adds_the_stack_and_lets_the_clis_own_variables_win(tmp_path: Path) -> None:
    launch = pack_launch(PACK, read_pack_project(PACK), {"PATH": "/usr/bin", "PYTHONHOME": "/x", "KEEP": "1"})
    assert "PYTHONHOME" not in launch.base_environment, "activation drops PYTHONHOME"
    context = StackContext("aoai-platform", "dev", {"aoai-platform:nameSuffix": "42", "a:b": "<x>"})
    cli_env = {"PATH": "/usr/bin", "KEEP": "1", "PULUMI_STACK": "from-the-shell"}
    env = pack_environment(launch, context, cli_env)
    assert env["PULUMI_CONFIG"] == '{"a:b":"\\u003cx\\u003e","aoai-platform:nameSuffix":"42"}'
    assert env["PULUMI_PROJECT"] == "aoai-platform" and env["PULUMI_DRY_RUN"] == "true"
    assert env["PULUMI_STACK"] == "from-the-shell", "the language host appends the CLI's environment last"
    assert env["PATH"] == "/usr/bin" and env["VIRTUAL_ENV"].endswith(".venv")
    empty = pack_environment(launch, StackContext("p", "s", {}), {})
    assert "PULUMI_CONFIG" not in empty, "an empty config map sets no PULUMI_CONFIG"


def test_the_policy_readme_tells_how_the_cli_starts_the_pack() -> None:
    readme = (ROOT / "policies" / "README.md").read_text()
    assert "virtualenv: ../.venv" in readme and "make setup" in readme
    assert "activates the project's virtualenv" not in readme
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", "import pulumi_policy"], capture_output=True,
                          timeout=60)
    assert done.returncode == 0, "make setup installs pulumi-policy into the pack's virtualenv"
