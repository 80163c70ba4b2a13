"""Notifications: who gets what for each ticket event (rules), templates, preferences,
webhook endpoints and in-app notices. Delivery goes through the platform outbox."""
