"""The reader of free text: what a member's own words say about each ladder criterion.

Each test is a specification: a real-looking phrasing, and what a consultant would hear
in it. Every quote must be the member's exact words, sliced from the answer.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.reader import Objective, Quote, Reading, Signal, parse_objectives, read
from flows.signals import CRITERIA, Vocabulary, default_vocabulary


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return default_vocabulary()


def reading(vocab: Vocabulary, *answers: tuple[str, str]) -> Reading:
    result = read(answers, vocab)
    for signal in result.signals:
        quote = signal.quote
        texts = [t for q, t in answers if q == quote.question]
        assert any(t[quote.start : quote.end] == quote.text for t in texts)
        assert len(quote.text) <= 120
    return result


def cues(result: Reading, criterion: str) -> list[tuple[str, str]]:
    return [(s.polarity, s.cue) for s in result.signals_for(criterion)]


def one(result: Reading, criterion: str) -> Signal:
    (signal,) = result.signals_for(criterion)
    return signal


# --- listens ---------------------------------------------------------------------------


def test_a_weekly_routine_of_monitoring_mentions_and_competitors_is_listening(
    vocab: Vocabulary,
) -> None:
    result = reading(vocab, ("sustain", "We monitor mentions and competitors every week."))
    signal = one(result, "listens")
    assert (signal.polarity, signal.cue, signal.specific) == ("for", "listening routine", True)
    assert signal.quote.text == "We monitor mentions and competitors every week"
    assert signal.quote.question == "sustain"
    assert result.verdict("listens") == "met"


@pytest.mark.parametrize(
    "text",
    [
        "we track where they gather with a listening tool",
        "Brandwatch alerts us to every mention",
        "Google Alerts for the brand and two rivals",
        "we keep an eye on the hashtags our customers use",
        "I read the Google reviews and what people say in the local Facebook groups",
        "we follow competitors and industry topics on LinkedIn",
    ],
)
def test_listening_shows_as_a_verb_near_what_customers_say_or_a_listening_tool(
    vocab: Vocabulary, text: str
) -> None:
    result = reading(vocab, ("growth", text))
    assert result.verdict("listens") == "met", result.signals


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("no time to monitor anything", "negation"),
        ("we don't really listen, to be honest", "negation"),
        ("We should start monitoring competitors", "wish"),
        ("we don't monitor mentions", "negation"),
        ("would love to track what people say about us one day", "wish"),
    ],
)
def test_no_time_to_monitor_and_we_should_start_are_not_listening(
    vocab: Vocabulary, text: str, cue: str
) -> None:
    result = reading(vocab, ("sustain", text))
    assert ("against", cue) in cues(result, "listens")
    assert ("for", "listens") not in cues(result, "listens")
    assert result.verdict("listens") == "unmet"


def test_a_scheduling_tool_alone_is_not_a_listening_tool(vocab: Vocabulary) -> None:
    result = reading(vocab, ("sustain", "We schedule everything in Buffer and Hootsuite."))
    assert result.verdict("listens") is None
    assert result.facts.tools == ("Buffer", "Hootsuite")


# --- tailors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "We turn the questions customers ask into posts",
        "Customers kept asking about grind size, so we changed our posts to short how-tos",
        "our topics are based on what we hear in the comments",
        "we use feedback from the reviews to shape next month's content",
    ],
)
def test_a_causal_link_from_what_was_heard_to_what_is_posted_is_tailoring(
    vocab: Vocabulary, text: str
) -> None:
    result = reading(vocab, ("value", text))
    assert result.verdict("tailors") == "met", result.signals


@pytest.mark.parametrize(
    "text",
    ["we just post offers", "Mostly promotions and news.", "only announcements and job ads"],
)
def test_offers_and_announcements_only_are_broadcasting(vocab: Vocabulary, text: str) -> None:
    result = reading(vocab, ("pathway", text))
    assert ("against", "announcements only") in cues(result, "tailors")
    assert result.verdict("tailors") == "unmet"


def test_replying_under_our_posts_is_not_tailoring(vocab: Vocabulary) -> None:
    result = reading(vocab, ("sustain", "we reply to comments on our posts so people feel heard"))
    assert result.verdict("tailors") is None


# --- has_objectives --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "text", "purpose"),
    [
        ("pathway", "Being found: awareness among clinic managers", "awareness"),
        ("pathway", "mainly leads for the sales team", "leads"),
        ("success", "more bookings on weekdays", "bookings"),
        ("growth", "our main goal is job applications from graduates", "recruitment"),
        ("pathway", "keeping customers: loyalty and repeat visits", "loyalty"),
    ],
)
def test_a_purpose_is_an_objective_for_social(
    vocab: Vocabulary, question: str, text: str, purpose: str
) -> None:
    result = reading(vocab, (question, text))
    assert ("for", "purpose") in cues(result, "has_objectives")
    assert purpose in result.facts.purposes


@pytest.mark.parametrize(
    "text",
    ["not sure, I guess awareness?", "we haven't agreed", "no idea what it's for honestly"],
)
def test_hedges_say_the_team_has_no_objective_yet(vocab: Vocabulary, text: str) -> None:
    result = reading(vocab, ("pathway", text))
    assert result.verdict("has_objectives") == "unmet"
    assert all(s.polarity == "against" for s in result.signals_for("has_objectives"))


def test_a_sales_team_is_a_role_not_a_purpose(vocab: Vocabulary) -> None:
    result = reading(vocab, ("pathway", "our sales team answers questions on LinkedIn"))
    assert "sales" not in result.facts.purposes


# --- converses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "We reply to every comment and DM within 2 hours",
        "Sam answers reviews daily",
        "we respond to messages the same day",
        "we join discussions in the trade forums every week",
    ],
)
def test_replying_with_a_rhythm_or_speed_is_conversing(vocab: Vocabulary, text: str) -> None:
    result = reading(vocab, ("sustain", text))
    assert result.verdict("converses") == "met", result.signals


def test_answering_questions_with_no_rhythm_is_not_enough_to_converse(vocab: Vocabulary) -> None:
    result = reading(vocab, ("sustain", "we answer questions"))
    assert cues(result, "converses") == [("for", "replies")]
    assert result.verdict("converses") is None


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("comments sit for days", "no replies"),
        ("we only read the comments", "no replies"),
        ("if we actually answered comments we would grow", "wish"),
        ("we rarely reply to comments", "negation"),
    ],
)
def test_comments_left_waiting_reading_only_and_wishes_are_not_conversing(
    vocab: Vocabulary, text: str, cue: str
) -> None:
    result = reading(vocab, ("sustain", text))
    assert ("against", cue) in cues(result, "converses")
    assert result.verdict("converses") == "unmet"


# --- owned -----------------------------------------------------------------------------


def test_a_named_community_manager_with_a_daily_slot_owns_it(vocab: Vocabulary) -> None:
    result = reading(
        vocab,
        (
            "owners",
            "Our full-time community manager runs it, and each site manager spends 20 "
            "minutes a day on reviews.",
        ),
    )
    assert {c for _, c in cues(result, "owned")} == {"named owner", "cadence"}
    assert result.verdict("owned") == "met"
    assert "20 minutes a day" in result.facts.cadences
    assert "community manager" in " ".join(result.facts.people)


@pytest.mark.parametrize(
    ("text", "person"),
    [
        ("Priya runs it and posts 3 times a week", "Priya"),
        ("owned by Tom, with a content calendar we keep every month", "Tom"),
        ("our intern Jake posts every weekday", "Jake"),
    ],
)
def test_a_first_name_in_an_owner_position_is_a_person(
    vocab: Vocabulary, text: str, person: str
) -> None:
    result = reading(vocab, ("owners", text))
    assert person in result.facts.people
    assert result.verdict("owned") == "met", result.signals


def test_tool_network_place_and_day_names_are_not_people(vocab: Vocabulary) -> None:
    text = (
        "LinkedIn runs our ads. Sprout handles scheduling. Monday posts, from our Bristol office."
    )
    result = reading(vocab, ("owners", text))
    assert result.facts.people == ()
    assert ("for", "named owner") not in cues(result, "owned")


@pytest.mark.parametrize(
    "text",
    [
        "I post when I can",
        "whoever has time",
        "when I remember, honestly",
        "it's ad hoc",
        "nobody really",
        "nothing yet",
    ],
)
def test_whoever_has_time_and_when_i_can_are_no_owner(vocab: Vocabulary, text: str) -> None:
    result = reading(vocab, ("owners", text))
    assert result.verdict("owned") == "unmet"
    assert ("against", "ad hoc") in cues(result, "owned") or ("against", "negation") in cues(
        result, "owned"
    )
    # At most the member naming themself, which is no specific owner.
    assert not [s for s in result.signals_for("owned") if s.polarity == "for" and s.specific]


def test_we_dont_have_a_calendar_is_no_rhythm(vocab: Vocabulary) -> None:
    result = reading(vocab, ("sustain", "we don't have a content calendar"))
    assert result.verdict("owned") == "unmet"


def test_an_owner_without_a_rhythm_is_not_enough_to_say_owned(vocab: Vocabulary) -> None:
    result = reading(vocab, ("owners", "Our marketing manager does it"))
    assert cues(result, "owned") == [("for", "named owner")]
    assert result.verdict("owned") is None


# --- hub -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "every post links back to our blog",
        "we publish guides in our resource centre and share them on LinkedIn",
        "our monthly newsletter is where the long pieces live",
        "we run a podcast and cut clips from it for Instagram",
    ],
)
def test_an_own_blog_guides_or_newsletter_that_social_points_to_is_a_hub(
    vocab: Vocabulary, text: str
) -> None:
    result = reading(vocab, ("growth", text))
    assert result.verdict("hub") == "met", result.signals


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("we might start a blog", "wish"),
        ("we don't have a blog", "negation"),
        ("we link to the online shop and product pages", "shop or news page"),
        ("we share the news page", "shop or news page"),
    ],
)
def test_a_blog_we_might_start_the_shop_or_a_news_page_is_no_hub(
    vocab: Vocabulary, text: str, cue: str
) -> None:
    result = reading(vocab, ("growth", text))
    assert ("against", cue) in cues(result, "hub")
    assert result.verdict("hub") == "unmet"


# --- beyond marketing ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "customer service answers DMs",
        "our engineers answer questions in the forums",
        "store staff post their picks every week",
        "sales reps share our guides with prospects",
    ],
)
def test_staff_beyond_marketing_doing_social_work(vocab: Vocabulary, text: str) -> None:
    result = reading(vocab, ("owners", text))
    assert result.verdict("beyond_marketing") == "met", result.signals


@pytest.mark.parametrize("text", ["compliance signs off", "legal approves every post"])
def test_roles_that_only_approve_do_not_take_social_beyond_marketing(
    vocab: Vocabulary, text: str
) -> None:
    result = reading(vocab, ("owners", text))
    assert ("against", "approval only") in cues(result, "beyond_marketing")
    assert result.verdict("beyond_marketing") == "unmet"


# --- measured and the objective parser -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number", "metric", "period"),
    [
        ("120 MQLs a quarter", "120", "MQLs", "a quarter"),
        ("+15% revenue from social by June", "15%", "revenue from social", "by June"),
        ("reply time under 2 hours", "2", "reply time", "under 2 hours"),
        ("20 qualified leads a month from LinkedIn", "20", "qualified leads", "a month"),
        ("500 newsletter subscribers by the end of the year", "500", "newsletter subscribers",
         "by the end of the year"),
        ("twenty bookings per week", "twenty", "bookings", "per week"),
        ("engagement rate of 4% each month", "4%", "engagement rate", "each month"),
        ("10k followers by Q3", "10k", "followers", "by Q3"),
    ],
)  # fmt: skip
def test_a_number_a_metric_and_a_period_make_a_measurable_objective(
    vocab: Vocabulary, text: str, number: str, metric: str, period: str
) -> None:
    objectives = [o for o in parse_objectives("success", text, vocab) if o.complete]
    assert objectives, parse_objectives("success", text, vocab)
    first = objectives[0]
    assert (first.number, first.metric, first.period) == (number, metric, period)
    assert first.missing() == ()


def test_an_mql_target_and_a_cost_ceiling_are_both_complete(vocab: Vocabulary) -> None:
    text = "40 MQLs a quarter, cost per MQL under $150"
    found = parse_objectives("sustain", text, vocab)
    assert [(o.number, o.metric, o.complete) for o in found] == [
        ("40", "MQLs", True),
        ("$150", "cost per MQL", True),
    ]
    assert [o.quote.text for o in found] == ["40 MQLs a quarter", "cost per MQL under $150"]


def test_a_kpi_written_outside_question_nine_counts(vocab: Vocabulary) -> None:
    result = reading(
        vocab,
        ("sustain", "We report 40 MQLs a quarter to the board"),
        ("success", "more leads"),
    )
    assert result.verdict("measured") == "met"
    signal = next(s for s in result.signals_for("measured") if s.polarity == "for")
    assert signal.quote.question == "sustain"


@pytest.mark.parametrize(
    "text",
    [
        "sales going up and ppl loving the reels",
        "more followers",
        "more leads",
        "we have 3 people on it",
        "5 posts a week",
        "$150 a month for the tool",
        "we've been on Instagram since 2019",
        "we don't measure social at all",
        "we don't measure anything",
    ],
)
def test_bare_metrics_team_sizes_post_counts_prices_and_years_are_not_measurable(
    vocab: Vocabulary, text: str
) -> None:
    result = reading(vocab, ("success", text))
    assert result.verdict("measured") != "met"
    assert not any(o.complete for o in parse_objectives("success", text, vocab))


def test_an_incomplete_objective_says_what_it_is_missing(vocab: Vocabulary) -> None:
    (leads,) = parse_objectives("success", "more leads from LinkedIn", vocab)
    assert leads.metric == "leads from LinkedIn"
    assert leads.missing() == ("a number", "a date or period")
    (dated,) = parse_objectives("success", "50 demo requests", vocab)
    assert dated.missing() == ("a date or period",)


def test_negation_cancels_an_objective(vocab: Vocabulary) -> None:
    text = "we don't have a target like 20 leads a month"
    (objective,) = parse_objectives("success", text, vocab)
    assert objective.negated and not objective.complete
    assert reading(vocab, ("success", text)).verdict("measured") == "unmet"


def test_objective_missing_lists_every_gap() -> None:
    empty = Objective(Quote("success", 0, 1, "x"), None, None, None, False)
    assert empty.missing() == ("a metric", "a number", "a date or period")


# --- negation, wishes and clauses ------------------------------------------------------


def test_a_negation_in_one_clause_does_not_cancel_another(vocab: Vocabulary) -> None:
    text = "We don't have a blog, but we reply to every comment within a day."
    result = reading(vocab, ("sustain", text))
    assert result.verdict("hub") == "unmet"
    assert result.verdict("converses") == "met"


def test_a_negation_stops_at_and_we(vocab: Vocabulary) -> None:
    text = "we don't post offers and we monitor mentions every week"
    result = reading(vocab, ("sustain", text))
    assert result.verdict("listens") == "met"


@pytest.mark.parametrize(
    "text",
    [
        "We should reply to every comment within 2 hours",
        "we would like to monitor competitors weekly",
        "If we had a blog, every post would link to it",
        "We plan to start a newsletter",
        "we want to join discussions in the forums every week",
        "one day we hope to have a community manager posting daily",
    ],
)
def test_wishes_and_plans_are_not_practice(vocab: Vocabulary, text: str) -> None:
    result = reading(vocab, ("sustain", text))
    assert not [s for s in result.signals if s.polarity == "for" and s.criterion != "measured"]


def test_not_only_and_never_miss_are_not_negations(vocab: Vocabulary) -> None:
    result = reading(vocab, ("sustain", "We never miss a week: we monitor mentions every Monday"))
    assert result.verdict("listens") == "met"


def test_question_three_is_a_hope_and_gives_no_practice(vocab: Vocabulary) -> None:
    text = "We monitor mentions daily, reply within an hour and share our blog on LinkedIn"
    result = reading(vocab, ("experience", text))
    assert [s for s in result.signals if s.polarity == "for"] == []
    assert result.facts.networks == ("LinkedIn",)


def test_follow_ups_and_edits_are_read_together(vocab: Vocabulary) -> None:
    result = reading(
        vocab,
        ("owners", "idk"),
        ("owners", "Priya owns it; she plans a content calendar every month"),
    )
    assert result.verdict("owned") == "met"


def test_a_concrete_statement_beats_a_vague_one_on_the_same_criterion(vocab: Vocabulary) -> None:
    result = reading(
        vocab,
        ("owners", "Priya runs it and posts 3 times a week"),
        ("sustain", "sometimes it's ad hoc when she's away"),
    )
    assert result.verdict("owned") == "met"


# --- typos and informal writing --------------------------------------------------------


def test_typos_and_shorthand_are_tolerated(vocab: Vocabulary) -> None:
    result = reading(
        vocab,
        ("networks", "insta, fb and tik tok mostly, bit of linkedin"),
        ("sustain", "we montior mentions wkly"),
    )
    assert result.facts.networks == ("Instagram", "Facebook", "TikTok", "LinkedIn")
    assert result.verdict("listens") == "met"


def test_british_and_american_spellings_are_both_read(vocab: Vocabulary) -> None:
    for text in ("our resource centre links from every post", "our resource center is shared"):
        assert reading(vocab, ("growth", text)).verdict("hub") == "met"


# --- facts -----------------------------------------------------------------------------


def test_facts_keep_the_members_own_words(vocab: Vocabulary) -> None:
    result = reading(
        vocab,
        ("customers", "Mainly dentists, clinic managers in the UK, and parents of toddlers"),
        ("networks", "LinkedIn groups where clinic managers gather, r/espresso, Instagram"),
        ("owners", "Priya runs it with Brandwatch, 3 posts a week"),
        ("pathway", "leads, then loyalty"),
        ("success", "40 MQLs a quarter"),
    )
    facts = result.facts
    assert facts.customers == ("dentists", "clinic managers in the UK", "parents of toddlers")
    assert facts.networks == ("LinkedIn", "Instagram")
    assert "LinkedIn groups where clinic managers gather" in facts.places
    assert "r/espresso" in facts.places
    assert "Priya" in facts.people
    assert facts.tools == ("Brandwatch",)
    assert "3 posts a week" in facts.cadences
    assert facts.purposes[:2] == ("leads", "loyalty")
    assert [o.quote.text for o in facts.objectives if o.complete] == ["40 MQLs a quarter"]


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Nous surveillons les mentions chaque semaine et répondons aux commentaires.",
        "Wir beantworten jeden Kommentar innerhalb von zwei Stunden.",
        "😀🔥🚀☕️ 👍👍👍",
        "- \n- \n* \n1.\n2.\n",
        "",
        "   ",
        "???!!!...;;;",
        "İİİ ﬁ ß ǅ",
    ],
)
def test_other_languages_emoji_and_empty_lists_invent_no_signal(
    vocab: Vocabulary, text: str
) -> None:
    result = reading(vocab, *((q, text) for q in ("customers", "owners", "sustain", "success")))
    assert result.signals == ()
    assert result.facts.objectives == ()
    for criterion in CRITERIA:
        assert result.verdict(criterion) is None


def test_a_pure_list_is_read_item_by_item(vocab: Vocabulary) -> None:
    text = "- LinkedIn\n- Instagram\n- monitoring: weekly\n- replies: within 2 hours"
    result = reading(vocab, ("networks", text))
    assert result.facts.networks == ("LinkedIn", "Instagram")


def test_twenty_thousand_characters_read_fast_and_quote_exactly(vocab: Vocabulary) -> None:
    chunk = (
        "We monitor mentions every week, Priya replies to every comment within 2 hours, "
        "and we don't have a blog; our goal is 40 MQLs a quarter. "
    )
    text = (chunk * (20_000 // len(chunk) + 1))[:20_000]
    started = time.perf_counter()
    result = reading(vocab, ("sustain", text))
    assert time.perf_counter() - started < 2.0
    assert result.verdict("listens") == "met"


@pytest.mark.parametrize("text", ["a" * 20_000, "1 " * 10_000, "not " * 5_000, "(" * 20_000])
def test_pathological_inputs_stay_linear(vocab: Vocabulary, text: str) -> None:
    started = time.perf_counter()
    reading(vocab, ("sustain", text))
    assert time.perf_counter() - started < 2.0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["customers", "owners", "sustain", "success", "experience", "x"]),
            st.text(max_size=300),
        ),
        max_size=4,
    )
)
def test_random_text_never_crashes_and_quotes_are_exact_slices(
    answers: list[tuple[str, str]],
) -> None:
    vocab = default_vocabulary()
    result = read(answers, vocab)
    texts: dict[str, list[str]] = {}
    for question, text in answers:
        texts.setdefault(question, []).append(text)
    for signal in result.signals:
        q = signal.quote
        assert any(t[q.start : q.end] == q.text for t in texts[q.question])
        assert signal.criterion in CRITERIA
    for objective in result.facts.objectives:
        q = objective.quote
        assert any(t[q.start : q.end] == q.text for t in texts[q.question])


WORDS = [
    "we",
    "don't",
    "monitor",
    "mentions",
    "every",
    "week",
    ",",
    "Priya",
    "replies",
    "to",
    "comments",
    "within",
    "2",
    "hours",
    "should",
    "blog",
    "our",
    "newsletter",
    "40",
    "MQLs",
    "a",
    "quarter",
    "$150",
    "not",
    "only",
    ".",
    ";",
    "but",
    "if",
    "whoever",
    "LinkedIn",
    "Later",
    "later",
    "Threads",
    "threads",
    "X",
    "x",
    "😀",
    "İ",
]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(WORDS),
        max_size=60,
    )
)
def test_random_sentences_from_the_vocabulary_keep_exact_quotes(words: list[str]) -> None:
    text = " ".join(words)
    result = read([("sustain", text)], default_vocabulary())
    for signal in result.signals:
        assert text[signal.quote.start : signal.quote.end] == signal.quote.text


# --- more of the objective parser ------------------------------------------------------


def test_a_metric_in_one_sentence_and_its_number_in_the_next_are_one_objective(
    vocab: Vocabulary,
) -> None:
    text = "Leads from LinkedIn. We'd like 15 a month by Q2 but nothing formal."
    (objective,) = parse_objectives("success", text, vocab)
    assert (objective.number, objective.metric, objective.complete) == (
        "15",
        "Leads from LinkedIn",
        True,
    )
    assert text[objective.quote.start : objective.quote.end] == objective.quote.text


def test_from_one_number_to_another_targets_the_second(vocab: Vocabulary) -> None:
    text = "Grow newsletter subscribers from 4,000 to 6,000 by December"
    (objective,) = parse_objectives("success", text, vocab)
    assert (objective.number, objective.period) == ("6,000", "by December")


def test_a_current_audience_size_with_a_rhythm_word_is_not_a_target(vocab: Vocabulary) -> None:
    text = "Our weekly newsletter goes to 4,000 subscribers"
    assert not any(o.complete for o in parse_objectives("sustain", text, vocab))


def test_two_targets_in_one_sentence_each_take_the_nearest_period(vocab: Vocabulary) -> None:
    text = "6,000 subscribers by December and 30 demo requests a month"
    found = parse_objectives("success", text, vocab)
    assert [(o.number, o.period) for o in found] == [("6,000", "by December"), ("30", "a month")]


# --- more clauses and facts ------------------------------------------------------------


def test_a_quote_ends_before_the_but_that_turns_the_sentence(vocab: Vocabulary) -> None:
    result = reading(vocab, ("sustain", "We reply to DMs but comments often sit unanswered"))
    quotes = [s.quote.text for s in result.signals_for("converses")]
    assert quotes == ["We reply to DMs", "comments often sit unanswered"]


def test_a_hedge_in_its_own_sentence_still_hedges_the_purpose(vocab: Vocabulary) -> None:
    result = reading(vocab, ("pathway", "awareness i think? not really sure tbh"))
    assert result.verdict("has_objectives") == "unmet"


def test_shop_staff_are_people_not_a_shop_page(vocab: Vocabulary) -> None:
    result = reading(vocab, ("growth", "the shop staff reply to comments every day"))
    assert result.signals_for("hub") == ()
    assert result.facts.people == ("the shop staff",)
    assert result.verdict("beyond_marketing") == "met"


def test_what_customers_value_about_staff_is_not_social_work_beyond_marketing(
    vocab: Vocabulary,
) -> None:
    text = "Customers say the staff remember their names and follow up after every job."
    assert reading(vocab, ("value", text)).signals_for("beyond_marketing") == ()


def test_staff_sharing_posts_is_beyond_marketing_but_not_ownership(vocab: Vocabulary) -> None:
    result = reading(vocab, ("growth", "Employees are encouraged to share our job posts"))
    assert result.verdict("beyond_marketing") == "met"
    assert result.signals_for("owned") == ()


def test_what_the_team_used_to_do_is_not_practice(vocab: Vocabulary) -> None:
    result = reading(vocab, ("owners", "We used to have an agency posting daily"))
    assert [s.polarity for s in result.signals_for("owned")] == ["against"]


def test_names_before_the_verb_in_the_owners_answer_are_people(vocab: Vocabulary) -> None:
    result = reading(vocab, ("owners", "Tom in sales and Priya in marketing share it"))
    assert result.facts.people == ("Tom", "Priya")
    assert result.facts.purposes == ()


def test_a_word_that_starts_a_known_phrase_is_not_a_name(vocab: Vocabulary) -> None:
    result = reading(vocab, ("owners", "Google reviews get answered by whoever is in"))
    assert result.facts.people == ()


def test_a_wish_to_reply_with_no_object_is_still_a_wish(vocab: Vocabulary) -> None:
    result = reading(vocab, ("growth", "We'd love to reply more but there's no time"))
    assert cues(result, "converses") == [("against", "wish")]


def test_working_hours_are_a_speed(vocab: Vocabulary) -> None:
    text = "Our customer service team answers every message within 4 working hours"
    result = reading(vocab, ("sustain", text))
    assert result.verdict("converses") == "met"
    assert result.facts.people == ("Our customer service team",)


@pytest.mark.parametrize(
    ("question", "text"),
    [
        ("customers", "Homeowners who read reviews before they buy and follow local groups."),
        ("growth", "Customers reply to our stories every day"),
        ("value", "our followers often check the comments daily"),
    ],
)
def test_what_customers_do_is_not_the_teams_practice(
    vocab: Vocabulary, question: str, text: str
) -> None:
    result = reading(vocab, (question, text))
    assert result.signals_for("listens") == ()
    assert result.signals_for("converses") == ()


def test_a_noun_after_a_determiner_is_not_a_verb(vocab: Vocabulary) -> None:
    text = "We asked our followers what they wanted and started a weekly Q&A based on the answers"
    result = reading(vocab, ("growth", text))
    assert result.signals_for("converses") == ()
    assert result.verdict("tailors") == "met"


def test_a_colon_introduces_the_detail_of_the_same_practice(vocab: Vocabulary) -> None:
    text = "We engage daily: comment on partners' posts, reply to DMs, join Twitter chats."
    assert reading(vocab, ("sustain", text)).verdict("converses") == "met"


def test_a_percentage_growth_year_on_year_is_measurable(vocab: Vocabulary) -> None:
    (objective, *_) = parse_objectives("success", "Website traffic from social up 20% YoY", vocab)
    assert (objective.number, objective.metric, objective.period) == (
        "20%",
        "Website traffic from social",
        "YoY",
    )


def test_a_wish_ends_where_a_new_statement_starts(vocab: Vocabulary) -> None:
    text = "We'd like to start a newsletter, we already have a blog that we post to weekly."
    result = reading(vocab, ("growth", text))
    assert result.verdict("hub") == "met"


def test_after_if_the_wish_runs_across_the_comma(vocab: Vocabulary) -> None:
    text = "If we had a community manager, they would reply to every comment daily"
    result = reading(vocab, ("growth", text))
    assert not [s for s in result.signals if s.polarity == "for"]


def test_no_one_is_a_negation_not_a_number(vocab: Vocabulary) -> None:
    result = reading(vocab, ("sustain", "No one monitors mentions, and we never reply to reviews."))
    assert result.facts.objectives == ()
    assert result.verdict("listens") == "unmet"
    assert result.verdict("converses") == "unmet"


def test_hours_written_as_h_are_a_speed_not_a_target(vocab: Vocabulary) -> None:
    result = reading(vocab, ("sustain", "We try to reply to all comments within 24h."))
    assert result.verdict("converses") == "met"
    assert not any(o.number == "24" for o in result.facts.objectives)


def test_a_count_noun_can_start_the_metric(vocab: Vocabulary) -> None:
    (objective, *_) = parse_objectives("success", "By June: 1,000 newsletter sign-ups", vocab)
    assert (objective.number, objective.period, objective.complete) == ("1,000", "By June", True)


def test_a_role_in_brackets_after_a_name_makes_the_name_a_person(vocab: Vocabulary) -> None:
    result = reading(vocab, ("owners", "Priya (marketing manager) owns it, posting every weekday"))
    assert result.facts.people[0] == "Priya"
    assert result.verdict("owned") == "met"


def test_what_customers_value_in_engineers_is_not_social_work(vocab: Vocabulary) -> None:
    result = reading(vocab, ("value", "Reliability and our engineers' expertise"))
    assert result.signals == ()


def test_a_number_in_brackets_does_not_jump_to_the_next_metric(vocab: Vocabulary) -> None:
    text = "We track enquiries from social (target 25), follower growth and reply time."
    found = parse_objectives("success", text, vocab)
    assert not any(o.metric == "follower growth" and o.number for o in found)


def test_a_target_after_a_comma_still_belongs_to_the_metric_before(vocab: Vocabulary) -> None:
    text = "Applications per vacancy, we want 20 per role within 6 weeks of posting."
    (objective,) = parse_objectives("success", text, vocab)
    assert (objective.number, objective.metric, objective.complete) == ("20", "Applications", True)


@pytest.mark.parametrize(
    "text",
    [
        "Every recipe lives on our site and every pin and reel links back to it.",
        "newsletter every Sunday",
    ],
)
def test_an_own_site_social_links_back_to_or_a_newsletter_on_a_rhythm_is_a_hub(
    vocab: Vocabulary, text: str
) -> None:
    assert reading(vocab, ("growth", text)).verdict("hub") == "met"


def test_links_to_the_shop_on_our_site_are_no_hub(vocab: Vocabulary) -> None:
    text = "every post links back to our website's online shop"
    assert reading(vocab, ("growth", text)).verdict("hub") == "unmet"


def test_no_idea_how_it_is_sustained_is_no_rhythm(vocab: Vocabulary) -> None:
    result = reading(vocab, ("sustain", "no idea tbh"))
    assert result.verdict("owned") == "unmet"


def test_getting_people_in_the_door_is_footfall(vocab: Vocabulary) -> None:
    result = reading(vocab, ("pathway", "getting ppl in the door"))
    assert result.facts.purposes == ("footfall",)


def test_not_great_at_replying_is_not_conversing(vocab: Vocabulary) -> None:
    result = reading(vocab, ("sustain", "We're not great at replying, it can take a week."))
    assert result.verdict("converses") == "unmet"


def test_on_a_tie_the_metric_after_the_number_wins(vocab: Vocabulary) -> None:
    found = parse_objectives("success", "Reach 10,000 followers on Instagram this year", vocab)
    complete = [o for o in found if o.complete]
    assert [(o.number, o.metric) for o in complete] == [("10,000", "followers on Instagram")]


def test_a_customers_answer_labelled_b2b_and_b2c_lists_both_groups(vocab: Vocabulary) -> None:
    result = reading(vocab, ("customers", "B2B: procurement teams. B2C: home owners renovating."))
    assert result.facts.customers == ("procurement teams", "home owners renovating")


def test_hr_approving_job_posts_is_approval_only(vocab: Vocabulary) -> None:
    result = reading(vocab, ("owners", "HR approves job posts."))
    assert cues(result, "beyond_marketing") == [("against", "approval only")]


def test_staff_who_post_outweigh_a_role_that_approves(vocab: Vocabulary) -> None:
    text = "Head office decides, store managers post locally, and HR approves job posts."
    assert reading(vocab, ("owners", text)).verdict("beyond_marketing") == "met"


def test_the_member_naming_themself_with_a_rhythm_owns_it(vocab: Vocabulary) -> None:
    text = "I organise it alongside my day job whilst our apprentice helps on Fridays."
    result = reading(vocab, ("owners", text))
    assert result.verdict("owned") == "met"
    assert result.facts.people == ("our apprentice",)


def test_a_tool_inside_a_longer_tool_name_is_one_tool(vocab: Vocabulary) -> None:
    text = "Sunday evening I schedule the week in Meta Business Suite."
    result = reading(vocab, ("sustain", text))
    assert result.facts.tools == ("Meta Business Suite",)
    assert result.facts.cadences == ("Sunday evening",)


@pytest.mark.parametrize(
    "text",
    [
        "The comments tell us what to post next.",
        "We repurpose popular customer questions into carousels.",
        "Feedback from reviews drives our next posts.",
    ],
)
def test_what_the_audience_says_shaping_the_next_posts_is_tailoring(
    vocab: Vocabulary, text: str
) -> None:
    assert reading(vocab, ("growth", text)).verdict("tailors") == "met"


def test_scrolling_the_hashtags_most_mornings_is_a_listening_routine(vocab: Vocabulary) -> None:
    result = reading(vocab, ("growth", "We scroll through the hashtags most mornings."))
    assert cues(result, "listens") == [("for", "listening routine")]


def test_slow_approval_is_not_slow_replies(vocab: Vocabulary) -> None:
    result = reading(vocab, ("owners", "Legal has to approve every post, which takes days."))
    assert result.signals_for("converses") == ()
