"""Durable facts: the store, recall into the prompt, and the rule-based extractor."""
