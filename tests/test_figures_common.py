"""The modes of bbp-figures (bbp_torch.figures.common): read from their YAML files alone, and
overriding only presets that exist."""

import shutil
from pathlib import Path

from omegaconf import OmegaConf

from bbp_torch.config import CONFIG_DIR
from bbp_torch.figures.common import MODES, MODES_DIR, load_modes
from bbp_torch.paths import PACKAGE_DIR

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
PRESETS = sorted(p.stem for p in (Path(CONFIG_DIR) / "experiment").glob("*.yaml"))


def test_every_mode_overrides_only_existing_presets():
    for mode, settings in MODES.items():
        assert set(settings["overrides"]) <= set(PRESETS), mode
    for preset in PRESETS:  # each mode but the full one shrinks every preset
        assert all(preset in MODES[m]["overrides"] for m in ("paper", "quick", "smoke"))


def test_the_modes_are_read_from_their_yaml_files_alone(tmp_path):
    """One file per mode in conf/figure_modes/, each with the full mode's fields and override
    strings as on a command line; a new file is a new mode; no Python source holds a grid."""
    assert set(MODES) == {"full", "paper", "quick", "smoke"}
    assert MODES == load_modes(MODES_DIR)
    for mode, settings in MODES.items():
        assert set(settings) == set(MODES["full"]), mode
        assert settings["runner"] in ("cli", "inprocess"), mode
        for preset, overrides in settings["overrides"].items():
            assert all(isinstance(v, str) for v in overrides.values()), (mode, preset)

    copy = tmp_path / "figure_modes"
    shutil.copytree(MODES_DIR, copy)
    tiny = dict(MODES["smoke"], n_boot=3)
    OmegaConf.save(OmegaConf.create(tiny), copy / "tiny.yaml")
    assert load_modes(copy) == {**MODES, "tiny": tiny}

    grids = {value for settings in MODES.values() for overrides in settings["overrides"].values()
             for value in overrides.values() if value.count(",") >= 2}
    sources = [*PACKAGE_DIR.rglob("*.py"), *SCRIPTS.glob("*.py")]
    for path in sources:
        text = path.read_text()
        assert not [grid for grid in grids if f'"{grid}"' in text], path
