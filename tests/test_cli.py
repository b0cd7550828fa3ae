"""What every command shares (bbp_torch.cli): ``exit_with`` exits with the code ``main``
returns, and output cut short by a closed pipe (``bbp --help | head``) ends quietly with 0."""

import pytest

from bbp_torch.cli import exit_with


@pytest.mark.parametrize("code", [0, 1, 2])
def test_the_exit_code_is_the_one_main_returns(code):
    with pytest.raises(SystemExit) as info:
        exit_with(lambda: code)
    assert info.value.code == code


def test_a_closed_pipe_ends_quietly(monkeypatch, tmp_path):
    import sys

    out = open(tmp_path / "stdout", "w")  # a real file descriptor for dup2 to replace
    monkeypatch.setattr(sys, "stdout", out)

    def main():
        raise BrokenPipeError

    try:
        with pytest.raises(SystemExit) as info:
            exit_with(main)
    finally:
        out.close()
    assert info.value.code == 0
