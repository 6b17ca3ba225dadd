"""The app's names and Slack's limits: its command, scopes, events, action ids, block sizes."""

from __future__ import annotations

PLATFORM = "slack"
COMMAND = "/coffee"
DEFAULT_API_URL = "https://slack.com/api/"
# The bot scopes the code needs, each for a reason; manifest.yml declares exactly these.
BOT_SCOPES: dict[str, str] = {
    "commands": "the /coffee slash command",
    "chat:write": "chat.postMessage, chat.update and chat.postEphemeral",
    "chat:write.public": "reports in a team's public channel without inviting the bot first",
    "im:history": "message.im events: answers typed in the DM, and their edits",
    "im:write": "conversations.open, to find a member's DM with the app",
    "users:read": "users.info: members' names and time zones",
    "channels:read": "conversations.info: channel names for channels mentioned in answers",
    "mpim:read": "conversations.members: a group DM's members, to name it after them",
    "files:write": "files.getUploadURLExternal and files.completeUploadExternal (export)",
}
BOT_EVENTS = ("app_home_opened", "app_uninstalled", "message.im", "tokens_revoked")

# Every `/coffee` subcommand, as `usage_hint` in manifest.yml and docs/slack.md list them.
SUBCOMMANDS = (
    "start",
    "help",
    "status",
    "team",
    "report",
    "export md|json|csv",
    "skip",
    "back",
    "edit <n>",
    "pause",
    "resume",
    "restart",
    "cancel",
    "forget",
    "schedule",
    "snooze <days>",
    "opt out",
    "opt in",
    "checkin now",
    "stage check",
)
# These carry on in the member's DM (the interview and what it sends); `report` goes to
# the team's channel; everything else (help, status, team, a word that is no command)
# answers in place, seen only by the member (ephemeral, in the ack itself).
CARRIED_TO_DM = frozenset(
    {
        "start",
        "coffee",
        "begin",
        "skip",
        "back",
        "edit",
        "pause",
        "resume",
        "continue",
        "restart",
        "cancel",
        "forget",
        "keep",
        "export",
        "schedule",
        "snooze",
        "unsnooze",
        "opt",
        "checkin",
        "check-in",
        "stage",
    }
)
REPORT = "report"
SENT_TO_DM = "I've sent you a direct message: we carry on there."
BUSY = "I'm swamped for a moment and couldn't do that: please try `/coffee` again shortly."
NOT_IN_CHANNEL = (
    "I can't post in your team's channel yet: invite me there with `/invite @Coffee Coach`,"
    " then try `/coffee report` again. Here is the team picture for you meanwhile."
)

# Web API errors that a retry of the same message cannot change: the conversation or the
# member is gone, the bot was removed or its token revoked, or the message itself is refused.
UNDELIVERABLE = frozenset(
    {
        "account_inactive",
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "token_revoked",
        "user_disabled",
        "user_not_found",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
    }
)

MAX_AGE_S = 5 * 60
MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_BUTTONS = 25
MAX_HOME_BLOCKS = 100
ACTION = "coffee."
ANSWER_ACTION = ACTION + "answer."
NAV_ACTION = ACTION + "nav."
HOME_ACTION = ACTION + "home"
BLOCK = "coffee:"
