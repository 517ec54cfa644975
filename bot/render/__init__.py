"""Renderers: terminal text (rich) and Slack Block Kit."""
