"""The wheel: it ships every file of ``conf/`` inside the package, and the package unpacked from
it (no checkout beside it) runs ``bbp`` with a preset from another folder. CI also installs the
wheel into a fresh environment and runs every command (``scripts/check_wheel.sh``)."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_ships_conf_and_runs_without_the_checkout(tmp_path, subprocess_env):
    source = tmp_path / "source"  # a copy, so that the build leaves nothing in the checkout
    for name in ("bbp_torch", "conf"):
        shutil.copytree(REPO / name, source / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, source / name)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "--no-build-isolation", "--wheel-dir", str(tmp_path / "dist"),
                            str(source)], capture_output=True, text=True, cwd=tmp_path)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("bbp_torch-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    conf = {f"bbp_torch/conf/{p.relative_to(REPO / 'conf').as_posix()}"
            for p in (REPO / "conf").rglob("*.yaml")}
    assert conf and conf <= shipped

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(subprocess_env, PYTHONPATH=str(tmp_path / "site"))
    code = ("import bbp_torch, bbp_torch.config as c; print(bbp_torch.__file__); "
            "print(c.CONFIG_DIR)")
    where = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=elsewhere, env=env)
    assert where.stdout.split() == [str(tmp_path / "site" / "bbp_torch" / "__init__.py"),
                                    str(tmp_path / "site" / "bbp_torch" / "conf")]
    run = subprocess.run([sys.executable, "-m", "bbp_torch", "+experiment=fig1_overlap",
                          "problem.N=20", "problem.alpha=2", "logging.tensorboard=false"],
                         capture_output=True, text=True, cwd=elsewhere, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert list((elsewhere / "outputs" / "runs" / "fig1_overlap").glob("*/record.json"))
    assert not os.path.exists(tmp_path / "site" / "outputs")


def test_the_python_face_exports_every_name_and_loads_torch_only_when_asked(subprocess_env):
    code = ("import sys, bbp_torch; assert 'torch' not in sys.modules, 'torch at import'; "
            "missing = [n for n in bbp_torch.__all__ if not hasattr(bbp_torch, n)]; "
            "assert not missing, missing; "
            "from bbp_torch import run_study, Config, theory, load_table, collect; "
            "assert theory.alpha_bbp is bbp_torch.theory.alpha_bbp; print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=subprocess_env)
    assert proc.stdout.strip() == "ok", proc.stderr[-2000:]
    with pytest.raises(AttributeError, match="no attribute 'run_sweep'"):
        import bbp_torch

        bbp_torch.run_sweep  # noqa: B018
