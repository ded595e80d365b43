"""Practice experiments: teams try a practice from a date, compared fairly with others.

A manager (or the CLI) registers which teams try which practice from when (``store``: app
state, so definitions survive imports); the plan frozen then picks comparison teams like them
and says how long it should take (``compare``, ``power``). Every analysis run, ``show`` and the
web app measure each team's weekly outcome and its use of the practice (``panels``: deals won
within H days of creation, buyer impact, response hours, adoption), estimate the change against
the comparison teams with staggered difference-in-differences and team-level bootstrap intervals
(``did``), and word a verdict (``verdict``, ``evaluate``, ``model``). A rep can also try a
practice alone (``personal``): before and after on their own deals, never a verdict.

The modules are imported where used; importing the package loads nothing else.
"""
