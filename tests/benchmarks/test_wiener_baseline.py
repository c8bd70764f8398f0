"""The Wiener baseline of benchmarks/bench_cleaning.py removes linear coupling, not bilinear."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from deepclean.utils.signal.asd_ratios import asd_ratio
from deepclean.utils.signal.filters import BandpassFilter

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "wiener_baseline.py"
_spec = importlib.util.spec_from_file_location("wiener_baseline", _PATH)
wiener_baseline = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("wiener_baseline", wiener_baseline)
_spec.loader.exec_module(wiener_baseline)

FS = 256.0
BAND = [(58.0, 62.0)]


def _data(seconds, seed, bilinear):
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    line = np.sin(2 * np.pi * 60 * t)
    noise = rng.normal(size=(2, n))
    slow = signal.sosfiltfilt(
        signal.butter(2, [0.2, 2.0], btype="band", fs=FS, output="sos"), rng.normal(size=n)
    )
    slow /= slow.std()
    witnesses = np.stack([line + 0.01 * noise[0], noise[1], slow])
    # linear: the line through a delay-and-gain path plus a filtered witness; bilinear: line x slow
    coupled = 20 * np.roll(line, 3) + 5 * BandpassFilter(((55, 65),), FS)(noise[1])
    if bilinear:
        coupled = 20 * line * slow
    background = rng.normal(size=n)
    return witnesses, background + coupled, background


@pytest.mark.parametrize(
    "bilinear, max_ratio", [(False, 1.1), (True, None)], ids=["linear", "bilinear"]
)
def test_wiener_removes_linear_coupling_only(bilinear, max_ratio):
    w_train, y_train, _ = _data(256, 0, bilinear)
    w_test, y_test, bg = _data(64, 1, bilinear)
    wf = wiener_baseline.WienerFilter.fit(w_train, y_train, FS, BAND, fftlength=4.0)
    cleaned = y_test - wf.predict(w_test)
    middle = slice(int(8 * FS), int(56 * FS))  # away from the FIR's edge effects
    ratio = asd_ratio(cleaned[middle], bg[middle], FS, BAND)
    raw_ratio = asd_ratio(y_test[middle], bg[middle], FS, BAND)
    if max_ratio is not None:  # linear coupling: removed down to the background
        assert raw_ratio > 10 and ratio < max_ratio
    else:  # bilinear sidebands: a linear filter removes almost nothing
        assert raw_ratio > 10 and ratio > 0.8 * raw_ratio
