"""What checkers see of the world (``sim.world.views``): answers that match their definitions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.world.world import World


@settings(max_examples=60, deadline=None, database=None)
@given(data=st.data())
def test_reaches_is_some_other_member_linked_both_ways_or_being_the_group(data: st.DataObject) -> None:
    """Invariant: node ``a`` reaches ``group`` when some other member and ``a`` reach each other
    (both online, no cut either way), or when the group is ``a`` alone; under any cuts and any
    online set."""
    n = data.draw(st.integers(1, 9))
    world = World(sim.parse_scenario(f'[scenario]\nname = "v"\nduration = "1m"\n[validators]\ncount = {n}\n'), 1, None)
    epoch = world.network.change(1.0)
    epoch.blocked[:] = data.draw(st.lists(st.lists(st.booleans(), min_size=n, max_size=n), min_size=n, max_size=n))
    epoch.online[:] = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    names = world.names
    a = data.draw(st.sampled_from(names))
    group = set(data.draw(st.lists(st.sampled_from(names), min_size=1)))
    i = names.index(a)
    net = world.network
    expected = any(net.reachable(i, names.index(g)) and net.reachable(names.index(g), i)
                   for g in group if g != a) or group == {a}
    assert world.views.reaches(a, group) == expected
    world.close()
