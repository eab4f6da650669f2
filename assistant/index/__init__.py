"""Index: embeddings (cached by text hash), the Chroma and BM25 stores, and the build lifecycle."""
