"""Coffee Coach in Slack, on slack-bolt.

Pure converters (`blocks`, `payloads`, `home`) apart from the I/O (`door`: the bolt app,
its listeners and the proactive Sender; `queue`: ordered background work; `installations`:
OAuth's store). `names` holds the app's command, scopes, action ids and Slack's limits.
`door.mount()` is what the composition root calls.
"""
