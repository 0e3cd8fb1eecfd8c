"""Load progress: reporting() passes items through and reports each stage from 0 to its total."""
from captcha_core.progress import REPORTS_PER_STAGE, reporting


def recorded():
    calls = []
    return calls, lambda stage, done, total: calls.append((stage, done, total))


def test_items_pass_through_unchanged_with_or_without_a_report():
    calls, report = recorded()
    assert list(reporting(range(7), "counting", report)) == list(range(7))
    assert list(reporting(range(7), "counting", None)) == list(range(7))
    assert calls[0] == ("counting", 0, 7) and calls[-1] == ("counting", 7, 7)


def test_a_long_stage_reports_about_a_hundred_times_counting_up():
    calls, report = recorded()
    for _ in reporting(list(range(10_000)), "cutting", report):
        pass
    done = [d for _, d, _ in calls]
    assert done == sorted(done) and done[0] == 0 and done[-1] == 10_000
    assert REPORTS_PER_STAGE <= len(calls) <= REPORTS_PER_STAGE + 2
    assert {total for _, _, total in calls} == {10_000}


def test_an_iterator_reports_against_the_total_it_is_given():
    calls, report = recorded()
    assert sum(reporting(iter(range(5)), "reading", report, total=5)) == 10
    assert calls[-1] == ("reading", 5, 5)


def test_an_empty_stage_still_reports_its_start_and_end():
    calls, report = recorded()
    assert list(reporting([], "reading", report)) == []
    assert calls == [("reading", 0, 0), ("reading", 0, 0)]
