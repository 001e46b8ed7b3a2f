"""``python -m mnv2_core train``: a request it cannot honour is refused in one line, leaving nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnv2_core.train.cli import main



def test_cli_reports_missing_data_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MNV2_CACHE", str(tmp_path / "cache"))
    code = main(["--recipe", "scratch", "--width", "0.35", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    for bad in (["--recipe", "transfer", "--init", "scratch"], ["--model", "resnet18", "--init", "imagenet"],
                ["--recipe", "scratch", "--model", "nope"],
                ["--recipe", "scratch", "--distill-from", str(tmp_path / "missing.pt")]):
        assert main(bad + ["--out", str(tmp_path)]) == 2, bad
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err, err
    assert not list((tmp_path / "cache").glob("train_state/*")), "a refused run left a resume ticket behind"
