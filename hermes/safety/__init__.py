"""Is a call safe and who must approve it: classification, approval policy, rules saved to config."""
