"""Everything a person looks at; each front end drives the engine only through ops and events."""
