"""The Slack adapter: Block Kit rendering of the core's messages, the check-in modal, App Home,
the app manifest, and the bolt app with its Web API gateway. Only this package imports
slack_bolt and slack_sdk."""
