"""One session's life: Engine, SessionState, the turn loop, tool calls, resume, memory and checkpoint hooks, start-up."""
