"""The shadow git repository behind undo: objects, packs, git environment, records, restore, operations."""
