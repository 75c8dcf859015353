"""``python -m langchain_otel``: the same as the ``langchain-otel`` command."""

from __future__ import annotations

import sys

from langchain_otel._cli import main

sys.exit(main())
