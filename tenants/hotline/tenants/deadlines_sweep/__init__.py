"""Deadline sweeps: due-soon warnings, overdue supervision and its escalation."""
