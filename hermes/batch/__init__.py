"""Many headless sessions: tasks, workspaces, one task run, results, progress, local and Ray runners."""
