"""nmautils.report.approx: rounding to a grid, with the margin check the build turns on."""

from __future__ import annotations

import pytest

from nmautils.report import MarginError, approx


@pytest.mark.parametrize("value, step, text", [
    (0.764, 0.05, "0.75"), (0.757, 0.05, "0.75"), (1009.3, 10, "1010"), (31.7, 1, "32"),
    (0.0496, 0.005, "0.050"), (-0.001, 0.01, "0.00"), (43551.0, 100, "43600"), (-5.8e19, 1e19,
                                                                              "-60000000000000000000"),
])
def test_rounds_to_the_grid(value, step, text):
    assert approx(value, step, 0.0) == text


def test_margin_check_only_when_asked(monkeypatch):
    monkeypatch.delenv("NMAUTILS_CHECK_MARGINS", raising=False)
    assert approx(0.774, 0.05, 0.015) == "0.75"  # students: no error, just rounding
    monkeypatch.setenv("NMAUTILS_CHECK_MARGINS", "1")
    with pytest.raises(MarginError, match="rounding boundary"):
        approx(0.774, 0.05, 0.015)  # 0.001 from 0.775: a machine 0.0015 higher prints 0.80
    assert approx(0.764, 0.05, 0.01) == "0.75"  # 0.011 from the boundary: safe


def test_every_value_within_the_spread_prints_the_same(monkeypatch):
    monkeypatch.setenv("NMAUTILS_CHECK_MARGINS", "1")
    for value in (0.3, 0.764, 12.34, 1009.3):
        for step, spread in ((0.05, 0.01), (1, 0.2), (10, 3)):
            try:
                text = approx(value, step, spread)
            except MarginError:
                continue
            for d in (-spread, -spread / 2, spread / 2, spread * 0.999):
                assert approx(value + d, step, 0.0) == text


def test_bad_arguments():
    with pytest.raises(ValueError):
        approx(1.0, 0.0, 0.1)
    with pytest.raises(ValueError):
        approx(1.0, 0.1, -1.0)
    assert approx(float("nan"), 0.1, 0.0) == "nan"


def test_verdict_prints_and_never_raises_for_students(capsys, monkeypatch):
    from nmautils.report import verdict

    monkeypatch.delenv("NMAUTILS_STRICT_CLAIMS", raising=False)
    assert verdict("a is small", True, "a = 1") is None
    assert capsys.readouterr().out == "Claim holds on this data: a is small (a = 1).\n"
    assert verdict("a is large", False, "a = 1") is None
    out = capsys.readouterr().out
    assert out.startswith("Claim does NOT hold on this data: a is large (a = 1).")


def test_verdict_raises_in_strict_mode(monkeypatch):
    from nmautils.report import ClaimError, verdict

    monkeypatch.setenv("NMAUTILS_STRICT_CLAIMS", "1")
    verdict("fine", True)
    with pytest.raises(ClaimError, match="claim does not hold: broken"):
        verdict("broken", False)
    with pytest.raises(TypeError, match="claim and evidence should be str"):
        verdict(3, True)
