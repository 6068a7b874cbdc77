"""The dashboard's bar charts, as geometry: to scale, stacked, labelled, and said in words."""

from datetime import date, timedelta

import pytest

from portal.partners.admin.charts import (
    HEIGHT,
    OTHERS_COLOR,
    PALETTE,
    Series,
    compact,
    daily_bar_chart,
    nice_scale,
)

BOTTOM_LINE = HEIGHT - 24  # the chart's baseline: HEIGHT less the room for the days' labels
DAYS = [date(2026, 11, 19) + timedelta(days=n) for n in range(14)]


@pytest.mark.parametrize(
    ("peak", "lines"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (2, [0, 1, 2]),
        (3, [0, 1, 2, 3]),
        (5, [0, 2, 4, 6]),
        (10, [0, 5, 10]),
        (37, [0, 10, 20, 30, 40]),
        (580, [0, 200, 400, 600]),
        (4321, [0, 2000, 4000, 6000]),
    ],
)
def test_the_scale_has_a_few_round_lines_just_above_the_busiest_day(peak, lines):
    drawn = chart({(DAYS[-1], "orders"): (peak, 0)})
    assert [tick.label for tick in drawn.y_ticks] == [compact(line) for line in lines]
    assert drawn.y_ticks[0].at == BOTTOM_LINE and drawn.y_ticks[-1].at == pytest.approx(10)  # the top margin
    assert nice_scale(peak)[0] == lines[-1]


@pytest.mark.parametrize(
    ("value", "label"), [(0, "0"), (950, "950"), (1000, "1k"), (1500, "1.5k"), (20_000, "20k"), (3_000_000, "3M")]
)
def test_the_scale_labels_fit_their_margin(value, label):
    assert compact(value) == label


def chart(values, series=None):
    series = series or [Series("orders", "Orders API", "/admin/orders/"), Series(None, "Other APIs")]
    return daily_bar_chart(chart_id="c", title="By API", days=DAYS, series=series, values=values)


def test_bars_stack_by_series_to_scale_with_denials_beside_them():
    today, yesterday = DAYS[-1], DAYS[-2]
    drawn = chart({(today, "orders"): (6, 1), (today, None): (4, 0), (yesterday, "orders"): (0, 5)})
    assert drawn.y_ticks[-1].label == "10"  # the busiest day: 10 issued, at the top
    by_title = {rect.title: rect for rect in drawn.rects}
    orders = by_title["Wed 2 Dec, Orders API: 6 tokens issued"]
    others = by_title["Wed 2 Dec, Other APIs: 4 tokens issued"]
    denied = by_title["Wed 2 Dec, Orders API: 1 request denied"]
    assert orders.y + orders.height == pytest.approx(BOTTOM_LINE)  # on the baseline
    assert others.y + others.height == pytest.approx(orders.y)  # stacked on top of it
    assert orders.height == pytest.approx(others.height * 6 / 4)
    assert denied.x > orders.x and denied.height == pytest.approx(orders.height / 6)
    assert (orders.fill, others.fill, denied.fill) == (PALETTE[0], OTHERS_COLOR, "url(#c-stripes-0)")
    assert "Tue 1 Dec, Orders API: 5 requests denied" in by_title
    assert len(drawn.rects) == 4  # nothing drawn for a zero


def test_the_chart_is_said_in_words():
    drawn = chart({(DAYS[-1], "orders"): (1, 0), (DAYS[0], None): (2, 3)})
    assert drawn.summary == "3 tokens issued and 3 requests denied in the last 14 days"
    orders, others = drawn.legend
    assert (orders.label, orders.url, orders.totals) == (
        "Orders API",
        "/admin/orders/",
        "1 token issued, 0 requests denied",
    )
    assert (others.label, others.url, others.totals) == ("Other APIs", None, "2 tokens issued, 3 requests denied")
    assert [(row.label, row.issued, row.denied) for row in drawn.rows][::13] == [
        ("Thu 19 Nov", 2, 3),
        ("Wed 2 Dec", 1, 0),
    ]


def test_every_other_day_is_named_today_always():
    labels = [tick.label for tick in chart({}).x_ticks]
    assert labels == ["20 Nov", "22", "24", "26", "28", "30", "2 Dec"]  # the month where it changes
    week = daily_bar_chart(chart_id="w", title="t", days=DAYS[-7:], series=[], values={})
    assert len(week.x_ticks) == 7


def test_an_empty_fortnight_draws_nothing():
    drawn = chart({})
    assert drawn.empty and drawn.rects == [] and drawn.issued == drawn.denied == 0
    assert [tick.label for tick in drawn.y_ticks] == ["0", "1"]
