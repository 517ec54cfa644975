"""regwatch bot: retrieve -> answer and cite -> terminal or Slack; alerts and digests."""
