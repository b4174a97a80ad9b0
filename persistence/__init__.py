"""Batched writes of worker effects, committed with their stream offsets."""
