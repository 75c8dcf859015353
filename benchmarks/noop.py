"""The do-nothing handler: what LangChain's callback dispatch alone costs.

One class for both places it is measured: the workloads' ``noop`` candidate passes it in
each run's ``config`` (``candidates.py``), the service's ``noop`` variant adds it to every
run through a configure hook, as ``instrument()`` adds ours (``service/app.py``).
"""

from __future__ import annotations

from langchain_core.callbacks import BaseCallbackHandler

__all__ = ["NoopHandler"]


class NoopHandler(BaseCallbackHandler):
    """Does nothing, inline: what LangChain's dispatch alone costs.

    Example::

        chain.invoke(inputs, config={"callbacks": [NoopHandler()]})
    """

    run_inline = True
