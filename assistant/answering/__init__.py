"""Answering: cited answers from retrieved sections (extractive by default, an LLM as an option) and the chain."""
