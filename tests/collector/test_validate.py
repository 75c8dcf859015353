"""`otelcol validate` accepts every shipped Collector config and rejects broken ones loudly.

The shipped configs template every address as `${env:NAME:-default}`; they validate with
the defaults (nothing set) and with the loopback values the other tests set. A broken
config (an undefined exporter in a pipeline, a bad duration, a YAML syntax error) fails
with a non-zero exit and the reason in the output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.collector._servers import MISSING_REASON, SHIPPED_CONFIGS, SKIP, validate

pytestmark = [pytest.mark.collector, pytest.mark.skipif(SKIP, reason=MISSING_REASON)]

MALFORMED = Path(__file__).with_name("malformed.yaml")


@pytest.mark.parametrize("name", sorted(SHIPPED_CONFIGS))
def test_shipped_config_validates_with_its_defaults(name: str) -> None:
    """Each shipped config, no variable set: `otelcol validate` exits 0."""
    result = validate(SHIPPED_CONFIGS[name])
    assert result.returncode == 0, result.stdout + result.stderr


def test_malformed_config_fails_with_the_reason() -> None:
    """The pipeline names an undefined exporter: exit 1, the exporter named in the error."""
    result = validate(MALFORMED)
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode != 0
    assert "otlp/tempo" in output


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("receivers: [otlp\n", "yaml"),
        (
            "receivers:\n  otlp:\n    protocols:\n      http:\n"
            "processors:\n  batch:\n    timeout: soon\n"
            "exporters:\n  debug_or_not:\n"
            "service:\n  pipelines:\n    traces:\n"
            "      receivers: [otlp]\n      processors: [batch]\n      exporters: [debug_or_not]\n",
            "debug_or_not",
        ),
    ],
    ids=["yaml-syntax", "unknown-exporter-type"],
)
def test_broken_configs_fail(tmp_path: Path, text: str, reason: str) -> None:
    """A YAML syntax error and an exporter type our distribution lacks both fail, named."""
    config = tmp_path / "broken.yaml"
    config.write_text(text, encoding="utf-8")
    result = validate(config)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert reason in output.lower(), output


def test_a_bad_env_value_fails_validation() -> None:
    """A templated value of the wrong shape (a port that is not a number) is rejected."""
    result = validate(SHIPPED_CONFIGS["collector"], {"COLLECTOR_TELEMETRY_PORT": "not-a-port"})
    assert result.returncode != 0
    assert "port" in (result.stdout + result.stderr).lower()
