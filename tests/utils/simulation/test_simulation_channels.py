"""Witness names, native rates and the channel list."""

import pytest

from deepclean.utils.simulation import channels as ch


@pytest.mark.parametrize("ifo, count", [("H1", 21), ("L1", 18), ("V1", 21)], ids=["H1", "L1", "V1"])
def test_default_witness_counts(ifo: str, count: int) -> None:
    names = ch.default_witnesses(ifo)
    assert len(names) == count and names == sorted(names)
    assert ch.MAINS in names
    assert set(ch.DEFAULT_COUPLINGS) <= set(names)


def test_l1_lacks_three_asc_channels() -> None:
    missing = set(ch.default_witnesses("H1")) - set(ch.default_witnesses("L1"))
    assert missing == {"ASC-INP1_Y_OUT_DQ", "ASC-CSOFT_Y_OUT_DQ", "ASC-DSOFT_Y_OUT_DQ"}


def test_native_rates_are_mixed_and_not_4096() -> None:
    rates = {name: ch.native_rate(name) for name in ch.default_witnesses("H1")}
    assert rates[ch.MAINS] == 1024
    assert rates["ASC-DHARD_P_OUT_DQ"] == 512
    assert rates["ASC-CSOFT_P_OUT_DQ"] == 256
    assert 4096 not in rates.values()


def test_channel_list_puts_strain_first_then_sorted_witnesses() -> None:
    names = ch.channel_list("L1", ["PEM-CS_MAINSMON_EBAY_1_DQ", "ASC-MICH_P_OUT_DQ"])
    assert names == ["L1:GDS-CALIB_STRAIN", "L1:ASC-MICH_P_OUT_DQ", "L1:PEM-CS_MAINSMON_EBAY_1_DQ"]


def test_resize_keeps_required_witnesses_and_adds_synthetic_ones() -> None:
    names = ch.default_witnesses("H1")
    keep = [ch.MAINS, "ASC-SRC2_Y_OUT_DQ"]
    small = ch.resize_witnesses(names, 4, keep)
    assert len(small) == 4 and set(keep) <= set(small)
    large = ch.resize_witnesses(names, 23, keep)
    assert len(large) == 23 and {ch.extra_witness(0), ch.extra_witness(1)} <= set(large)
    with pytest.raises(ValueError, match="number of witnesses 1 is too small"):
        ch.resize_witnesses(names, 1, keep)
