"""How tool calls run: what a tool is (spec), argument checking, the executor and its dispatcher."""
