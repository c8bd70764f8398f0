"""deepclean up's plan: which processes, in which order of readiness, resuming from the frames on
disk."""

from pathlib import Path

import pytest
from honcho.environ import parse_procfile

from deepclean.services.cli import build_parser
from deepclean.services.up.plan import FrameSpan, Ports, make_plan
from deepclean.services.up.settings import UpSettings
from deepclean.utils.config import load_settings
from deepclean.utils.frames.naming import FrameKind, frame_path

NOW = 1_400_000_000


def settings(tmp_path: Path, **values) -> UpSettings:
    values = {"data_dir": tmp_path / "data", "project_dir": tmp_path / "project", **values}
    return load_settings(UpSettings, values, environ={}, env_file=None)


def commands(plan) -> dict[str, str]:
    return parse_procfile(plan.procfile()).processes


def test_first_demo_backfills_history_then_goes_live(tmp_path: Path) -> None:
    plan = make_plan(settings(tmp_path), Ports(), FrameSpan(), train_duration=1024, now=NOW)
    procs = commands(plan)
    assert list(procs) == ["simulator", "triton", "exporter", "trainer", "cleaner", "monitor"]
    assert (
        plan.backfill == (NOW - 1024, 1024)
        and plan.live_start == NOW
        and plan.trainer_start == NOW - 1024
    )
    backfill, live = procs["simulator"].split(" & exec ")
    assert f"--start {NOW - 1024} --duration 1024 --backfill" in backfill
    assert live.endswith(f"--start {NOW} --follow-clock") and "--backfill" not in live
    last = frame_path(tmp_path / "data", FrameKind.STRAIN, "H1", NOW - 1)
    first_live = frame_path(tmp_path / "data", FrameKind.STRAIN, "H1", NOW)
    # any one of the last history seconds / first live seconds: the demo drops frames, and a
    # gate on a single dropped one held the cleaner back for ready_timeout (found by the soak)
    assert (
        f"--any-file {last}" in procs["trainer"] and f"--any-file {first_live}" in procs["cleaner"]
    )
    for k in (1, 2):
        assert (
            str(frame_path(tmp_path / "data", FrameKind.STRAIN, "H1", NOW - 1 - k))
            in (procs["trainer"])
        )
        assert (
            str(frame_path(tmp_path / "data", FrameKind.STRAIN, "H1", NOW + k))
            in (procs["cleaner"])
        )
    assert "--url http://127.0.0.1:8000/v2/health/ready" in procs["exporter"]
    assert "--url http://127.0.0.1:5000/ready" in procs["cleaner"]
    assert f"--start {NOW - 1024}" in procs["trainer"] and "--profile cpu" in procs["trainer"]


def test_demo_passes_go_to_the_monitor_unless_it_has_its_own(tmp_path: Path) -> None:
    def monitor(**kwargs) -> str:
        plan = make_plan(
            settings(tmp_path, **kwargs.pop("values", {})),
            Ports(),
            FrameSpan(),
            train_duration=64,
            now=NOW,
            **kwargs,
        )
        return commands(plan)["monitor"]

    assert monitor().endswith("--passes 3")
    assert "--passes" not in monitor(monitor_passes_set=True)
    assert "--passes" not in monitor(values={"demo": False})
    plan = make_plan(
        settings(tmp_path).model_copy(update={"demo_passes": None}),
        Ports(),
        FrameSpan(),
        train_duration=64,
        now=NOW,
    )
    assert "--passes" not in commands(plan)["monitor"]


def test_second_start_resumes_after_the_newest_frame(tmp_path: Path) -> None:
    frames = FrameSpan(oldest=NOW - 1024, newest=NOW + 500)
    plan = make_plan(settings(tmp_path), Ports(), frames, train_duration=1024, now=NOW + 1500)
    procs = commands(plan)
    assert (
        plan.backfill is None and plan.live_start == NOW + 501
    )  # 999 s missed: caught up, then the clock
    assert (
        procs["simulator"].startswith("exec deepclean simulate")
        and "--backfill" not in procs["simulator"]
    )
    assert procs["simulator"].endswith(f"--start {NOW + 501} --follow-clock")
    assert plan.trainer_start == NOW + 501 - 1024
    assert "--file" not in procs["cleaner"]  # no history to wait for
    assert "--any-file" not in procs["cleaner"]


def test_a_start_after_a_long_stop_leaves_a_gap(tmp_path: Path) -> None:
    frames = FrameSpan(oldest=NOW - 1024, newest=NOW + 500)
    plan = make_plan(settings(tmp_path), Ports(), frames, train_duration=1024, now=NOW + 2000)
    assert (
        plan.live_start == NOW + 2000 and plan.trainer_start == NOW + 2000
    )  # 1499 s > a run's history
    assert commands(plan)["simulator"].endswith(f"--start {NOW + 2000} --follow-clock")


def test_an_accelerated_demo_is_paced_from_launch(tmp_path: Path) -> None:
    """--demo-speed 6: the live stream runs six times faster than the clock (--follow-clock needs
    speed 1), on a first start and when resuming ahead of the clock."""
    fast = settings(tmp_path, demo_speed=6.0)
    plan = make_plan(fast, Ports(), FrameSpan(), train_duration=1024, now=NOW)
    backfill, live = commands(plan)["simulator"].split(" & exec ")
    assert f"--start {NOW - 1024} --duration 1024 --backfill" in backfill
    assert live.endswith(f"--start {NOW} --speed 6") and "--follow-clock" not in live
    # restarted at NOW + 100 with frames written up to NOW + 599: goes on after them
    frames = FrameSpan(oldest=NOW - 1024, newest=NOW + 599)
    plan = make_plan(fast, Ports(), frames, train_duration=1024, now=NOW + 100)
    assert commands(plan)["simulator"].endswith(f"--start {NOW + 600} --speed 6")
    assert plan.trainer_start == NOW + 600 - 1024


def test_no_demo_runs_on_the_frames_there(tmp_path: Path) -> None:
    plan = make_plan(
        settings(tmp_path, demo=False),
        Ports(exporter=6000),
        FrameSpan(NOW, NOW + 9),
        train_duration=1024,
        now=NOW + 100,
    )
    procs = commands(plan)
    assert "simulator" not in procs and plan.backfill is None
    assert plan.trainer_start == NOW  # less history than a run: from the oldest frame
    assert "--notify-url http://127.0.0.1:6000/models" in procs["trainer"]
    assert "--exporter-url http://127.0.0.1:6000" in procs["monitor"]


def test_frame_span_scans_strain_frames(tmp_path: Path) -> None:
    assert FrameSpan.scan(tmp_path, "H1") == FrameSpan()
    for gps in (NOW + 3, NOW, NOW + 7):
        path = frame_path(tmp_path, FrameKind.STRAIN, "H1", gps)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    (path.parent / "notes.txt").touch()
    assert FrameSpan.scan(tmp_path, "H1") == FrameSpan(NOW, NOW + 7)


@pytest.mark.parametrize("demo", [True, False])
def test_every_command_parses(tmp_path: Path, demo: bool) -> None:
    parser, _ = build_parser()
    plan = make_plan(
        settings(tmp_path, demo=demo), Ports(), FrameSpan(), train_duration=64, now=NOW
    )
    for name, command in commands(plan).items():
        for part in command.replace("exec ", "").split(" & "):
            argv = part.split()[1:]
            if argv[0] == "wait-for":
                argv = argv[argv.index("--") + 1 :][1:]
            args = parser.parse_args(argv)  # exits on an unknown subcommand or option
            assert args.command in {
                "simulate",
                "triton",
                "exporter",
                "trainer",
                "cleaner",
                "monitor",
            }, name


def test_monitor_passes_chosen_by_the_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from deepclean.services.up.cli import monitor_passes_set

    env_file = tmp_path / ".env"
    monkeypatch.delenv("DEEPCLEAN_MONITOR_PASSES", raising=False)
    assert not monitor_passes_set(env_file)  # pyproject's table alone does not count
    env_file.write_text("DEEPCLEAN_MONITOR_PASSES=5\n")
    assert monitor_passes_set(env_file)
    env_file.write_text("")
    monkeypatch.setenv("DEEPCLEAN_MONITOR_PASSES", "4")
    assert monitor_passes_set(env_file)


def test_the_demo_cleans_every_band_its_witnesses_explain(tmp_path: Path) -> None:
    """With harmonic coupling on (the simulator's default) and the default band, the demo's
    services clean the line and its harmonics; bands the user set, or real frames, are
    left to the services' own settings."""
    from deepclean.services.up.plan import demo_bands

    s = settings(tmp_path)
    bands = demo_bands(s, 60.0, [2, 3])
    assert bands == [(58.0, 62.0), (118.0, 122.0), (178.0, 182.0)]
    assert demo_bands(s, 50.0, [2]) == [(48.0, 52.0), (98.0, 102.0)]
    assert demo_bands(s, 60.0, []) is None
    assert demo_bands(settings(tmp_path, demo=False), 60.0, [2, 3]) is None
    assert demo_bands(settings(tmp_path, freq_low=[55], freq_high=[65]), 60.0, [2, 3]) is None
    parser, _ = build_parser()
    plan = make_plan(s, Ports(), FrameSpan(), train_duration=64, now=NOW, bands=bands)
    for name, command in commands(plan).items():
        if name in ("simulator", "triton"):
            assert "--freq-low" not in command
            continue
        argv = command.replace("exec ", "").split()[1:]
        args = parser.parse_args(argv[argv.index("--") + 2 :])
        assert args.freq_low == ["58", "118", "178"] and args.freq_high == ["62", "122", "182"]


def test_prometheus_runs_as_one_more_process(tmp_path: Path) -> None:
    from deepclean.services.up.prometheus import prometheus_command, prometheus_config

    up = settings(tmp_path)
    command = prometheus_command(tmp_path / "p.yml", tmp_path / "data", 9191)
    plan = make_plan(up, Ports(), FrameSpan(), train_duration=64, now=NOW, prometheus=command)
    procs = commands(plan)
    assert procs["prometheus"] == (
        f"exec prometheus --config.file={tmp_path / 'p.yml'} --storage.tsdb.path="
        f"{tmp_path / 'data'} --web.listen-address=127.0.0.1:9191 --storage.tsdb.retention.time=15d"
    )
    assert "prometheus" not in commands(
        make_plan(up, Ports(), FrameSpan(), train_duration=64, now=NOW)
    )
    text = prometheus_config(Ports(exporter=5100, triton_metrics=0), 5003, rules=None)
    assert "'127.0.0.1:5100'" in text and "job_name: triton" not in text
    assert "job_name: up" in text and "rule_files" not in text
