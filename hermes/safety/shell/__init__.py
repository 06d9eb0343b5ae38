"""Shell-command analysis: parse, wrappers, per-program rules, git, sed, catastrophic patterns."""
