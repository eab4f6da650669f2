"""Ingestion: the source document parsed into citable sections, Japanese text handling, chunks."""
