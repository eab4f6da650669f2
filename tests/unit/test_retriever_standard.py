"""LangChain's standard retriever tests (langchain-tests) on the real retriever over the real index."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.retrieval import HybridRetriever


class TestHybridRetrieverStandard(RetrieversIntegrationTests):
    params: ClassVar[dict[str, Any]] = {}

    @pytest.fixture(autouse=True)
    def _real_index(self, service):
        type(self).params = {
            "index": service.index,
            "embeddings": service.embeddings,
            "tokenizer": service.tokenizer,
            "documents": service.documents,
        }

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return self.params

    @property
    def retriever_query_example(self) -> str:
        return "後援名義を使わせてはいけないのはどんな場合？"
