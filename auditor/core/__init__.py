"""Records shared by every stage: findings, results, configuration, errors."""
