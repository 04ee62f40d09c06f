"""What every process of Estafeta shares: settings, task payloads, the command grammar, Slack
escaping, storage helpers and the `estafeta` command line."""
