"""The doors to the coach: terminal, Slack and Microsoft Teams, one module each."""
