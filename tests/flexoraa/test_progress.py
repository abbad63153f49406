"""The reusable progress bar of long-running commands, driven with a fake clock."""

import io

import pytest

from flexoraa.progress import ProgressBar, format_duration


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_gets_one_line_per_tenth_of_the_work(clock):
    stream = io.StringIO()
    bar = ProgressBar(100, stream, "Importing", clock=clock)
    assert not bar.is_tty
    for done in range(1, 101):
        clock.now += 0.5
        bar.update(done)
    bar.finish()
    output = stream.getvalue()
    assert "\r" not in output
    printed = output.splitlines()
    assert len(printed) == 10
    assert printed[0].startswith("Importing [##----------------------] 10/100  10% 2.0/s ETA 0:45")
    assert printed[-1] == "Importing [########################] 100/100 100% 2.0/s in 0:50"


def test_a_jump_over_several_tenths_prints_one_line(clock):
    stream = io.StringIO()
    bar = ProgressBar(1000, stream, clock=clock)
    clock.now += 10
    bar.update(350)
    bar.update(351)
    assert stream.getvalue().splitlines() == [
        "[########----------------] 350/1,000  35% 35.0/s ETA 0:19"
    ]
    bar.finish()  # not complete: finish draws where it stopped
    assert stream.getvalue().splitlines()[-1].startswith("[########----------------] 351/1,000")


def test_a_terminal_redraws_one_line_in_place(clock):
    stream = Terminal()
    bar = ProgressBar(4, stream, "Rows", clock=clock)
    assert bar.is_tty
    for _ in range(4):
        clock.now += 1
        bar.advance()
    bar.finish()
    output = stream.getvalue()
    assert output.count("\n") == 1 and output.endswith("\n")
    frames = output.rstrip("\n").split("\r")[1:]
    assert frames[0] == "Rows [######------------------] 1/4  25% 1.0/s ETA 0:03"
    assert frames[-1] == "Rows [########################] 4/4 100% 1.0/s in 0:04"


def test_a_terminal_is_not_redrawn_more_than_ten_times_a_second(clock):
    stream = Terminal()
    bar = ProgressBar(1000, stream, clock=clock)
    for done in range(1, 500):
        clock.now += 0.001
        bar.update(done)
    assert stream.getvalue().count("\r") == 5  # 0.5 s of updates


def test_a_shorter_line_wipes_the_end_of_the_longer_one_before_it(clock):
    stream = Terminal()
    bar = ProgressBar(None, stream, clock=clock)
    clock.now += 1
    bar.update(123456)
    clock.now += 1000
    bar.update(123457)
    first, second = stream.getvalue().split("\r")[1:]
    assert len(second) >= len(first)
    assert second.rstrip() == "123,457 123.3/s ETA -"


def test_an_unknown_total_shows_the_count_and_the_rate(clock):
    stream = io.StringIO()
    bar = ProgressBar(None, stream, "Reading", clock=clock)
    clock.now += 4
    bar.update(10)
    assert stream.getvalue() == ""  # no tenths to print without a total
    bar.finish()
    assert stream.getvalue() == "Reading 10 2.5/s in 0:04\n"


def test_an_empty_job_finishes_at_100_percent(clock):
    stream = io.StringIO()
    with ProgressBar(0, stream, clock=clock):
        pass
    assert stream.getvalue() == "[########################] 0/0 100% -/s in 0:00\n"


def test_finishing_twice_draws_once_and_later_updates_are_ignored(clock):
    stream = io.StringIO()
    bar = ProgressBar(2, stream, clock=clock)
    bar.update(2)
    bar.finish()
    bar.finish()
    bar.update(5)
    assert len(stream.getvalue().splitlines()) == 1


def test_counting_past_the_total_keeps_the_bar_full(clock):
    bar = ProgressBar(10, io.StringIO(), clock=clock)
    bar.update(12)
    assert "12/10 100%" in bar.render()


def test_durations_read_like_a_clock():
    assert [format_duration(s) for s in (0, 7.4, 205, 3723)] == ["0:00", "0:07", "3:25",
                                                                 "1:02:03"]
