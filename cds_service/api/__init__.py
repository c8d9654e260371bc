"""One blueprint per endpoint group: discovery, hooks, feedback, health (and metrics)."""
