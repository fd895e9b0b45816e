"""Runnable examples of agentmem-langchain (``python -m examples.market_hunter``)."""
