"""Bar charts as plain geometry for an inline <svg> in a template: no JavaScript, nothing
fetched from elsewhere, and every label goes through the template's escaping."""
from dataclasses import dataclass
from datetime import datetime, tzinfo


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str  # centred under the bar, or "" to leave it out
    title: str  # the tooltip and the accessible text

    @property
    def center(self) -> float:
        return round(self.x + self.width / 2, 2)


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    top: int
    baseline: float
    left: int
    maximum: int
    bars: list[Bar]

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)


def bar_chart(*, values: list[int], labels: list[str], titles: list[str], width: int = 640, height: int = 170,
              label_every: int = 1) -> BarChart:
    left, top, bottom = 34, 12, 22
    plot_height = height - top - bottom
    maximum = max(values, default=0)
    slot = (width - left) / max(1, len(values))
    gap = min(4.0, slot * 0.2)
    bars = []
    for index, (value, label, title) in enumerate(zip(values, labels, titles)):
        bar_height = plot_height * value / maximum if maximum else 0
        bars.append(Bar(
            x=round(left + index * slot + gap / 2, 2),
            y=round(top + plot_height - bar_height, 2),
            width=round(slot - gap, 2),
            height=round(bar_height, 2),
            value=value,
            label=label if index % label_every == 0 else "",
            title=f"{title}: {value}",
        ))
    return BarChart(width=width, height=height, top=top, baseline=top + plot_height, left=left, maximum=maximum, bars=bars)


def lateness_chart(histogram: list[dict]) -> BarChart:
    """The lateness histogram from selectors.lateness_histogram."""
    return bar_chart(
        values=[bucket["count"] for bucket in histogram],
        labels=[bucket["label"] for bucket in histogram],
        titles=[f"{bucket['range']} late" for bucket in histogram],
    )


def per_minute_chart(per_minute: list[tuple[datetime, int]], *, zone: tzinfo) -> BarChart:
    """Posts per minute from selectors.published_per_minute, minutes labelled in zone."""
    minutes = [f"{minute.astimezone(zone):%H:%M}" for minute, _ in per_minute]
    return bar_chart(values=[count for _, count in per_minute], labels=minutes, titles=minutes, label_every=10)
