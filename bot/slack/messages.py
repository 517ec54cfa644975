"""Every user-facing string the Slack bot sends, in one place (wording changes never touch the handlers)."""

from __future__ import annotations

ABSTAINED = ":mag: *No indexed passage answers this.*"
ABSTAINED_HINT = "Try other words, name the law or standard, or ask in Chinese (e.g. 个人信息出境)."
THINKING = ":hourglass_flowing_sand: Looking that up in the indexed regulations…"
ANSWER_FAILED = ":warning: Sorry, I could not answer that: {reason}"
ANSWER_FAILED_GENERIC = "something went wrong on my side; the error is in the bot's log."
FOLLOW_UP_CONTEXT = "_Follow-up, asked as:_ {question}"
WORKING = ":hourglass_flowing_sand: Writing the answer and checking each sentence against its source…"
GENERATED_NOTE = "Written by the configured model; every sentence checked against its cited passage."
GENERATED_DROPPED = "Written by the configured model; {n} unsupported sentence(s) dropped, the rest checked against their cited passages."
EMPTY_QUESTION = "Ask me a question about Chinese data, cybersecurity or AI rules, e.g. `@regwatch which article of PIPL covers cross-border transfers?`"
SOURCES_HEADER = "*Sources*"
CONTINUED = "_(continued)_"
CITATION_LINK = "open source"
CAVEAT_DRAFT = "Draft for comment: not in force"
CAVEAT_SUPERSEDED = "Superseded text: check the current version"
FEEDBACK_PROMPT = "Was this helpful?"
FEEDBACK_UP = "👍"
FEEDBACK_DOWN = "👎"
FEEDBACK_THANKS = "Thanks, your feedback was recorded."
FEEDBACK_UNKNOWN = "That answer is no longer stored, so the feedback could not be recorded."
SHARE_BUTTON = "Share in channel"
SHARED_BY = "Shared by <@{user}>: _{question}_"
SHARE_GONE = "That answer is no longer stored; ask again to share it."
FALLBACK_ANSWER = "regwatch answer: {text}"

# --- slash command --------------------------------------------------------------------------------------
HELP = "\n".join(
    [
        "*regwatch* answers questions from indexed Chinese laws, regulations, standards and drafts, and alerts this channel when new ones land.",
        "• `/regwatch ask QUESTION` – a cited answer only you can see, with a button to share it",
        "• `/regwatch ask --as-of 2025-06-01 QUESTION` – answered from the texts in force on that day",
        "• `/regwatch calendar` – comment deadlines and effective dates of the next 90 days",
        "• `/regwatch subscribe [topics:a,b] [issuers:TC260,CAC] [kinds:new_draft,new_standard]` – alerts for this channel",
        "• `/regwatch unsubscribe` – stop alerts here",
        "• `/regwatch subscriptions` – what this channel receives",
        "• `/regwatch digest daily|weekly [HH:MM] [skip-empty]` or `/regwatch digest off` – a summary on a schedule",
        "• `/regwatch sources` – the watched sources",
        "• `/regwatch help` – this message",
        "Mention me (`@regwatch …`) or DM me to ask in a thread; reply in the thread to follow up.",
    ]
)
UNKNOWN_SUBCOMMAND = "I don't know `{sub}`. " + "Try `/regwatch help`."
ASK_EMPTY = "Usage: `/regwatch ask QUESTION` or `/regwatch ask --as-of YYYY-MM-DD QUESTION`"
AS_OF_BAD = "`{value}` is not a date. Usage: `/regwatch ask --as-of YYYY-MM-DD QUESTION`"
CALENDAR_HEADER = "*Comment deadlines and effective dates, next {days} days:*"
CALENDAR_EMPTY = "No comment deadlines or effective dates in the next {days} days."
NOT_ADMIN = "Sorry, only regwatch admins can change this channel's {what}. Ask one of: {admins}."
NOT_WORKSPACE_ADMIN = ("Sorry, only Slack workspace admins and owners can change this channel's {what} (no regwatch "
                       "admins are configured: REGWATCH_SLACK_ADMINS). Ask a workspace admin.")
CHANNEL_NOT_ALLOWED = "regwatch is not enabled in this channel. Ask an admin to add it to the allowlist."
SUBSCRIBE_BAD = "I could not read that: {error}. Example: `/regwatch subscribe topics:cross-border,ai issuers:TC260 kinds:new_draft,new_standard`"
SUBSCRIBED = (
    ":white_check_mark: This channel now gets alerts for {what}. Changes detected from now on will be posted here;"
    " if regwatch is not a member yet, `/invite @regwatch` so it can post."
)
UNSUBSCRIBED = "This channel will no longer get alerts."
NOT_SUBSCRIBED = "This channel has no subscription. `/regwatch subscribe` starts one."
SUBSCRIPTION = "This channel gets alerts for {what} (since {since})."
SUBSCRIPTION_ALL = "every kind of change except minor edits, from every source"
DIGEST_SCHEDULE = "Digest: {freq} at {time} ({tz}){skip}."
DIGEST_NONE = "No digest scheduled."
DIGEST_SET = ":calendar: This channel gets a {freq} digest at {time} ({tz}){skip}."
DIGEST_OFF = "The digest for this channel is off."
DIGEST_BAD = "Usage: `/regwatch digest daily|weekly [HH:MM] [skip-empty]` or `/regwatch digest off`"
DIGEST_SKIP_NOTE = ", skipped when there is nothing to report"
SOURCES_NONE = "No sources file found at `{path}`."
SOURCES_BAD = "The sources file `{path}` could not be read: {error}"
SOURCES_HEADER_LINE = "*Watched sources* ({n}):"
SOURCE_LINE = "• *{name}* {url} {extra}"

# --- alerts --------------------------------------------------------------------------------------------
ALERT_KIND = {
    "new_draft": ":memo: New draft for comment",
    "new_standard": ":straight_ruler: New standard",
    "new_regulation": ":scroll: New regulation",
    "amendment": ":pencil2: Amendment",
    "status_change": ":arrows_counterclockwise: Status change",
    "commentary": ":speech_balloon: New commentary",
    "minor_edit": ":pencil: Minor edit",
    "new_document": ":page_facing_up: New document",
    "removed": ":wastebasket: Removed",
}
ALERT_KIND_DEFAULT = ":bell: Change"
ALERT_COMMENT_DEADLINE = "*Comment deadline:* {date}"
ALERT_NO_DEADLINE = "*Comment deadline:* not stated in the source"
ALERT_STANDARD_NUMBER = "*Standard:* {number}"
ALERT_EFFECTIVE = "*Effective:* {date}"
ALERT_STATUS = "*Status:* {status}"
ALERT_ISSUER = "*Issuer:* {issuer}"
ALERT_CHANGED = "*Changed:* {sections}"
ALERT_ADDED = "*Added:* {sections}"
ALERT_REMOVED = "*Removed:* {sections}"
ALERT_DIFF = "*What changed:*\n{summary}"
ALERT_ASK = "Ask about this"
ALERT_FALLBACK = "{kind}: {title}"
ALERT_ASK_QUESTION = "What does {title} require?"
ALERT_GONE = "That change is no longer in the ledger."

# --- digest --------------------------------------------------------------------------------------------
DIGEST_TITLE = ":newspaper: regwatch digest, {since} – {now}"
DIGEST_EMPTY = "Nothing new since {since}, and no effective dates or comment deadlines in the next {days} days."
DIGEST_CHANGES = "*{n} change(s)*"
DIGEST_UPCOMING = "*Coming up in the next {days} days*"
DIGEST_UPCOMING_EFFECTIVE = "takes effect"
DIGEST_UPCOMING_DEADLINE = "comments due"
DIGEST_FALLBACK = "regwatch digest: {n} change(s), {m} upcoming date(s)"
DIGEST_MORE = "…and {n} more."
