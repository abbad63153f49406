"""A/B experiments, sticky assignment, significance and kill-switches."""
