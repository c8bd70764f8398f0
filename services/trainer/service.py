"""The trainer service loop: follow the frames, train when enough ready data, retrain on a cadence.

Readiness is tracked per GPS second (a second is ready when both frames are good and its
state vector has bits 0 and 1 set throughout; a dropped second is not ready). A run is due
when the trailing window of at most ``2 * train_duration`` seconds holds
``train_duration`` ready seconds and, after the first run, when ``retrain_cadence``
seconds of data have passed since the end of the previous run, or sooner when the monitor's
record shows production degrading (``early_retrain``, :mod:`.evidence`). The span of a run starts
at the oldest of those ready seconds, so non-ready stretches inside it split the training
data (``deepclean.utils.training.gating``) and a long outage resets the count.

Each run trains in ``$PROJECT_DIR/train/.<start>-<end>.tmp/`` and is renamed to
``<start>-<end>/`` only when it succeeded, so a directory with that name always holds a
validated model; a failed run becomes ``<start>-<end>.failed/`` and the previous model
stays current. Liveness: ``$PROJECT_DIR/health/trainer-<IFO>.json`` is rewritten (at most
every 5 s) for every frame followed and before every training batch; the compose healthcheck
says unhealthy when it is older than 300 s. After the first model, every run fine-tunes from
the previous one (``init_weights``, lr * fine_tune_decay). A successful run is announced to the
exporter.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from pathlib import Path

from deepclean.services.trainer.evidence import EarlyRetrainer
from deepclean.services.trainer.metrics import TrainerMetrics
from deepclean.services.trainer.notify import notify
from deepclean.services.trainer.ready import ReadyTracker
from deepclean.services.trainer.settings import TrainerSettings
from deepclean.utils.channels import ChannelList, parse_channels
from deepclean.utils.errors import ConfigError, FrameError, TrainingError, TrainingInterrupted
from deepclean.utils.files import durable_replace
from deepclean.utils.frames.reader import FrameData, FrameStream
from deepclean.utils.liveness import HeartbeatFile
from deepclean.utils.training.artifacts import METADATA_FILE, WEIGHTS_FILE, read_metadata
from deepclean.utils.training.pipeline import TrainResult, train_model
from deepclean.utils.training.span_io import load_span

logger = logging.getLogger(__name__)


def heartbeat_path(project_dir: Path, ifo: str) -> Path:
    """``$PROJECT_DIR/health/trainer-<IFO>.json``: the trainer's liveness file."""
    return Path(project_dir) / "health" / f"trainer-{ifo}.json"


RUN_NAME = re.compile(r"^(?P<start>\d+)-(?P<end>\d+)$")


def latest_model(train_dir: Path, witnesses: list[str]) -> Path | None:
    """The successful run in ``train_dir`` with the latest end whose witnesses match."""
    best: tuple[int, Path] | None = None
    for path in Path(train_dir).glob("*-*"):
        match = RUN_NAME.match(path.name)
        if not match or not (path / WEIGHTS_FILE).is_file() or not (path / METADATA_FILE).is_file():
            continue
        try:
            if read_metadata(path).witnesses != witnesses:
                continue
        except TrainingError:
            continue
        end = int(match["end"])
        if best is None or end > best[0]:
            best = (end, path)
    return None if best is None else best[1]


class TrainerService:
    """Follows the stream and trains; :meth:`run` returns when stopped or after ``max_runs``."""

    def __init__(self, settings: TrainerSettings, profile: str | None = None) -> None:
        self.settings = settings
        self.profile = profile
        self.channels = self._channels()
        self.train_dir = Path(settings.project_dir) / "train"
        self.previous = latest_model(self.train_dir, list(self.channels.witnesses))
        last_end = int(RUN_NAME.match(self.previous.name)["end"]) if self.previous else None
        self.tracker = ReadyTracker(settings.train_duration, settings.retrain_cadence, last_end)
        self.stop_event = threading.Event()
        self.stream: FrameStream | None = None
        self.runs = 0
        self.successes = 0
        self.metrics = TrainerMetrics()
        #: reads the monitor's record of production's ratios (None: early_retrain off)
        self.early = EarlyRetrainer(settings) if settings.early_retrain else None
        #: liveness for the compose healthcheck: rewritten per frame and per training batch
        self.heartbeat = HeartbeatFile(heartbeat_path(settings.project_dir, settings.ifo))

    def _channels(self) -> ChannelList:
        given = self.settings.channels or [str(Path(self.settings.data_dir) / "channels.txt")]
        if not self.settings.channels and not Path(given[0]).is_file():
            raise ConfigError(
                f"setting channels is required: give --channels (no {given[0]} to default to)"
            )
        return parse_channels(given, self.settings.ifo)

    def stop(self) -> None:
        """Stop following the stream (safe from a signal handler or another thread)."""
        self.stop_event.set()
        if self.stream is not None:
            self.stream.close()

    def run(self) -> int:
        """Follow the stream until stopped; return the number of successful runs."""
        s = self.settings
        if self.previous:
            logger.info("continuing from model %s", self.previous)
        if s.metrics_port is not None:
            self.metrics.serve(s.host, s.metrics_port)
        try:
            return self._follow()
        finally:
            self.metrics.stop()

    def _follow(self) -> int:
        """Follow the stream, training whenever a run is due, until stopped or ``max_runs``."""
        s = self.settings
        with FrameStream(
            s.data_dir,
            s.ifo,
            self.channels,
            start=s.start,
            timeout=s.frame_timeout,
            max_consecutive_drops=None,
        ) as stream:
            self.stream = stream
            if self.stop_event.is_set():
                return self.successes
            logger.info(
                "following %s from GPS %d; %d s per run, every %d s",
                s.data_dir,
                stream.gps,
                s.train_duration,
                s.retrain_cadence,
            )
            for item in stream:
                self.heartbeat.beat(f"following the frames at GPS {item.gps}")
                self.tracker.add(item.gps, isinstance(item, FrameData) and item.ready)
                window = self.tracker.due() or self._early()
                if window is not None:
                    self.tracker.started(window[1])
                    self.metrics.runs.inc()
                    self.train(*window)
                    self.runs += 1
                    if s.max_runs is not None and self.runs >= s.max_runs:
                        break
                if self.stop_event.is_set():
                    break
        return self.successes

    def _early(self) -> tuple[int, int] | None:
        """The window of an early run when the monitor's evidence calls for one now, else None."""
        window = self.tracker.window()
        if window is None or self.early is None:
            return None
        evidence = self.early.check(window[1], self.tracker.last_end)
        if evidence is None:
            return None
        logger.warning("%s", self.early.describe(window[1], evidence))
        self.metrics.early_retrains.inc()
        return window

    def _beat_training(self, name: str) -> bool:
        """Asked before every training batch: beat, and whether to stop."""
        self.heartbeat.beat(f"training run {name}")
        return self.stop_event.is_set()

    def train(self, start: int, end: int) -> Path | None:
        """One run on ``[start, end)``; the model directory, or None when it failed."""
        name = f"{start}-{end}"
        final, tmp = self.train_dir / name, self.train_dir / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        origin = f"fine-tuning {self.previous.name}" if self.previous else "from scratch"
        logger.info("training run %s (%s)", name, origin)
        try:
            result = self._run(name, start, end, tmp)
        except TrainingInterrupted as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            logger.warning(
                "training run %s stopped before it finished (%s); nothing kept", name, exc
            )
            return None
        except (TrainingError, FrameError) as exc:
            failed = self.train_dir / f"{name}.failed"
            shutil.rmtree(failed, ignore_errors=True)
            if tmp.exists():
                tmp.replace(failed)
            logger.error(
                "training run %s failed; keeping %s: %s", name, self.previous or "no model", exc
            )
            return None
        shutil.rmtree(final, ignore_errors=True)
        durable_replace(tmp, final)
        self.previous = final
        self.successes += 1
        self._announce(name, start, end, final, result)
        return final

    def _run(self, name: str, start: int, end: int, tmp: Path) -> TrainResult:
        """Read ``[start, end)`` and train on it into ``tmp`` (fine-tuning the previous model)."""
        s = self.settings
        span, background = load_span(
            s.data_dir,
            s.ifo,
            self.channels,
            start,
            end - start,
            sample_rate=s.sample_rate,
            background_channel=s.background_channel,
        )
        return train_model(
            span,
            s,
            tmp,
            init_weights=self.previous,
            profile=self.profile,
            interactive=False,
            background_channel=background,
            should_stop=lambda: self._beat_training(name),
        )

    def _announce(self, name: str, start: int, end: int, final: Path, result: TrainResult) -> None:
        """Log the run's success and tell ``notify_url`` (the exporter) about the new model."""
        s = self.settings
        meta = result.metadata
        logger.info(
            "training run %s succeeded in %.0f s: validation loss %.4f, in-band ASD ratio %s",
            name,
            result.seconds,
            meta.losses["best_valid_loss"],
            meta.validation.get("in_band_ratio"),
        )
        payload = {
            "ifo": str(s.ifo),
            "start": start,
            "end": end,
            "model_dir": str(final.resolve()),
            "weights": str((final / WEIGHTS_FILE).resolve()),
            "metadata": str((final / METADATA_FILE).resolve()),
            "valid_loss": meta.losses["best_valid_loss"],
            "in_band_ratio": meta.validation.get("in_band_ratio"),
            "by": "trainer",  # for the exporter's audit log
        }
        notify(
            s.notify_url,
            payload,
            retries=s.notify_retries,
            backoff=s.notify_backoff,
            timeout=s.notify_timeout,
        )
