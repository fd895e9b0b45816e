"""The import paths from before the packages still work for a release, with a DeprecationWarning."""

from __future__ import annotations

import importlib
import sys

import pytest


@pytest.mark.parametrize(
    ("old", "new", "names"),
    [
        (
            "agentmem_langchain.aws",
            "agentmem_langchain.stores.dynamodb.client",
            ["DynamoDBClientManager", "Usage", "UsageLine", "get_client_manager", "translated"],
        ),
        (
            "agentmem_langchain.stores.dynamodb_schema",
            "agentmem_langchain.stores.dynamodb.schema",
            ["TABLES", "TableNames", "decision_item", "item_size", "n", "delete_all_tables"],
        ),
        ("agentmem_langchain.iam", "agentmem_langchain.stores.dynamodb.iam", ["iam_policy"]),
        ("agentmem_langchain.cost", "agentmem_langchain.analytics.cost", ["CostEstimate"]),
        (
            "agentmem_langchain.cloudwatch",
            "agentmem_langchain.analytics.cloudwatch",
            ["CloudWatchExporter", "create_dashboard"],
        ),
        ("agentmem_langchain.analytics_plots", "agentmem_langchain.analytics.plots", []),
        (
            "agentmem_langchain.callbacks",
            "agentmem_langchain.langchain",
            ["AgentMemoryCallbackHandler", "instrument", "uninstrument", "default_memory"],
        ),
        ("agentmem_langchain.retriever", "agentmem_langchain.langchain.retriever", []),
    ],
)
def test_old_path_warns_and_gives_the_same_objects(
    monkeypatch: pytest.MonkeyPatch, old: str, new: str, names: list[str]
) -> None:
    monkeypatch.delitem(sys.modules, old, raising=False)  # warn again if imported earlier
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    current = importlib.import_module(new)
    assert set(module.__all__) >= set(names)
    for name in [*names, *module.__all__]:
        assert getattr(module, name) is getattr(current, name)
