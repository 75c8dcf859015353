"""An ended span's collections, read without the copies the SDK's properties make.

Our encoders read every field of every span once, and ``ReadableSpan``'s public properties
copy on each read: ``attributes`` wraps the ``BoundedAttributes`` in a ``MappingProxyType``
(whose ``items()`` then steps through Python's ``ItemsView``, one ``__getitem__`` per
attribute), ``events`` and ``links`` build a tuple through ``BoundedList.__iter__`` (a lock
and a list copy), and each ``dropped_*`` property runs an ``isinstance``. On a model span
that is about a quarter of the protobuf encoder's instructions.

:func:`span_collections` reads the underlying dict and deques when the span is exactly the
SDK's ``ReadableSpan`` holding exactly the SDK's ``BoundedAttributes`` and ``BoundedList``
(what ``Span.end()`` hands every processor), and goes through the public properties for
anything else: a subclass, a span built by hand with a plain dict, another SDK's span. Both
give the same values (``tests/test_export_span_fields.py``); a span is immutable once ended,
so reading its containers needs no lock.

Example:
    >>> from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    >>> class Keep(SpanProcessor):
    ...     def on_end(self, span): self.span = span
    >>> keep = Keep()
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(keep)
    >>> provider.get_tracer("doc").start_span("hi", attributes={"n": 2}).end()
    >>> attributes, dropped, events, *_ = span_collections(keep.span)
    >>> dict(attributes), dropped, list(events)
    ({'n': 2}, 0, [])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util import BoundedList

__all__ = ["SpanCollections", "span_collections"]

SpanCollections = tuple[Mapping[str, Any], int, Sequence[Any], int, Sequence[Any], int]
"""``(attributes, dropped_attributes, events, dropped_events, links, dropped_links)``."""


def span_collections(span: ReadableSpan) -> SpanCollections:
    """A span's attributes, events and links, each with its dropped count."""
    if type(span) is ReadableSpan:  # the SDK's private fields, read only, exact types only
        attributes = span._attributes
        events = span._events
        links = span._links
        if (
            type(attributes) is BoundedAttributes
            and type(events) is BoundedList
            and type(links) is BoundedList
        ):
            return (
                attributes._dict,
                attributes.dropped,
                cast("Any", events)._dq,
                events.dropped,
                cast("Any", links)._dq,
                links.dropped,
            )
    return (
        span.attributes or {},
        span.dropped_attributes,
        span.events,
        span.dropped_events,
        span.links,
        span.dropped_links,
    )
