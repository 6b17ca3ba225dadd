"""The coach engine: commands, answers, follow-ups, bad input and repeated deliveries."""

from __future__ import annotations

from bot.engine import MAX_ANSWER_CHARS, Coach
from bot.messages import Incoming, StageCard, SummaryCard
from bot.store import Conversation, Store
from tests.conftest import Member
from tests.interview import ANSWERS, run_interview


def current_conversation(store: Store, member: Member) -> Conversation:
    found = store.member(member.key)
    assert found is not None
    conv = store.conversation(found.id)
    assert conv is not None
    return conv


def current_state(store: Store, member: Member) -> str:
    return current_conversation(store, member).state


def stored_answer(store: Store, member: Member, question: str) -> str:
    return store.answers(current_conversation(store, member).id)[question].text


def test_start_introduces_the_coach_and_asks_b2b_or_b2c(ann: Member) -> None:
    turn = ann.say("start")
    assert "Coffee Coach" in turn.replies[0].text
    prompt = turn.replies[-1]
    assert "B2B" in prompt.text and "B2C" in prompt.text
    assert [c.value for c in prompt.choices if not c.nav] == ["b2b", "b2c", "both"]
    assert {c.value for c in prompt.choices if c.nav} == {"skip", "back", "pause"}
    assert prompt.prompt_token is not None


def test_questions_come_one_at_a_time_in_order(ann: Member) -> None:
    ann.say("start")
    assert "Question 1 of 9" in ann.text("b2c")
    assert "Question 2 of 9" in ann.text(ANSWERS["customers"])


def test_help_explains_why_the_question_is_asked_and_lists_commands(ann: Member) -> None:
    ann.say("start")
    ann.say("b2b")
    text = ann.text("help")
    assert "Why I ask" in text and "everyone" in text.lower()
    for command in ("skip", "back", "edit <n>", "pause", "resume", "cancel", "restart", "status"):
        assert f"`{command}`" in text


def test_an_answer_beginning_with_a_command_word_is_an_answer_and_a_bare_one_is_a_command(
    ann: Member, store: Store
) -> None:
    ann.say("start")
    ann.say("b2b")
    answer = "Back office buyers at hotels, and the help desks of the cafes they run"
    assert "Question 2 of 9" in ann.text(answer)
    assert stored_answer(store, ann, "customers") == answer
    assert "Question 3 of 9" in ann.text("Skip!")
    assert current_state(store, ann) == "experience"
    assert store.answers(current_conversation(store, ann).id)["value"].skipped
    assert "Question 2 of 9" in ann.text("  BACK. ")
    assert "Why I ask" in ann.text("Help!")
    assert "Why I ask" in ann.text("help?")
    assert "Why I ask" in ann.text("?")


def test_skip_records_a_gap_and_moves_on(ann: Member, store: Store) -> None:
    ann.say("start")
    ann.say("b2b")
    assert "Question 2 of 9" in ann.text("skip")
    found = store.member(ann.key)
    assert found is not None
    conv = store.conversation(found.id)
    assert conv is not None and store.answers(conv.id)["customers"].skipped


def test_back_returns_to_the_previous_question_and_a_new_answer_is_a_new_version(
    ann: Member, store: Store
) -> None:
    ann.say("start")
    ann.say("b2b")
    ann.say("bakeries and cafes in Leeds")
    assert "Question 1 of 9" in ann.text("back")
    ann.say("bakeries, cafes and hotels in Leeds")
    assert current_state(store, ann) == "value"
    found = store.member(ann.key)
    assert found is not None
    conv = store.conversation(found.id)
    assert conv is not None
    assert len(store.answer_history(conv.id, "customers")) == 2


def test_back_at_the_first_question_says_there_is_nothing_before(ann: Member) -> None:
    ann.say("start")
    assert "first question" in ann.text("back")


def test_edit_jumps_to_the_question_then_returns_where_the_member_was(
    ann: Member, store: Store
) -> None:
    ann.say("start")
    ann.say("b2b")
    for question in ("customers", "value", "experience"):
        ann.say(ANSWERS[question])
    text = ann.text("edit 1")
    assert "Question 1 of 9" in text and ANSWERS["customers"][:20] in text
    assert "Question 4 of 9" in ann.text("hospital facilities managers in the north")
    assert stored_answer(store, ann, "customers") == "hospital facilities managers in the north"


def test_edit_of_a_question_that_does_not_exist_says_the_range(ann: Member) -> None:
    ann.say("start")
    assert "from 1 to 9" in ann.text("edit 12")


def test_pause_and_resume_continue_at_the_same_question(ann: Member, store: Store) -> None:
    ann.say("start")
    ann.say("b2b")
    ann.say(ANSWERS["customers"])
    assert "Paused at question 2 of 9" in ann.text("pause")
    assert "resume" in ann.text("whatever I type now")
    assert current_state(store, ann) == "value"
    assert "Question 2 of 9" in ann.text("resume")


def test_start_after_pause_resumes_rather_than_restarting(ann: Member) -> None:
    ann.say("start")
    ann.say("b2b")
    ann.say("pause")
    assert "Question 1 of 9" in ann.text("start")


def test_cancel_keeps_the_answers_and_start_begins_anew(ann: Member, store: Store) -> None:
    ann.say("start")
    ann.say("b2b")
    ann.say(ANSWERS["customers"])
    assert "Cancelled" in ann.text("cancel")
    assert stored_answer(store, ann, "customers") == ANSWERS["customers"]
    assert "B2B" in ann.text("start")
    assert current_state(store, ann) == "business_model"


def test_restart_begins_again_and_keeps_history(ann: Member, store: Store) -> None:
    ann.say("start")
    ann.say("b2b")
    ann.say(ANSWERS["customers"])
    assert "Starting again" in ann.text("restart")
    assert current_state(store, ann) == "business_model"
    assert store.stats()["conversations"] == 2 and store.stats()["answers"] == 2


def test_status_shows_progress_and_the_team_rung(ann: Member) -> None:
    assert "haven't started" in ann.text("status")
    ann.say("start")
    ann.say("b2b")
    ann.say(ANSWERS["customers"])
    ann.say("skip")
    text = ann.text("status")
    assert "at question 3 of 9: 1 of 9 questions answered, 1 skipped" in text
    assert "no rung yet" in text


def test_unknown_text_before_starting_gets_a_helpful_reply(ann: Member) -> None:
    text = ann.text("what is this")
    assert "didn't understand" in text and "`start`" in text


def test_an_empty_line_mid_interview_re_asks_the_question(ann: Member, store: Store) -> None:
    ann.say("start")
    ann.say("b2b")
    text = ann.text("   ")
    assert "didn't catch" in text and "Question 1 of 9" in text
    assert current_state(store, ann) == "customers"


def test_a_vague_answer_gets_exactly_one_follow_up(ann: Member, store: Store) -> None:
    ann.say("start")
    ann.say("b2b")
    follow = ann.text("idk")
    assert "more specific" in follow
    assert current_state(store, ann) == "customers"
    assert "Question 2 of 9" in ann.text("everyone")
    assert stored_answer(store, ann, "customers") == "everyone"


def test_one_word_where_a_list_is_asked_gets_a_follow_up(ann: Member) -> None:
    ann.say("start")
    ann.say("b2b")
    assert "more specific" in ann.text("shops")


def test_a_choice_can_be_typed_by_label_or_number_and_nonsense_is_re_asked(
    ann: Member, store: Store
) -> None:
    ann.say("start")
    text = ann.text("maybe")
    assert "Please pick one" in text and current_state(store, ann) == "business_model"
    ann.say("2")
    found = store.member(ann.key)
    assert found is not None
    conv = store.conversation(found.id)
    assert conv is not None and store.answers(conv.id)["business_model"].value == "b2c"


def test_an_answer_over_the_limit_is_refused_and_nothing_is_lost(ann: Member, store: Store) -> None:
    ann.say("start")
    ann.say("b2b")
    ann.say(ANSWERS["customers"])
    text = ann.text("x" * 50_000)
    assert "50,000 characters" in text and f"{MAX_ANSWER_CHARS:,}" in text
    assert current_state(store, ann) == "value"
    assert stored_answer(store, ann, "customers") == ANSWERS["customers"]
    long_but_allowed = "word " * (MAX_ANSWER_CHARS // 5 - 1)
    ann.say(long_but_allowed)
    assert stored_answer(store, ann, "value") == long_but_allowed.strip()


def test_control_characters_are_dropped_and_emoji_rtl_and_sql_kept(
    ann: Member, store: Store
) -> None:
    ann.say("start")
    ann.say("b2b")
    ann.say("bakeries\x1b[31m in Leeds\x07 🍞 and cafés")
    assert stored_answer(store, ann, "customers") == "bakeries[31m in Leeds 🍞 and cafés"
    ann.say("عملاؤنا يحبون الخبز الطازج كل صباح")
    assert stored_answer(store, ann, "value") == "عملاؤنا يحبون الخبز الطازج كل صباح"
    ann.say("'; DROP TABLE answers; -- posts of the bakers")
    assert (
        stored_answer(store, ann, "experience") == "'; DROP TABLE answers; -- posts of the bakers"
    )
    assert store.stats()["answers"] == 4


def test_the_same_event_id_twice_advances_the_conversation_once(
    coach: Coach, ann: Member, store: Store
) -> None:
    ann.say("start")
    ann.say("b2b")
    first = coach.handle(Incoming(key=ann.key, text=ANSWERS["customers"], event_id="Ev1"))
    again = coach.handle(Incoming(key=ann.key, text=ANSWERS["customers"], event_id="Ev1"))
    assert first.replies and not first.duplicate
    assert again.duplicate and again.replies == []
    assert current_state(store, ann) == "value"
    found = store.member(ann.key)
    assert found is not None
    conv = store.conversation(found.id)
    assert conv is not None and len(store.answer_history(conv.id, "customers")) == 1


def test_a_button_press_on_an_answered_prompt_changes_nothing(
    coach: Coach, ann: Member, store: Store
) -> None:
    prompt = ann.say("start").replies[-1]
    first = coach.handle(Incoming(key=ann.key, value="b2b", prompt_token=prompt.prompt_token))
    assert not first.stale and first.replies[0].answered == "B2B"
    second = coach.handle(Incoming(key=ann.key, value="b2c", prompt_token=prompt.prompt_token))
    assert second.stale and "already answered" in second.replies[0].text
    found = store.member(ann.key)
    assert found is not None
    conv = store.conversation(found.id)
    assert conv is not None and store.answers(conv.id)["business_model"].value == "b2b"
    assert conv.state == "customers"


def test_a_platform_message_edit_updates_the_answer_it_gave(
    coach: Coach, ann: Member, store: Store
) -> None:
    ann.say("start")
    ann.say("b2b")
    coach.handle(Incoming(key=ann.key, text="bakeries in Leeds", message_id="m1"))
    turn = coach.handle(Incoming(key=ann.key, text="bakeries in Leeds and York", edits="m1"))
    assert "Updated your answer to question 1" in turn.replies[0].text
    assert stored_answer(store, ann, "customers") == "bakeries in Leeds and York"
    assert current_state(store, ann) == "value"


def test_the_whole_interview_ends_with_summary_rung_actions_and_commitments(
    coach: Coach, ann: Member, store: Store
) -> None:
    turns = run_interview(coach, ann.key, rung=2, commit="1 2")
    cards = [r.card for t in turns for r in t.replies if r.card is not None]
    summary = next(c for c in cards if isinstance(c, SummaryCard))
    assert len(summary.rows) == 9 and summary.rows[0][1] == ANSWERS["customers"]
    stage = next(c for c in cards if isinstance(c, StageCard))
    assert stage.stage == "Listen" and stage.next_stage == "Engage"
    assert 2 <= len(stage.actions) <= 4
    found = store.member(ann.key)
    assert found is not None
    commitments = store.commitments(team_id=found.team.id)
    assert [c.action for c in commitments] == list(stage.actions[:2])
    assert all(c.stage == "Engage" for c in commitments)
    conv = store.conversation(found.id)
    assert conv is not None and conv.status == "done"
    assert "complete" in ann.text("start")


def test_editing_a_finished_interview_re_places_the_member(
    coach: Coach, ann: Member, store: Store
) -> None:
    run_interview(coach, ann.key, rung=4, answers={"success": "20 leads a month by June"})
    turn = ann.say("edit 9")
    assert "Question 9 of 9" in turn.replies[-1].text
    turn = ann.say("we'll see how it feels")
    card = next(r.card for r in turn.replies if isinstance(r.card, StageCard))
    assert card.stage == "Engage"
    found = store.member(ann.key)
    assert found is not None
    assert [p.stage for p in store.placements(found.team.id)] == ["Publish", "Engage"]


def test_forget_asks_first_then_deletes_only_that_member(
    coach: Coach, ann: Member, bob: Member, store: Store
) -> None:
    run_interview(coach, ann.key)
    run_interview(coach, bob.key)
    turn = ann.say("forget")
    assert {c.value for c in turn.replies[0].choices} == {"forget yes", "keep"}
    assert store.stats()["members"] == 2
    assert "Kept" in ann.text("keep")
    assert "deleted" in ann.text("forget yes")
    found = store.member(bob.key)
    assert found is not None and [m.user for m in store.members(found.team.id)] == ["bob"]


def test_export_in_chat_returns_the_markdown_strategy(coach: Coach, ann: Member) -> None:
    run_interview(coach, ann.key)
    reply = ann.say("export").replies[0]
    assert reply.file is not None and reply.file.name.endswith(".md")
    assert reply.file.content.startswith("# Social media strategy: bakers")


def test_an_unknown_slash_command_mid_interview_is_not_taken_as_an_answer(
    ann: Member, store: Store
) -> None:
    ann.say("start")
    ann.say("b2b")
    text = ann.text("/frobnicate")
    assert "no command" in text and "Question 1 of 9" in text
    assert current_state(store, ann) == "customers"
    assert store.stats()["answers"] == 1


def test_after_a_finished_check_in_start_and_edit_still_reach_the_interview(
    coach: Coach, ann: Member, store: Store
) -> None:
    run_interview(coach, ann.key)
    coach.begin_flow(
        ann.key, "checkin", {"commitments": "a listening routine", "next_stage": "Publish",
                             "next_action": "start a hub"}
    )  # fmt: skip
    for answer in ("done", "a weekly slot helped", "yes"):
        ann.say(answer)
    found = store.member(ann.key)
    assert found is not None
    latest = store.conversation(found.id)
    assert latest is not None and latest.flow == "checkin" and latest.status == "done"
    assert "completed the interview" in ann.text("start")
    assert "Question 2 of 9" in ann.text("edit 2")
    turn = ann.say("warm bread and bakers who remember every regular's order")
    assert any(isinstance(r.card, StageCard) for r in turn.replies)
    interview = store.conversation(found.id, flow="coffee")
    assert interview is not None and interview.status == "done"
    assert store.answers(interview.id)["value"].text.startswith("warm bread")


def test_a_paused_interview_stays_current_whatever_finished_after_it(
    coach: Coach, ann: Member, store: Store
) -> None:
    ann.say("start")
    ann.say("b2b")
    ann.say("pause")
    found = store.member(ann.key)
    assert found is not None
    with store.transaction():
        done = store.start_conversation(found.id, flow="checkin", state="ci_progress")
        done.status = "done"
        assert store.save_conversation(done)
    assert "Question 1 of 9" in ann.text("resume")


def test_the_team_zone_comes_from_its_first_member_and_only_a_real_zone(
    coach: Coach, store: Store
) -> None:
    from bot.messages import MemberKey, TeamKey

    def first_message(user: str, team: str, zone: str) -> None:
        coach.handle(Incoming(key=MemberKey("slack", "T1", user, team), text="start",
                              timezone=zone))  # fmt: skip

    first_message("U1", "C1", "Mars/Olympus_Mons")
    first_message("U2", "C1", "europe/paris")
    first_message("U3", "C1", "America/New_York")
    team = store.team(TeamKey("slack", "T1", "C1"))
    assert team is not None and team.timezone == "Europe/Paris"


def test_help_lists_the_check_in_commands_once_check_ins_are_installed(
    coach: Coach, ann: Member
) -> None:
    from bot.checkins.extension import install

    assert "`opt out`" not in ann.text("help")
    install(coach)
    text = ann.text("help")
    assert "`schedule`" in text and "`opt out`" in text and "`snooze <days>`" in text


# --- the team model, in the terminal too --------------------------------------------------


def test_a_second_team_in_the_terminal_asks_before_the_interview_joins_it(coach: Coach) -> None:
    ann = Member(coach, "ann", team="bakers")
    ann.say("start")
    ann.say("b2b")
    ann.say(ANSWERS["customers"])
    estates = Member(coach, "ann", team="estates")

    turn = estates.say("start")

    [ask] = turn.replies
    assert "You answer for *bakers* (your interview is at question 2 of 9)" in ask.text
    assert [c.label for c in ask.choices] == ["Answer for estates", "Keep bakers"]
    assert coach.store.member(estates.key) is None
    moved = estates.say(ask.choices[0].value)
    assert "you answer for *estates* now" in moved.replies[0].text
    assert "Question 2 of 9" in moved.replies[-1].text
    member = coach.store.member(estates.key)
    assert member is not None
    interview = coach.store.interview(member)
    assert interview is not None and interview.answers["customers"].text == ANSWERS["customers"]


def test_team_shows_the_team_the_member_answers_for(coach: Coach) -> None:
    ann = Member(coach, "ann", team="bakers")
    ann.say("start")

    assert "You answer for *bakers*." in ann.text("team")
    assert "shows the team your answers count for" in ann.text("team frobnicate")


def test_member_text_can_never_forge_a_mention(coach: Coach, ann: Member) -> None:
    ann.say("start")
    ann.say("b2b")

    ann.say("Hotel buyers \ue000U0BOSS\ue001boss\ue002 and more of them")

    member = coach.store.member(ann.key)
    assert member is not None
    interview = coach.store.interview(member)
    assert interview is not None
    assert interview.answers["customers"].text == "Hotel buyers U0BOSSboss and more of them"


def test_pausing_at_the_first_question_names_it_not_its_id(ann: Member) -> None:
    ann.say("start")

    said = ann.text("pause")

    assert "Paused at the first question" in said
    assert "business_model" not in said


def test_every_listed_command_typed_mid_interview_is_a_command_never_an_answer(
    coach: Coach, store: Store
) -> None:
    from bot.engine.core import COMMANDS

    for n, listed in enumerate(COMMANDS):
        command = listed.replace("<n>", "1")
        member = Member(coach, f"member{n}")
        member.say("start")
        member.say("b2b")
        found = store.member(member.key)
        assert found is not None
        before = store.conversation(found.id)
        assert before is not None
        member.say(command)
        after = store.conversation(found.id)
        assert after is not None
        for conv_id in {before.id, after.id}:
            texts = [a.text for a in store.answers(conv_id).values()]
            assert command not in texts, f"{command!r} was stored as an answer"
