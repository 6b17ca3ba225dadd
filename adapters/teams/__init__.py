"""Coffee Coach in Microsoft Teams, on botbuilder.

Pure converters (`activities`: an activity to `Incoming`; `cards`: replies to Adaptive
Cards) apart from the I/O (`door`: the HTTP handler, the turn and the proactive Sender;
`delivery`: paced, retried sends; `connector`: the Bot Connector's REST API over one shared
aiohttp session, with one token client per app id and one connector client per service URL).
botbuilder authenticates the inbound request and parses the activity; the rest is ours.
`names` holds the door's limits and fixed texts; `app_package` writes the app package to
upload. `door.mount()` is what the composition root calls.
"""
