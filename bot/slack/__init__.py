"""The Slack bot: answers in threads, `/regwatch`, alerts and digests (entry points in bot.slack.cli)."""
