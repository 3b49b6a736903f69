"""How well confidence foretold the outcome: at a cycle's end, each owner's and each team's
weekly confidence scored against where their key results ended.

A sample is one key result's confidence in one ISO week: the latest confidence reported that
week (`weekly_confidences`). Its error is (confidence/10 − final score)², the final score being
the key result's progress at the cycle's end (0..1, as the digest computes it; an input here).
A subject's Brier score is the mean error over all its samples: 0 is perfect foresight, 0.25
what always saying 5 scores on a coin flip, 1 the worst.

The verdict compares the averages over the same samples (a key result weighs by its number of
weekly samples, so the gap is the mean of confidence/10 − final score):

- over-confident when the average confidence/10 exceeds the final score by more than 0.15,
- under-confident when it falls short by more than 0.15,
- well calibrated otherwise (a gap of exactly 0.15 included).

Pure (the standard library and `rhythm.records` only). Who may see what (an owner's
calibration is for their team's leads) is the caller's business: this module only computes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, timedelta, tzinfo
from enum import StrEnum
from math import fsum

from rhythm.records import KrPoint

# How far average confidence (on a 0..1 scale) may stray from the final score and still be
# called well calibrated.
CALIBRATION_MARGIN = 0.15


class Verdict(StrEnum):
    OVER_CONFIDENT = "over-confident"
    UNDER_CONFIDENT = "under-confident"
    WELL_CALIBRATED = "well calibrated"


@dataclass(frozen=True, slots=True)
class Calibration:
    """One subject's (an owner's email, a team's key) calibration over a cycle."""

    subject: str
    name: str
    brier: float
    mean_confidence: float  # 0..10
    final_score: float  # 0..1, averaged over the same samples
    samples: int
    verdict: Verdict

    @property
    def sentence(self) -> str:
        """ "Platform was over-confident: average confidence 7.5, final score 0.35 (Brier
        0.18)"."""
        return (
            f"{self.name} was {self.verdict.value}: average confidence "
            f"{self.mean_confidence:.1f}, final score {self.final_score:.2f} "
            f"(Brier {self.brier:.2f})"
        )


def week_of(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def weekly_confidences(points: Iterable[KrPoint], *, tz: tzinfo = UTC) -> list[int]:
    """One key result's samples: per ISO week (in `tz`) the latest confidence reported in it,
    oldest week first. Points without a confidence are skipped; a later point of the same
    week replaces an earlier one (points come oldest first, as `kr_series` returns them)."""
    latest: dict[date, int] = {}
    for point in points:
        if point.confidence is not None:
            latest[week_of(point.at.astimezone(tz).date())] = point.confidence
    return [latest[week] for week in sorted(latest)]


def verdict(mean_confidence: float, final_score: float) -> Verdict:
    """The verdict for an average confidence (0..10) against a final score (0..1)."""
    # Rounded, so that a gap meant to be exactly the margin (0.65 − 0.5) is not pushed over
    # it by floating point.
    gap = round(mean_confidence / 10 - final_score, 9)
    if gap > CALIBRATION_MARGIN:
        return Verdict.OVER_CONFIDENT
    if gap < -CALIBRATION_MARGIN:
        return Verdict.UNDER_CONFIDENT
    return Verdict.WELL_CALIBRATED


def calibrate(subject: str, name: str, samples: Iterable[tuple[int, float]]) -> Calibration | None:
    """One subject's calibration from its (confidence 0..10, final score 0..1) samples; None
    without any."""
    pairs = list(samples)
    if not pairs:
        return None
    n = len(pairs)
    brier = fsum((confidence / 10 - final) ** 2 for confidence, final in pairs) / n
    mean_confidence = fsum(confidence for confidence, _ in pairs) / n
    final_score = fsum(final for _, final in pairs) / n
    return Calibration(
        subject, name, brier, mean_confidence, final_score, n,
        verdict(mean_confidence, final_score),
    )  # fmt: skip


def calibrate_by(
    points_by_kr: Mapping[str, Sequence[KrPoint]],
    subject_of_kr: Mapping[str, str | None],
    final_scores: Mapping[str, float],
    names: Mapping[str, str],
    *,
    tz: tzinfo = UTC,
) -> list[Calibration]:
    """Every subject's calibration over the key results `subject_of_kr` gives it, sorted by
    name. A key result counts when it has a subject, a final score and at least one weekly
    confidence; a subject without any such key result is absent. Names default to the key."""
    samples: dict[str, list[tuple[int, float]]] = {}
    for kr, subject in subject_of_kr.items():
        final = final_scores.get(kr)
        if subject is None or final is None:
            continue
        confidences = weekly_confidences(points_by_kr.get(kr, ()), tz=tz)
        if confidences:
            samples.setdefault(subject, []).extend((c, final) for c in confidences)
    found = [
        c
        for subject, pairs in samples.items()
        if (c := calibrate(subject, names.get(subject, subject), pairs)) is not None
    ]
    return sorted(found, key=lambda c: (c.name.lower(), c.subject))
