"""The planner, pure: AssignmentRows + calendar + policy → notices with their due moment.

Times are Asia/Shanghai. Calendar facts used (2026, State Council arrangement):
- National Day: Oct 1–7 off, Sat Oct 10 a make-up working day (Mid-autumn Sep 25 off);
- Spring Festival: Feb 15–23 off, Sat Feb 14 and Sat Feb 28 make-up working days.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import ReminderPolicy
from ledger.deadlines import MatterClass
from ledger.model import AssignmentStatus, Source
from reminders import kinds
from reminders.planner import EscalationKind, Planner, UnassignedMatter
from tests.reminders_sim import CAL, Sim, local, row

RESP, HANDLER, PRINCIPAL = 4, 5, 3


def test_deadline_series_over_national_day_with_make_up_saturday() -> None:
    s = Sim.of(row(deadline=date(2026, 10, 9), assigned_at=local(2026, 9, 21, 10)))
    s.run(local(2026, 9, 21, 10), local(2026, 10, 20, 12))
    log = s.log()
    assert log[:9] == [
        # 3 working days before Fri Oct 9: Tue Sep 29 (Sep 30, Oct 8, Oct 9 are left).
        ("09-29 09:00", kinds.BEFORE, RESP, "workdays_left=3"),
        ("09-29 09:00", kinds.BEFORE, HANDLER, "workdays_left=3"),
        # 1 before: Thu Oct 8, the first day after the holiday; nothing Oct 1–7.
        ("10-08 09:00", kinds.BEFORE, RESP, "workdays_left=1"),
        ("10-08 09:00", kinds.BEFORE, HANDLER, "workdays_left=1"),
        ("10-09 09:00", kinds.DUE, RESP, "workdays_left=0"),
        ("10-09 09:00", kinds.DUE, HANDLER, "workdays_left=0"),
        # Overdue on the make-up Saturday, principal added.
        ("10-10 09:00", kinds.OVERDUE, RESP, "overdue_workdays=1"),
        ("10-10 09:00", kinds.OVERDUE, HANDLER, "overdue_workdays=1"),
        ("10-10 09:00", kinds.OVERDUE, PRINCIPAL, "overdue_workdays=1"),
    ]
    overdue_days = [x[0][:5] for x in log[6:] if x[2] == PRINCIPAL]
    # Every working day while overdue, none on Sunday Oct 11 or the weekend of Oct 17–18.
    assert overdue_days == ["10-10", "10-12", "10-13", "10-14", "10-15", "10-16", "10-19",
                            "10-20"]
    # Nothing was sent outside 09:00, and nothing twice.
    assert {x[0][6:] for x in log} == {"09:00"}
    assert len({x.notice.key for x in s.sent}) == len(s.sent)
    # Auto 催办 after 3 working days overdue (Tue Oct 13), limit +3 working days (Fri Oct 16);
    # not done by then: flagged for criticism on the next working day, Mon Oct 19.
    assert [(e[0], e[1]) for e in s.escalations] == [
        (local(2026, 10, 13), EscalationKind.URGE), (local(2026, 10, 19), EscalationKind.FLAG)]


def test_spring_festival_make_up_saturday_and_silence_over_the_holiday() -> None:
    s = Sim.of(row(deadline=date(2026, 2, 24), assigned_at=local(2026, 2, 2, 10)))
    s.run(local(2026, 2, 2, 10), local(2026, 2, 25, 12))
    assert s.log() == [
        # no progress for 5 working days (Feb 3, 4, 5, 6, 9)
        ("02-09 09:00", kinds.STAGNANT, RESP, "stagnant_workdays=5,workdays_left=6"),
        ("02-12 09:00", kinds.BEFORE, RESP, "workdays_left=3"),
        ("02-12 09:00", kinds.BEFORE, HANDLER, "workdays_left=3"),
        ("02-14 09:00", kinds.BEFORE, RESP, "workdays_left=1"),   # make-up Saturday
        ("02-14 09:00", kinds.BEFORE, HANDLER, "workdays_left=1"),
        ("02-24 09:00", kinds.DUE, RESP, "workdays_left=0"),      # first day back
        ("02-24 09:00", kinds.DUE, HANDLER, "workdays_left=0"),
        ("02-25 09:00", kinds.OVERDUE, RESP, "overdue_workdays=1"),
        ("02-25 09:00", kinds.OVERDUE, HANDLER, "overdue_workdays=1"),
        ("02-25 09:00", kinds.OVERDUE, PRINCIPAL, "overdue_workdays=1"),
    ]


def test_payloads_carry_what_the_text_needs() -> None:
    s = Sim.of(row(deadline=date(2026, 12, 7), assigned_at=local(2026, 11, 20, 10)))
    s.run(local(2026, 12, 1, 8), local(2026, 12, 8, 12))
    by_kind = {x.notice.kind: x.notice for x in s.sent if x.notice.person_id == RESP}
    assert by_kind[kinds.BEFORE].payload == {"deadline": "2026-12-07", "workdays_left": 1}
    assert by_kind[kinds.DUE].payload == {"deadline": "2026-12-07", "workdays_left": 0}
    assert by_kind[kinds.OVERDUE].payload == {
        "deadline": "2026-12-07", "overdue_workdays": 1, "overdue_days": 1,
        "urge_count": 0, "urge_limit": None}
    n = by_kind[kinds.DUE]
    assert (n.matter_id, n.assignment_no, n.office_id) == (1, 1, 1)
    assert n.key == "rem:1:1:reminder_due:2026-12-07:20261207T0100Z:p4"


def test_weekend_deadline_is_due_on_the_friday_before() -> None:
    s = Sim.of(row(deadline=date(2026, 12, 6), assigned_at=local(2026, 11, 23, 10)))
    s.run(local(2026, 12, 1, 8), local(2026, 12, 8, 12))
    # Three working days before Sunday Dec 6 is Tue Dec 1 (Dec 2, 3, 4 are left).
    assert [(x[0], x[1]) for x in s.log() if x[2] == RESP] == [
        ("12-01 09:00", kinds.BEFORE),
        ("12-03 09:00", kinds.BEFORE),
        ("12-04 09:00", kinds.DUE),
        ("12-07 09:00", kinds.OVERDUE),
        ("12-08 09:00", kinds.OVERDUE),
    ]


def test_no_reminder_for_a_slot_before_the_assignment() -> None:
    # Assigned at 10:00 on the deadline day itself: the 09:00 due reminder is not sent.
    s = Sim.of(row(deadline=date(2026, 12, 7), assigned_at=local(2026, 12, 7, 10)))
    s.run(local(2026, 12, 7, 10), local(2026, 12, 8, 12))
    assert [(x[0], x[1]) for x in s.log() if x[2] == RESP] == [("12-08 09:00", kinds.OVERDUE)]


def test_same_person_twice_on_an_assignment_gets_one_message() -> None:
    s = Sim.of(row(deadline=date(2026, 12, 7), assigned_at=local(2026, 11, 20, 10),
                   responsible=4, handler=4, principal=4))
    s.run(local(2026, 12, 7, 8), local(2026, 12, 8, 12))
    assert [(x[0], x[1], x[2]) for x in s.log()] == [
        ("12-07 09:00", kinds.DUE, 4), ("12-08 09:00", kinds.OVERDUE, 4)]


def test_urgent_hourly_in_the_window_any_day_never_at_night() -> None:
    # 急件 assigned Friday Oct 9 at 18:20, due the same day.
    s = Sim.of(row(deadline=date(2026, 10, 9), assigned_at=local(2026, 10, 9, 18, 20),
                   klass=MatterClass.URGENT))
    s.run(local(2026, 10, 9, 18, 20), local(2026, 10, 11, 21), step=timedelta(minutes=1))
    times = sorted({x.local for x in s.sent})
    # 19:20 in the window; 20:20…07:20 quiet; 08:20 before quiet_end 08:30; 09:20 on.
    assert times[0] == "10-09 19:20"
    assert times[1] == "10-10 09:20"
    assert times[-1] == "10-11 19:20"  # Sunday too: urgent ignores non-working days
    assert len(times) == 1 + 11 + 11
    first = [x.notice for x in s.sent if x.local == "10-09 19:20"]
    assert {x.person_id for x in first} == {RESP, HANDLER}
    assert first[0].payload == {"deadline": "2026-10-09", "overdue": False,
                                "overdue_workdays": 0, "hours": 1}
    # Overdue from Saturday: the principal is added.
    sat = [x.notice for x in s.sent if x.local == "10-10 09:20"]
    assert {x.person_id for x in sat} == {RESP, HANDLER, PRINCIPAL}
    assert sat[0].payload["overdue"] is True
    # Urgent matters get no daily deadline reminders on top.
    assert {x.notice.kind for x in s.sent} == {kinds.URGENT}


def test_stagnation_counts_from_the_last_progress() -> None:
    s = Sim.of(row(deadline=date(2026, 12, 18), assigned_at=local(2026, 11, 2, 10)))
    progress = local(2026, 11, 12, 15)
    s.run(local(2026, 11, 2, 10), local(2026, 12, 16, 12),
          events=[(progress, lambda: s.change(1, last_progress_at=progress))])
    assert [x for x in s.log() if x[1] == kinds.STAGNANT] == [
        ("11-09 09:00", kinds.STAGNANT, RESP, "stagnant_workdays=5,workdays_left=29"),
        # progress on Thu Nov 12: five quiet working days again by Thu Nov 19
        ("11-19 09:00", kinds.STAGNANT, RESP, "stagnant_workdays=5,workdays_left=21"),
        ("11-26 09:00", kinds.STAGNANT, RESP, "stagnant_workdays=10,workdays_left=16"),
        ("12-03 09:00", kinds.STAGNANT, RESP, "stagnant_workdays=15,workdays_left=11"),
        ("12-10 09:00", kinds.STAGNANT, RESP, "stagnant_workdays=20,workdays_left=6"),
    ]


def test_progress_just_before_a_planned_stagnation_reminder_cancels_it() -> None:
    s = Sim.of(row(deadline=date(2026, 12, 18), assigned_at=local(2026, 11, 2, 10)))
    # planned at 08:50 (horizon 15 min), progress at 08:55, due 09:00: stale, not sent
    s.run(local(2026, 11, 9, 8, 50), local(2026, 11, 9, 8, 50))
    assert any(x.kind == kinds.STAGNANT for x in s.outbox.values())
    s.change(1, last_progress_at=local(2026, 11, 9, 8, 55))
    s.run(local(2026, 11, 9, 9), local(2026, 11, 9, 12))
    assert s.sent == []
    assert set(s.status.values()) == {"cancelled"}


def test_extension_replaces_the_series() -> None:
    s = Sim.of(row(deadline=date(2026, 12, 4), assigned_at=local(2026, 11, 20, 10)))
    s.run(local(2026, 11, 30, 8), local(2026, 12, 1, 8, 50))  # before-3 for Dec 4 planned
    s.change(1, deadline=date(2026, 12, 11))                     # extension approved 08:50
    s.run(local(2026, 12, 1, 8, 55), local(2026, 12, 11, 12))
    assert [(x[0], x[1], x[3]) for x in s.log() if x[2] == RESP] == [
        # ten working days without progress since Nov 20
        ("12-04 09:00", kinds.STAGNANT, "stagnant_workdays=10,workdays_left=5"),
        ("12-08 09:00", kinds.BEFORE, "workdays_left=3"),
        ("12-10 09:00", kinds.BEFORE, "workdays_left=1"),
        ("12-11 09:00", kinds.DUE, "workdays_left=0"),
    ]
    assert "cancelled" in s.status.values()


def test_completion_requested_paused_and_closed_are_silent() -> None:
    base = dict(deadline=date(2026, 12, 7), assigned_at=local(2026, 11, 20, 10))
    s = Sim.of(row(1, **base), row(2, status=AssignmentStatus.COMPLETION_REQUESTED, **base),
               row(3, paused=True, **base), row(4, **base))
    s.run(local(2026, 12, 7, 8), local(2026, 12, 7, 8, 50))
    s.close(4)  # closed at 08:50 after its due reminder was planned
    s.run(local(2026, 12, 7, 8, 55), local(2026, 12, 9, 12))
    assert {x.notice.matter_id for x in s.sent} == {1}
    # Escalations skip them too.
    assert {e[2] for e in s.escalations} <= {1}


def test_returned_matter_resumes_its_series() -> None:
    s = Sim.of(row(deadline=date(2026, 12, 7), assigned_at=local(2026, 11, 20, 10),
                   status=AssignmentStatus.COMPLETION_REQUESTED))
    s.run(local(2026, 12, 7, 8), local(2026, 12, 7, 12))
    assert s.sent == []
    s.change(1, status=AssignmentStatus.SIGNED)  # the office returned it at 12:00
    s.run(local(2026, 12, 7, 12, 5), local(2026, 12, 8, 12))
    # The live due slot of the day is caught up at once, then the next day as usual.
    assert [(x[0], x[1]) for x in s.log() if x[2] == RESP] == [
        ("12-07 12:05", kinds.DUE), ("12-08 09:00", kinds.OVERDUE)]


def test_downtime_catch_up_within_the_day_and_superseded_across_days() -> None:
    r = row(deadline=date(2026, 12, 7), assigned_at=local(2026, 11, 20, 10))
    # down 08:00–11:00 on Dec 4 (before-1 day): sent late, at 11:00, once
    s = Sim.of(r)
    s.run(local(2026, 12, 4, 11), local(2026, 12, 4, 19))
    assert [(x[0], x[1], x[3]) for x in s.log() if x[2] == RESP] == [
        ("12-04 11:00", kinds.BEFORE, "workdays_left=1")]
    assert s.sent[0].due == "12-04 09:00"
    # down from Dec 4 07:00 to Dec 7 10:00: Friday's reminder is not sent on Monday,
    # Monday's (due today) is, at once.
    s = Sim.of(r)
    s.run(local(2026, 12, 4, 6), local(2026, 12, 4, 7))
    s.run(local(2026, 12, 7, 10), local(2026, 12, 7, 12))
    assert [(x[0], x[1]) for x in s.log() if x[2] == RESP] == [("12-07 10:00", kinds.DUE)]
    # back at 21:00 on Dec 4, in quiet hours: nothing until Monday.
    s = Sim.of(r)
    s.run(local(2026, 12, 4, 21), local(2026, 12, 7, 8, 55))
    assert s.sent == []


def test_quiet_hours_and_send_at_are_configurable() -> None:
    policy = ReminderPolicy(send_at=time(7, 0), quiet_end=time(7, 30), quiet_start=time(18))
    s = Sim.of(row(deadline=date(2026, 12, 7), assigned_at=local(2026, 11, 20, 10)),
               policy=policy)
    s.run(local(2026, 12, 7, 0), local(2026, 12, 7, 23))
    # send_at before the window opens: moved to the window start
    assert {x.local for x in s.sent} == {"12-07 07:30"}


def test_workdays_only_off_sends_every_day() -> None:
    policy = ReminderPolicy(workdays_only=False, before_workdays=(1,))
    s = Sim.of(row(deadline=date(2026, 12, 6), assigned_at=local(2026, 11, 23, 10)),
               policy=policy)
    s.run(local(2026, 12, 3, 8), local(2026, 12, 8, 12))
    assert [(x[0], x[1]) for x in s.log() if x[2] == RESP] == [
        ("12-03 09:00", kinds.BEFORE),   # one working day before Sunday Dec 6 is Thu Dec 3
        ("12-06 09:00", kinds.DUE),      # on the Sunday itself
        ("12-07 09:00", kinds.OVERDUE),
        ("12-08 09:00", kinds.OVERDUE),
    ]


def test_office_service_level_reminders() -> None:
    s = Sim.of(policy=ReminderPolicy())
    s.unassigned[7] = UnassignedMatter(7, 1, Source.COUNTY_DECISION, False,
                                       received_at=local(2026, 12, 4, 16),
                                       registered_at=local(2026, 12, 4, 16, 5))
    s.unassigned[8] = UnassignedMatter(8, 1, Source.INSTRUCTION, True,
                                       received_at=local(2026, 12, 7, 10),
                                       registered_at=local(2026, 12, 7, 10, 5))
    s.targets = lambda office, private: [(1, None)] if private else [(None, -100)]
    s.run(local(2026, 12, 4, 16), local(2026, 12, 8, 8))
    s.unassigned.pop(7)  # assigned on Tuesday at 08:00
    s.run(local(2026, 12, 8, 8, 5), local(2026, 12, 9, 12))
    got = [(x.local, x.notice.matter_id, x.notice.person_id, x.notice.chat_id,
            x.notice.payload["late_workdays"]) for x in s.sent]
    assert got == [
        # received Fri Dec 4: due Mon Dec 7 (1 working day), to the office group
        ("12-07 09:00", 7, None, -100, 0),
        # a confidential instruction received Mon Dec 7: due Tue, to admins privately
        ("12-08 09:00", 8, 1, None, 0),
        ("12-09 09:00", 8, 1, None, 1),
    ]
    assert s.sent[1].notice.payload["level"] == "instruction"
    assert s.sent[0].notice.payload["level"] == "register"


def test_upcoming_preview_for_one_person() -> None:
    p = Planner(CAL, ReminderPolicy())
    rows = [row(1, deadline=date(2026, 12, 7), assigned_at=local(2026, 11, 20, 10)),
            row(2, deadline=date(2026, 12, 9), assigned_at=local(2026, 11, 20, 10),
                responsible=9)]
    got = p.upcoming(rows, local(2026, 12, 2, 12), local(2026, 12, 9, 12), person_id=RESP)
    assert [(x.matter_id, x.kind, x.due_at) for x in got] == [
        (1, kinds.BEFORE, local(2026, 12, 4)),
        (1, kinds.DUE, local(2026, 12, 7)),
        (1, kinds.OVERDUE, local(2026, 12, 8)),
        (1, kinds.OVERDUE, local(2026, 12, 9)),
    ]


def test_unknown_calendar_year_skips_the_row_and_says_which() -> None:
    p = Planner(CAL, ReminderPolicy())
    rows = [row(1, deadline=date(2029, 3, 1), assigned_at=local(2026, 11, 20, 10)),
            row(2, deadline=date(2026, 12, 7), assigned_at=local(2026, 11, 20, 10))]
    plan = p.plan(rows, local(2026, 12, 7, 9))
    assert plan.unknown_years == {2029}
    assert plan.skipped_rows == 1
    assert {x.matter_id for x in plan.notices} == {2}


def test_planning_is_idempotent() -> None:
    p = Planner(CAL, ReminderPolicy())
    rows = [row(i, deadline=date(2026, 12, 7), assigned_at=local(2026, 11, 20, 10))
            for i in range(1, 4)]
    a = p.plan(rows, local(2026, 12, 7, 8, 50))
    b = p.plan(rows, local(2026, 12, 7, 8, 55))
    assert [x.key for x in a.notices] == [x.key for x in b.notices]
    assert len({x.key for x in a.notices}) == len(a.notices) == 6


_DAY0 = local(2026, 9, 14, 0)


@settings(max_examples=30, deadline=None)
@given(
    deadline_offset=st.integers(0, 30),
    assigned_minutes=st.integers(0, 5 * 24 * 60),
    urgent=st.booleans(),
    steps=st.lists(st.integers(1, 15), min_size=50, max_size=50),
)
def test_what_is_sent_does_not_depend_on_when_the_scheduler_wakes(
        deadline_offset: int, assigned_minutes: int, urgent: bool, steps: list[int]) -> None:
    """Planning passes every 5 minutes or at random intervals within the horizon, plus a
    wake-up at the next due moment (as the JobQueue job does), send the same reminders
    (same keys), each once, on time."""
    assigned = _DAY0 + timedelta(minutes=assigned_minutes)
    deadline = CAL.add_workdays(assigned.date(), deadline_offset)
    r = row(deadline=deadline, assigned_at=assigned,
            klass=MatterClass.URGENT if urgent else MatterClass.NORMAL)
    end = assigned + timedelta(days=9 if not urgent else 2)

    regular = Sim.of(r)
    regular.run(assigned, end, step=timedelta(minutes=5))

    irregular = Sim.of(r)
    it = iter(steps * 1000)
    irregular.run(assigned, end, step=lambda: timedelta(minutes=next(it)))
    keys = [x.notice.key for x in regular.sent]
    assert len(keys) == len(set(keys))
    assert sorted(keys) == sorted(x.notice.key for x in irregular.sent)
    # The scheduler also wakes at the next due moment: nothing is late.
    for x in [*regular.sent, *irregular.sent]:
        assert x.at == x.notice.due_at


def test_release_of_what_falls_due_in_quiet_hours_or_on_holidays() -> None:
    p = Planner(CAL, ReminderPolicy())
    # in the window: at once
    assert p.release_at(local(2026, 12, 7, 10), local(2026, 12, 7, 10)) == local(2026, 12, 7, 10)
    # after 20:00: next working morning at send_at
    assert p.release_at(local(2026, 12, 7, 21), local(2026, 12, 7, 21)) == local(2026, 12, 8, 9)
    # early morning of a working day: that day's send_at
    assert p.release_at(local(2026, 12, 8, 6), local(2026, 12, 8, 6)) == local(2026, 12, 8, 9)
    # Friday night → Monday; the National Day week → Thu Oct 8
    assert p.release_at(local(2026, 12, 4, 23), local(2026, 12, 5, 10)) == local(2026, 12, 7, 9)
    assert p.release_at(local(2026, 9, 30, 22), local(2026, 10, 3, 9)) == local(2026, 10, 8, 9)
    # the make-up Saturday Feb 14 evening → after the Spring Festival, Tue Feb 24
    assert p.release_at(local(2026, 2, 14, 21), local(2026, 2, 14, 21)) == local(2026, 2, 24, 9)
    # due in the window but only looked at after it closed: the next morning too
    assert p.release_at(local(2026, 12, 7, 19, 59), local(2026, 12, 7, 20, 1)) == \
        local(2026, 12, 8, 9)
