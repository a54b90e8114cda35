"""Microsoft Teams adapter (botbuilder CloudAdapter); every botbuilder import stays in this package."""
