"""Microsoft Teams: Adaptive Cards for the core's messages, the app package, and the bot.

Only this package may import botbuilder; the card and package modules are plain dicts and files.
"""
