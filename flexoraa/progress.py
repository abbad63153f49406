"""A small progress bar for long-running commands (imports, backfills).

It shows the label, a bar, count/total, percent, rate per second and the time left. On a
terminal it redraws one line in place (carriage return); written to a log (a pipe or a
file) it prints a line each time another tenth of the work is done, so logs stay short and
readable. It writes only to the stream it is given, typically stderr, so a command's
summary on stdout stays clean for scripts.

    with ProgressBar(total, sys.stderr, "Importing leads") as bar:
        for row in rows:
            ...
            bar.advance()
"""

import time
from collections.abc import Callable
from typing import TextIO

# Redrawing a terminal line more often than this only burns CPU on a fast loop.
REDRAW_INTERVAL_SECONDS = 0.1


def _is_tty(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    if isatty is None:
        return False
    try:
        return bool(isatty())
    except (ValueError, OSError):  # a closed or detached stream
        return False


def format_duration(seconds: float) -> str:
    """0:07, 3:25, 1:02:03."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """Progress of ``total`` steps written to ``stream``.

    ``total`` may be None when it is not known: the line then shows the count and the rate.
    ``is_tty`` overrides the detection (tests, or a caller that knows better), and ``clock``
    is the monotonic clock in seconds.
    """

    def __init__(
        self,
        total: int | None,
        stream: TextIO,
        label: str = "",
        *,
        width: int = 24,
        is_tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total = None if total is None else max(0, int(total))
        self.stream = stream
        self.label = label
        self.width = width
        self.is_tty = _is_tty(stream) if is_tty is None else is_tty
        self._clock = clock
        self._started = clock()
        self._done = 0
        self._last_redraw: float | None = None
        self._drawn_length = 0
        self._tenths_printed = 0
        self._finished = False

    @property
    def done(self) -> int:
        return self._done

    def advance(self, steps: int = 1) -> None:
        self.update(self._done + steps)

    def update(self, done: int) -> None:
        """Set how many steps are done (absolute, so it can be handed out as a callback)."""
        if self._finished:
            return
        self._done = max(0, int(done))
        if self.is_tty:
            now = self._clock()
            if (self._last_redraw is None
                    or now - self._last_redraw >= REDRAW_INTERVAL_SECONDS
                    or self._complete()):
                self._redraw(now)
            return
        if self.total:
            tenths = min(10, self._done * 10 // self.total)
            if tenths > self._tenths_printed:
                self._tenths_printed = tenths
                self._print_line(self._clock())

    def finish(self) -> None:
        """Draw the final state and end the line. Calling it again does nothing."""
        if self._finished:
            return
        now = self._clock()
        if self.is_tty:
            self._redraw(now, final=True)
            self.stream.write("\n")
        elif not (self.total and self._tenths_printed == 10):
            self._print_line(now, final=True)
        self._finished = True
        self._flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.finish()

    def render(self, now: float | None = None, *, final: bool = False) -> str:
        """The progress line as text, without any line ending."""
        now = self._clock() if now is None else now
        elapsed = max(0.0, now - self._started)
        rate = self._done / elapsed if elapsed > 0 else None
        parts = [self.label] if self.label else []
        if self.total is not None:
            fraction = 1.0 if self.total == 0 else min(1.0, self._done / self.total)
            filled = round(fraction * self.width)
            parts.append("[" + "#" * filled + "-" * (self.width - filled) + "]")
            parts.append(f"{self._done:,}/{self.total:,}")
            parts.append(f"{fraction * 100:3.0f}%")
        else:
            parts.append(f"{self._done:,}")
        parts.append(f"{rate:,.1f}/s" if rate is not None else "-/s")
        if final or self._complete():
            parts.append(f"in {format_duration(elapsed)}")
        elif self.total is not None and rate:
            parts.append(f"ETA {format_duration((self.total - self._done) / rate)}")
        else:
            parts.append("ETA -")
        return " ".join(parts)

    def _complete(self) -> bool:
        return self.total is not None and self._done >= self.total

    def _redraw(self, now: float, *, final: bool = False) -> None:
        line = self.render(now, final=final)
        # Pad over the end of a longer previous line instead of relying on ANSI codes.
        padding = " " * max(0, self._drawn_length - len(line))
        self.stream.write("\r" + line + padding)
        self._drawn_length = len(line)
        self._last_redraw = now
        self._flush()

    def _print_line(self, now: float, *, final: bool = False) -> None:
        self.stream.write(self.render(now, final=final) + "\n")
        self._flush()

    def _flush(self) -> None:
        flush = getattr(self.stream, "flush", None)
        if flush is not None:
            flush()
