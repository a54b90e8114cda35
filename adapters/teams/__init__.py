"""Microsoft Teams adapter (Microsoft 365 Agents SDK CloudAdapter); every SDK import stays in this package."""
