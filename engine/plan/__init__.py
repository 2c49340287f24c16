"""Stage 3, plan: the dependency graph and the one immutable, content-hashed Plan (model.py)."""
