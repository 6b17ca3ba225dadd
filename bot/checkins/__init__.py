"""Check-ins: team schedules, the scheduler that sends them, their chat commands and CLI.

`extension.install(coach)` plugs the feature into the engine through its extension
interface; nothing in the core imports this package.
"""
