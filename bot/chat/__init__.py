"""Where people talk to the bot: the entry point, commands, buttons and forms, the views they see."""
