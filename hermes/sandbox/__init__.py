"""The OS sandbox commands and stdio MCP servers run in: policy, backends (bubblewrap, Landlock, none), detection, and what a blocked command ran into."""
