"""Bundled skills (package data): one folder per skill, each with a SKILL.md."""
