"""Intake channels: one pipeline for every door (docs/channels.md)."""
