"""The service benchmark (issue 18): FastAPI on uvicorn, saturated on 127.0.0.1.

``app`` is the service under test (one variant per process: bare, ours with each
exporter, OpenLLMetry), ``sink`` a local OTLP/HTTP receiver, ``load`` the load
generator (Debian's ``wrk`` when installed, else a bounded asyncio client), ``driver``
runs them and judges the goals. ``python -m benchmarks.run --service-only --quick`` is
its smoke run; ``nox -s bench`` runs it after the microbenchmarks.
"""
