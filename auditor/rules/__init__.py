"""Rule sets (data) and the engine that runs them over all proposals at once."""
