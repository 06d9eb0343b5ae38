"""What the model is told at start: the system prompt and AGENTS.md instructions."""
