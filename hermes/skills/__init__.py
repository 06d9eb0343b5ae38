"""Skills: the catalog (discover, index) and the skill tools the model calls."""
