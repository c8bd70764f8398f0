"""The canary check the monitor's checker thread runs on each segment of cleaned data.

One check: ask the exporter for the versions (:mod:`.exporter_client`, retried with backoff),
draw the latest ASDs of raw, production, canary and OUT_DQ, record the in-band ratios, run
the decision (:mod:`deepclean.utils.monitoring.decision`) and, on a promotion, call
``POST /promote``; a failed promotion is retried at the next check. Production is judged too,
after its promotion: ``failures`` checks in a row above ``max_ratio`` roll it back
(``POST /rollback``, :mod:`.production`). Rejections go to the audit log.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path

from deepclean.services.monitor.cleaned import SERIES, Segment
from deepclean.services.monitor.exporter_client import ExporterClient, ModelVersion, Versions
from deepclean.services.monitor.plots import asd_png
from deepclean.services.monitor.production import (
    ProductionGuard,
    audit_rejection,
    promotion_evidence,
)
from deepclean.services.monitor.ranges import segment_ranges
from deepclean.services.monitor.served import served_versions
from deepclean.services.monitor.settings import MonitorSettings
from deepclean.services.monitor.state import MonitorState, RatioPoint
from deepclean.utils.kill_switch import SwitchWatcher
from deepclean.utils.monitoring.asd import asd_over_runs
from deepclean.utils.monitoring.decision import Decision, Verdict
from deepclean.utils.monitoring.range_gate import SegmentRanges, range_veto
from deepclean.utils.monitoring.segment import SegmentCheck, check_segment
from deepclean.utils.products import CLEANED_RATE_HZ, Product
from deepclean.utils.signal.asd_ratios import band_ratio

logger = logging.getLogger(__name__)


class CanaryChecker:
    """Checks segments against the versions the exporter serves; records into ``state``."""

    def __init__(
        self, settings: MonitorSettings, state: MonitorState, exporter: ExporterClient
    ) -> None:
        self.settings = settings
        self.state = state
        self.exporter = exporter
        self._warned_bands: set[int] = set()
        self.ranges: SegmentRanges | None = None  #: BNS ranges of the last segment checked
        self.switch = SwitchWatcher(settings.project_dir, settings.ifo)  #: the kill switch
        #: judges production after its promotion, rolls it back (``POST /rollback``)
        self.production = ProductionGuard(
            Path(settings.project_dir) / "monitor", state.tracker.thresholds, exporter
        )

    def _bands(self, model: ModelVersion) -> list[tuple[float, float]]:
        if model.info.bands:
            return [(float(lo), float(hi)) for lo, hi in model.info.bands]
        if model.version not in self._warned_bands:
            self._warned_bands.add(model.version)
            logger.warning(
                "version %d has no bands in its version info (training metadata missing?); "
                "using the configured band(s) %s Hz",
                model.version,
                self.settings.bands,
            )
        return list(self.settings.bands)

    def check(self, segment: Segment) -> Decision | None:
        """One check of ``segment``: versions, plots, ratios, decision, promotion."""
        versions = self._record_versions()
        usable, ratios = self._measure(segment, versions)
        tracker = self.state.tracker
        if versions is None:
            if tracker.canary is None:
                return None
            decision = tracker.skip(segment.end, 0, tracker.canary, "exporter unreachable")
            return self._conclude(segment, decision)
        production, canary = versions.production.version, versions.canary.version
        switch = self.switch.state()
        if not switch.enabled:  # the kill switch: no promotion, no rollback
            decision = tracker.skip(
                segment.end, production, canary, f"{switch.describe()}; no model change"
            )
            logger.info("%s", decision.describe())
            self.state.record_decision(decision)
            self.state.save()
            return decision
        if (
            usable.usable
            and ratios is not None
            and versions.production.info.trained
            and self.production.check(segment.end, production, ratios["production"])
        ):
            self.state.save()
            return None  # rolled back: production and canary changed, judged from the next
        if not tracker.should_check(production, canary):
            return None
        return self._conclude(segment, self._judge_canary(segment, versions, usable, ratios))

    def _record_versions(self) -> Versions | None:
        """Ask the exporter for the versions it serves (``None``: unreachable) and what
        Triton serves; both recorded for the page."""
        versions = self.exporter.versions()
        self.state.record_versions(
            None
            if versions is None
            else {
                "production": _describe(versions.production),
                "canary": _describe(versions.canary),
            },
            self.exporter.last_error,
        )
        self.state.served = served_versions(self.settings.triton_url)
        return versions

    def _measure(
        self, segment: Segment, versions: Versions | None
    ) -> tuple[SegmentCheck | None, dict[str, float] | None]:
        """The usable seconds of ``segment`` for the versions compared and, when enough are
        usable, the in-band ratios over them (``None`` when not measured)."""
        bands = self._bands(versions.canary) if versions else list(self.settings.bands)
        # the versions compared: those served, else those that made the newest second
        last = segment.summaries.get(segment.end - 1)
        compared = (
            (versions.production.version, versions.canary.version)
            if versions is not None
            else None
            if last is None
            else (last.production or 0, last.canary or 0)
        )
        usable = None if compared is None else self._usable(segment, *compared)
        ratios = self._ratios(segment, bands, usable) if usable and usable.usable else None
        return usable, ratios

    def _judge_canary(
        self,
        segment: Segment,
        versions: Versions,
        usable: SegmentCheck,
        ratios: dict[str, float] | None,
    ) -> Decision:
        """The decision on the canary (skip, reject, wait or promote; a promotion is asked
        of the exporter here)."""
        tracker = self.state.tracker
        production, canary = versions.production.version, versions.canary.version
        if not usable.usable or ratios is None:
            return tracker.skip(segment.end, production, canary, usable.describe())
        production_ratio = ratios["production"] if versions.production.info.trained else None
        fresh = self.ranges is not None and self.ranges.gps == segment.end
        veto = range_veto(self.ranges, self.settings.range_tolerance) if fresh else None
        decision = tracker.check(
            segment.end, production, canary, ratios["canary"], production_ratio, veto
        )
        if usable.used < segment.length:  # say which seconds the ratio is over
            decision = dataclasses.replace(
                decision, reason=f"{decision.reason}; {usable.describe()}"
            )
        if decision.verdict is Verdict.PROMOTE:
            decision = self._promote(decision)
        return decision

    def _conclude(self, segment: Segment, decision: Decision) -> Decision:
        """Attach the segment's BNS ranges, log, audit a rejection, record and save."""
        s = self.settings
        if self.ranges is not None and self.ranges.gps == segment.end:
            decision = dataclasses.replace(decision, ranges_mpc=self.ranges.by_series())
        log = logger.warning if decision.verdict in (Verdict.REJECT, Verdict.FAIL) else logger.info
        log("%s", decision.describe())
        if decision.verdict is Verdict.REJECT:
            audit_rejection(s.project_dir, str(s.ifo), decision)
        self.state.record_decision(decision)
        self.state.save()
        return decision

    def _promote(self, decision: Decision) -> Decision:
        answer = self.exporter.promote(
            decision.canary, promotion_evidence(decision, self.state.tracker.thresholds)
        )
        if answer is None:
            return dataclasses.replace(
                decision,
                reason=f"{decision.reason}; promotion request failed "
                f"({self.exporter.last_error}), retried at the next check",
            )
        self.state.tracker.promoted(decision.canary)
        logger.warning("promoted canary %d to production (exporter: %s)", decision.canary, answer)
        now = (
            {k: answer.get(k) for k in ("production", "canary")}
            if isinstance(answer, dict)
            else answer
        )
        return dataclasses.replace(decision, reason=f"promoted; exporter now serves {now}")

    def _usable(self, segment: Segment, production: int, canary: int) -> SegmentCheck:
        """The runs of seconds of ``segment`` usable to compare these versions (each run at
        least one FFT long), and whether they cover ``min_coverage`` of it."""
        s = self.settings
        return check_segment(
            segment.summaries,
            segment.end,
            segment.length,
            production,
            canary,
            min_coverage=s.min_coverage,
            min_run=math.ceil(s.asd_fftlength),
        )

    def _ratios(
        self, segment: Segment, bands: list[tuple[float, float]], usable: SegmentCheck
    ) -> dict[str, float]:
        """ASDs over the usable runs of the segment (drawn for the page) and their in-band
        ratios (recorded)."""
        s = self.settings
        freqs, asds = asd_over_runs(
            segment.stacked_runs(usable.runs), CLEANED_RATE_HZ, s.asd_fftlength, s.asd_average
        )
        by_name = {p: asds[i] for i, p in enumerate(SERIES)}
        raw = by_name[Product.RAW]
        ratios = {
            "production": band_ratio(by_name[Product.PRODUCTION], raw, freqs, bands),
            "canary": band_ratio(by_name[Product.CANARY], raw, freqs, bands),
            "out_dq": band_ratio(by_name[Product.OUT_DQ], raw, freqs, bands),
        }
        newest = segment.summaries[usable.runs[-1][1] - 1]  # a usable second: versions known
        production, canary = newest.production, newest.canary
        title = (
            f"GPS {segment.end - segment.length}-{segment.end}, {usable.used} of "
            f"{segment.length} s, {s.asd_fftlength:g} s FFT ({s.asd_average.value}); versions "
            f"production {production}, canary {canary}"
        )
        names = {
            Product.RAW: "raw",
            Product.PRODUCTION: "production",
            Product.CANARY: "canary",
            Product.OUT_DQ: "out_dq",
        }
        self.state.set_plots(
            segment.end,
            {"asd": asd_png(freqs, {names[p]: by_name[p] for p in SERIES}, bands, title)},
        )
        try:
            self.ranges = segment_ranges(segment.end, freqs, {names[p]: by_name[p] for p in SERIES})
        except ValueError as exc:  # a segment of zeros (warm-up) has no range
            logger.warning("no BNS range for the segment ending at GPS %d: %s", segment.end, exc)
            self.ranges = None
        self.state.record_ratio(
            RatioPoint(
                segment.end,
                production,
                canary,
                ratios["production"],
                ratios["canary"],
                ratios["out_dq"],
            )
        )
        if self.ranges is not None:
            self.state.ranges.record(self.ranges)
        return ratios


def _describe(model: ModelVersion) -> dict:
    return {"version": model.version, **model.info.to_json()}
