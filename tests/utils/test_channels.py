"""Channel lists: names or a file, strain first, witnesses sorted, clear errors."""

from pathlib import Path

import pytest

from deepclean.utils.channels import (
    ChannelList,
    check_channel_name,
    parse_channels,
    read_channel_file,
    split_channels,
)
from deepclean.utils.errors import ConfigError

NAMES = [
    "H1:GDS-CALIB_STRAIN",
    "H1:PEM-CS_MAINSMON_EBAY_1_DQ",
    "H1:ASC-DHARD_P_OUT_DQ",
    "H1:ASC-CHARD_Y_OUT_DQ",
]
EXPECTED = ChannelList(
    strain="H1:GDS-CALIB_STRAIN",
    witnesses=("H1:ASC-CHARD_Y_OUT_DQ", "H1:ASC-DHARD_P_OUT_DQ", "H1:PEM-CS_MAINSMON_EBAY_1_DQ"),
)


def test_names_strain_first_witnesses_sorted() -> None:
    parsed = parse_channels(NAMES, "H1")
    assert parsed == EXPECTED
    assert parsed.names == (EXPECTED.strain, *EXPECTED.witnesses)
    assert len(parsed) == 4
    assert split_channels(NAMES) == (NAMES[0], sorted(NAMES[1:]))


@pytest.mark.parametrize("as_path", [True, False], ids=["Path", "str"])
@pytest.mark.parametrize("wrapped", [True, False], ids=["in-list", "bare"])
def test_channel_file_with_comments_and_blanks(
    tmp_path: Path, as_path: bool, wrapped: bool
) -> None:
    path = tmp_path / "channels.txt"
    path.write_text(
        "# DeepClean H1 channels\n\n"
        f"{NAMES[0]}   # the target\n" + "\n".join(f"  {n}  " for n in NAMES[1:]) + "\n\n# end\n"
    )
    spec = path if as_path else str(path)
    assert parse_channels([spec] if wrapped else spec, "H1") == EXPECTED


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (
            ["H1:GDS-CALIB_STRAIN", "GDS-CALIB_STRAIN"],
            r"channel name 'GDS-CALIB_STRAIN' is not <IFO>:<NAME>",
        ),
        (["H1:GDS-CALIB_STRAIN", "H1:"], r"'H1:' is not <IFO>:<NAME>"),
        (["H1:GDS-CALIB_STRAIN", "H1:A B"], r"'H1:A B' is not <IFO>:<NAME>"),
        (
            ["H1:GDS-CALIB_STRAIN", "L1:ASC-X"],
            "channel L1:ASC-X belongs to L1, but the configured IFO is H1",
        ),
        (["H1:GDS-CALIB_STRAIN", "H1:A", "H1:A"], "channel H1:A is listed twice"),
        (
            ["H1:GDS-CALIB_STRAIN"],
            r"holds 1 channel\(s\): give the strain channel first, then at least one witness",
        ),
        ([], r"holds 0 channel\(s\)"),
    ],
    ids=["no-ifo", "empty-name", "space", "other-ifo", "duplicate", "no-witness", "empty"],
)
def test_bad_lists(names: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_channels(names, "H1")


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"channel list file .*missing.txt cannot be read"):
        parse_channels(tmp_path / "missing.txt", "H1")
    path = tmp_path / "c.txt"
    path.write_text("H1:GDS-CALIB_STRAIN\nH1:A\nH1:A\n")
    with pytest.raises(
        ConfigError, match=r"channel list file .*c.txt: channel H1:A is listed twice"
    ):
        parse_channels(str(path), "H1")


def test_check_channel_name_strips_and_accepts_ifo_enum() -> None:
    from deepclean.utils.ifo import IFO

    assert check_channel_name("  L1:ASC-DHARD_P_OUT_DQ\n", IFO.L1) == "L1:ASC-DHARD_P_OUT_DQ"
    with pytest.raises(ValueError, match="'X9' is not a valid IFO"):
        check_channel_name("X9:A", "X9")


def test_binary_channel_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "channels.txt"
    path.write_bytes(b"H1:GDS-CALIB_STRAIN\n\xff\xfe\x00garbage\n")
    with pytest.raises(
        ConfigError, match=r"channel list file .*channels.txt is not UTF-8 text \(byte 20\)"
    ):
        read_channel_file(path)
