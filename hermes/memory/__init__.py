"""What the agent remembers: the context budget, compaction (summary and folding), durable facts."""
