"""Meter providers no reader can ever read: where the handler records no points.

An SDK ``MeterProvider`` takes its metric readers when it is built, and never after.
``configure()`` with no metric exporter (``metrics_exporter="none"``, or ``exporter="none"``)
still builds and installs one, so that the app's own instruments get an SDK provider as
with any other setting; it registers that provider here (:func:`register`). A point
recorded on it can never be collected, yet the SDK validates and copies its attributes on
every record (≈ 10 µs per point here, ``docs/performance.md``). The handler asks
:func:`points_meter_provider` for the provider it records its points on, and gets a no-op
one for a registered provider: nothing a reader could see changes, and the CPU goes.

Only providers registered here are treated so; any other provider, a user's own
``MeterProvider(metric_readers=[])`` included, is used as given.

Example:
    >>> from opentelemetry.sdk.metrics import MeterProvider
    >>> unread = MeterProvider()
    >>> register(unread)
    >>> type(points_meter_provider(unread)).__name__
    'NoOpMeterProvider'
    >>> other = MeterProvider()
    >>> points_meter_provider(other) is other
    True
"""

from __future__ import annotations

import weakref

from opentelemetry import metrics
from opentelemetry.metrics import MeterProvider, NoOpMeterProvider

__all__ = ["points_meter_provider", "register"]

_UNREAD: weakref.WeakSet[MeterProvider] = weakref.WeakSet()
_NO_OP = NoOpMeterProvider()


def register(provider: MeterProvider) -> None:
    """Mark ``provider`` as one that no reader can ever read (it was built with none)."""
    _UNREAD.add(provider)


def points_meter_provider(provider: MeterProvider | None) -> MeterProvider | None:
    """The provider to record points on: a no-op one for a registered ``provider``.

    ``None`` stands for the global provider, as in ``metrics.get_meter``; it is looked up
    now, and stays ``None`` (the global, followed as it changes) unless it is registered.
    """
    resolved = metrics.get_meter_provider() if provider is None else provider
    if resolved in _UNREAD:
        return _NO_OP
    return provider
