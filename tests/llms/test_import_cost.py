"""``import langchain_otel.llms`` needs no OpenTelemetry SDK (issue 10, item 4)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# langsmith (imported by langchain-core) itself tries ``opentelemetry.sdk.trace`` at import
# time and falls back when it is missing, so the SDK is made unimportable for the check:
# whatever of ours still needs it then fails loudly.
_BLOCK_SDK = textwrap.dedent(
    """
    import importlib.abc, sys

    class BlockSDK(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "opentelemetry.sdk" or name.startswith("opentelemetry.sdk."):
                raise ImportError(f"blocked for the test: {name}")
            return None

    sys.meta_path.insert(0, BlockSDK())
    """
)


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", _BLOCK_SDK + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_llms_import_and_run_without_the_sdk() -> None:
    """The models import and answer with the SDK unimportable; no SDK module is loaded."""
    out = _run(
        """
        from langchain_otel.llms import EchoLLM, OpenAICompatibleLLM
        assert EchoLLM(n=2).invoke("hello") == "he"
        OpenAICompatibleLLM(base_url="http://127.0.0.1:1/v1", model="m").close()
        print(sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk")))
        """
    )
    assert out.strip() == "[]"


def test_the_package_face_loads_the_sdk_only_when_asked() -> None:
    """``import langchain_otel`` defers the SDK-backed names; using one imports them."""
    out = _run(
        """
        import langchain_otel
        print(langchain_otel.__version__ != "")
        print("langchain_otel.config" in sys.modules)
        try:
            langchain_otel.configure
        except ImportError:
            print("configure needs the SDK")
        """
    )
    assert out.split() == ["True", "False", "configure", "needs", "the", "SDK"]
