"""Evaluation: the Q&A dataset, metrics, the evaluator and its reports."""
