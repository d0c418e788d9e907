"""The tests' own judges of a stream heard through JACK: they must fail on what they are there to catch."""

import mido

from helpers import align_heard, hanging_notes, sounding_at_end


def test_align_heard_allows_lost_notes_but_no_wrong_one():
    expected = [60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79]
    assert align_heard([64, 65, 67, 69], expected) == [2, 3, 4, 5]
    assert align_heard([64, 65, 69, 71], expected) == [2, 3, 5, 6]  # 67 lost on the way
    assert align_heard([64, 66, 67, 69], expected) is None  # 66 was never played
    assert align_heard([64, 62, 65, 67], expected) is None  # out of order
    assert align_heard([64, 72, 74, 76], expected) is None  # four lost in four heard: too many
    assert align_heard([60, 62, 64], expected, start=0) == [0, 1, 2]
    assert align_heard([62, 64, 65], expected, start=0) == [1, 2, 3]  # the first note lost
    assert align_heard([67, 69, 71], expected, start=0) is None  # not from the start
    assert align_heard([], expected) is None


def test_all_notes_off_ends_every_note_of_its_channel_only():
    on = lambda ch, n: mido.Message("note_on", channel=ch, note=n, velocity=64)  # noqa: E731
    off = lambda ch, n: mido.Message("note_off", channel=ch, note=n)  # noqa: E731
    cc = lambda ch, c: mido.Message("control_change", channel=ch, control=c)  # noqa: E731
    stream = [on(0, 60), on(0, 64), off(0, 60), on(1, 50), cc(0, 123)]
    assert hanging_notes(stream) == {(0, 64): 1, (1, 50): 1}
    assert sounding_at_end(stream) == {(1, 50): 1}
    assert sounding_at_end(stream + [cc(1, 120)]) == {}
    assert sounding_at_end(stream + [cc(1, 123), on(1, 52)]) == {(1, 52): 1}  # a note after the All Notes Off
