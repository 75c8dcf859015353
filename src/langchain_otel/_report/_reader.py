"""Read the embedded default's ``traces.jsonl`` files into spans, whatever is in them.

Every line is one OTLP JSON ``ExportTraceServiceRequest``. A line that is not UTF-8, not
JSON, or not shaped like that request is *unreadable*: skipped and counted, never raised.
Inside a readable line, a span without a start time is skipped and counted too; a
malformed attribute is dropped from its span. Nothing in a file can make
:func:`load_report` raise anything but ``OSError`` (``FileNotFoundError`` when there is no
file at all).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_otel.callbacks import _semconv as sc

__all__ = ["MODEL_OPERATIONS", "Report", "SpanRecord", "TraceSpan", "load_report"]

MODEL_OPERATIONS = frozenset(
    {sc.OPERATION_CHAT, sc.OPERATION_TEXT_COMPLETION, sc.OPERATION_GENERATE_CONTENT}
)
_STATUS_ERROR = 2  # OTLP StatusCode.STATUS_CODE_ERROR
_MAX_DEPTH = 32  # array attributes nested deeper than this are dropped


@dataclass(frozen=True)
class SpanRecord:
    """One model span as the per-model table needs it."""

    model: str
    start_s: float
    duration_s: float
    outcome: str
    ttft_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    error_type: str | None = None
    provider: str | None = None
    trace_id: str = ""
    span_id: str = ""


@dataclass(frozen=True)
class TraceSpan:
    """Any span of the files (model, chain, tool, the application's own), for the waterfalls."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_ns: int
    end_ns: int
    outcome: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    status_message: str = ""

    @property
    def duration_s(self) -> float:
        """Seconds from start to end."""
        return (self.end_ns - self.start_ns) / 1e9

    @property
    def operation(self) -> str | None:
        """``gen_ai.operation.name``, when the span has one."""
        value = self.attributes.get(sc.GEN_AI_OPERATION_NAME)
        return value if isinstance(value, str) else None

    @property
    def is_model(self) -> bool:
        """A model call (chat, text completion)."""
        return self.operation in MODEL_OPERATIONS


@dataclass
class Report:
    """What :func:`load_report` found: the spans, plus what it had to skip."""

    directory: Path
    records: list[SpanRecord]
    files: list[Path]
    skipped_lines: int = 0
    other_spans: int = 0
    spans: list[TraceSpan] = field(default_factory=list)


# -- tolerant field access ---------------------------------------------------------------


def _int(value: Any) -> int | None:
    """An OTLP 64-bit integer (a JSON number or a decimal string), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _timestamp(value: Any) -> int | None:
    """Nanoseconds since the epoch, when ``value`` is a plausible unsigned 64-bit one."""
    ns = _int(value)
    return ns if ns is not None and 0 <= ns < 2**64 else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    return (item for item in _list(value) if isinstance(item, dict))


def _double(value: Any) -> float | None:
    return _number(_float(value) if isinstance(value, str) else value)


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _value(any_value: Any, depth: int = 0) -> Any:
    """The Python value of an OTLP ``AnyValue`` (``None`` when it is not one)."""
    if not isinstance(any_value, dict) or depth > _MAX_DEPTH:
        return None
    if "arrayValue" in any_value:
        array = any_value["arrayValue"]
        values = _list(array.get("values")) if isinstance(array, dict) else []
        return [_value(v, depth + 1) for v in values]
    for key, convert in _SCALARS:
        if key in any_value:
            return convert(any_value[key])
    return None


_SCALARS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("stringValue", lambda v: v if isinstance(v, str) else None),
    ("intValue", _int),
    ("doubleValue", _double),
    ("boolValue", lambda v: v if isinstance(v, bool) else None),
)


def _attributes(raw: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for item in _dicts(raw):
        key = item.get("key")
        value = _value(item.get("value"))
        if isinstance(key, str) and value is not None:
            attributes[key] = value
    return attributes


def _outcome(attributes: Mapping[str, Any], status_code: int | None) -> str:
    outcome = attributes.get(sc.OUTCOME)
    if isinstance(outcome, str) and outcome:
        return outcome
    if status_code == _STATUS_ERROR or attributes.get(sc.ERROR_TYPE):
        return sc.OUTCOME_ERROR
    return sc.OUTCOME_OK


def parse_span(raw: Any) -> TraceSpan | None:
    """A :class:`TraceSpan` from one OTLP JSON span, or ``None`` when it cannot be one.

    Example:
        >>> span = parse_span({"traceId": "ab", "spanId": "01", "name": "x",
        ...                    "startTimeUnixNano": "1000", "endTimeUnixNano": "3000"})
        >>> span.name, span.end_ns - span.start_ns, span.outcome
        ('x', 2000, 'ok')
        >>> parse_span({"spanId": "01", "name": "no start time"}) is None
        True
    """
    if not isinstance(raw, dict):
        return None
    start = _timestamp(raw.get("startTimeUnixNano"))
    if start is None:
        return None
    end = _timestamp(raw.get("endTimeUnixNano"))
    end = start if end is None or end < start else end
    trace_id, span_id = raw.get("traceId"), raw.get("spanId")
    parent = raw.get("parentSpanId")
    status: dict[str, Any] = raw["status"] if isinstance(raw.get("status"), dict) else {}
    message = status.get("message")
    attributes = _attributes(raw.get("attributes"))
    name = raw.get("name")
    return TraceSpan(
        trace_id=trace_id if isinstance(trace_id, str) else "",
        span_id=span_id if isinstance(span_id, str) else "",
        parent_id=parent if isinstance(parent, str) and parent else None,
        name=name if isinstance(name, str) else "(unnamed)",
        start_ns=start,
        end_ns=end,
        outcome=_outcome(attributes, _int(status.get("code"))),
        attributes=attributes,
        status_message=message if isinstance(message, str) else "",
    )


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int | float) and value != "" else None


def model_record(span: TraceSpan) -> SpanRecord:
    """The per-model table's view of a model span."""
    attributes = span.attributes
    model = _text(attributes.get(sc.GEN_AI_REQUEST_MODEL)) or _text(
        attributes.get(sc.GEN_AI_RESPONSE_MODEL)
    )
    return SpanRecord(
        model=model or "unknown",
        start_s=span.start_ns / 1e9,
        duration_s=span.duration_s,
        outcome=span.outcome,
        ttft_s=_number(attributes.get(sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)),
        input_tokens=max(0, _int(attributes.get(sc.GEN_AI_USAGE_INPUT_TOKENS)) or 0),
        output_tokens=max(0, _int(attributes.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)) or 0),
        cost_usd=_number(attributes.get(sc.COST_TOTAL)),
        error_type=_text(attributes.get(sc.ERROR_TYPE)),
        provider=_text(attributes.get(sc.GEN_AI_PROVIDER_NAME)),
        trace_id=span.trace_id,
        span_id=span.span_id,
    )


# -- files -------------------------------------------------------------------------------


def _trace_files(directory: Path) -> list[Path]:
    backups = sorted(
        (p for p in directory.glob("traces.jsonl.*") if p.suffix[1:].isdigit()),
        key=lambda p: int(p.suffix[1:]),
        reverse=True,
    )
    live = directory / "traces.jsonl"
    return backups + ([live] if live.exists() else [])


def _spans_of(line: bytes) -> list[Any] | None:
    """The raw spans of one line, or ``None`` when the line is unreadable."""
    try:
        request = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(request, dict) or not isinstance(request.get("resourceSpans"), list):
        return None
    return [
        span
        for resource in _dicts(request["resourceSpans"])
        for scope in _dicts(resource.get("scopeSpans"))
        for span in _list(scope.get("spans"))
    ]


def _read(path: Path, report: Report) -> None:
    with path.open("rb") as lines:
        for line in lines:
            if not line.strip():
                continue
            raw_spans = _spans_of(line)
            if raw_spans is None:
                report.skipped_lines += 1
                continue
            for raw in raw_spans:
                span = parse_span(raw)
                if span is None:
                    report.skipped_lines += 1
                elif span.is_model:
                    report.spans.append(span)
                    report.records.append(model_record(span))
                else:
                    report.spans.append(span)
                    report.other_spans += 1


def load_report(directory: Path) -> Report:
    """Read the spans of ``directory``'s ``traces.jsonl`` (and rotated backups, oldest first).

    Unreadable lines (not UTF-8, not JSON, not an OTLP trace request) and spans without a
    start time are skipped and counted in ``Report.skipped_lines``.

    Raises:
        FileNotFoundError: There is no ``traces.jsonl`` in ``directory``.
        OSError: A file cannot be read.

    Example:
        >>> import tempfile, pathlib
        >>> load_report(pathlib.Path(tempfile.mkdtemp()))
        Traceback (most recent call last):
        ...
        FileNotFoundError: no traces.jsonl in ...
    """
    directory = Path(directory)
    files = _trace_files(directory)
    if not files:
        raise FileNotFoundError(f"no traces.jsonl in {directory}")
    report = Report(directory=directory, records=[], files=files)
    for path in files:
        _read(path, report)
    report.records.sort(key=lambda r: r.start_s)
    report.spans.sort(key=lambda s: s.start_ns)
    return report
