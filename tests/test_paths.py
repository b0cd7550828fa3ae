"""Where the Hydra configuration is found (bbp_torch.paths): a checkout reads its own conf/, an
installed package (no pyproject.toml beside it) the copy shipped inside it."""

from helpers import REPO

from bbp_torch import paths


def test_a_checkout_reads_its_own_conf():
    assert paths.config_dir() == REPO / "conf"
    assert (paths.config_dir() / "config.yaml").is_file()


def test_an_installed_package_reads_the_copy_inside_it(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()  # a conf/ without a pyproject.toml is not a checkout
    monkeypatch.setattr(paths, "CHECKOUT_DIR", tmp_path)
    assert paths.config_dir() == paths.PACKAGE_DIR / "conf"
    (tmp_path / "pyproject.toml").write_text("")
    assert paths.config_dir() == tmp_path / "conf"
