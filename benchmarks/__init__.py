"""langchain-otel's benchmarks: our overhead side by side with the peers (issue 6).

Run ``python -m benchmarks.run --help`` from the repository root, or ``nox -s bench``.
"""
