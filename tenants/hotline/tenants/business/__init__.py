"""The business extension: enterprises, their users and service managers (docs/business.md)."""
