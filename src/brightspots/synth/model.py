"""The true model: practice effects and propensities, the case mix of the win odds (segment,
territory, account, deal size, source, quarter, tenure), cycle lengths and the decoy rates.
"""

from __future__ import annotations

import numpy as np

PRACTICES = ("multi_threading", "fast_response", "meeting_before_proposal")
PRACTICE_EFFECT = np.array([0.55, 0.45, 0.50])  # true win log-odds effects
PRACTICE_BASE = np.array([-0.6, -0.2, 0.0])  # logit of the practice rate of an average rep
PRACTICE_SEGMENT = np.array([[-0.4, 0.0, 0.4], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
SEGMENTS = ("smb", "mid", "enterprise")
SEG_POTENTIAL = np.array([30_000.0, 180_000.0, 900_000.0])  # annual potential, average territory
SEG_EMPLOYEES = np.array([60.0, 700.0, 8000.0])
SEG_WIN = np.array([0.15, 0.0, -0.35])
SEG_CYCLE = np.array([14.0, 30.0, 55.0])  # median business days from creation to close
SOURCES = ("inbound", "outbound", "partner", "referral", "expansion")
SOURCE_WIN = np.array([0.35, -0.45, 0.15, 0.55, 0.80])
QUARTER_WIN = np.array([-0.15, 0.0, -0.05, 0.20])  # quarter of the year the deal was created
BASE_LOGIT = -1.55
TERRITORY_WIN = 0.35  # per log unit of territory potential
ACCOUNT_WIN = 0.12  # per log unit of account potential relative to its territory and segment
DEAL_SIZE_WIN = -0.35  # per log unit of initial amount relative to the account's usual deal
DEAL_SHARE = 0.09  # usual deal = this share of the account's annual potential
TENURE_WIN = -0.7  # ramp-up: TENURE_WIN * exp(-tenure_years / TENURE_SCALE)
TENURE_SCALE = 0.7
TERRITORY_SIGMA = 0.6
DEMO_RATE = 0.45  # decoy: demos per deal in an average territory
DEMO_ELASTICITY = 1.3  # ... times potential ** DEMO_ELASTICITY (more in rich territories)
DEMO_SPAN = 30.0  # ... per this many open business days (the rate is per day, not per deal)
MEETING_WITHIN = 12.0  # a first meeting comes 1 to this many business days after creation
CADENCE_PER_DAY = 0.18  # decoy: calls and e-mails per open business day, any outcome
SKILL_SD = 0.12
PROPENSITY_SD = 0.45
BRIGHT_SKILL = (0.8, 1.2)  # planted bright spots: skill (win log-odds), uniform in this range
BRIGHT_OFFSET = (0.9, 1.4)  # ... and practice propensity offsets (logit), uniform
TEAM_EFFECT = (0.30, 0.40)  # coached team: win log-odds added to each of its reps, uniform
COACHED_SKILL_CLIP = 0.5  # coached reps' own skill and offsets are clipped at this many SDs
# Booked amount of a won deal = initial amount * drift. The amount of some won deals is never
# updated (drift 1); the others move by a lognormal factor (discounts, added seats, descoping).
WON_UNCHANGED = 0.25
WON_DRIFT_MU = 0.06
WON_DRIFT_SD = 0.28
BRIGHT_UPLIFT = (0.05, 0.12)  # bright spots: extra log drift of their updated won amounts


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
