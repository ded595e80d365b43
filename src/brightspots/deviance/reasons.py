"""The plain sentence that explains each unit's label, for each outcome."""

from __future__ import annotations

from brightspots.deviance.constants import P_ABOVE_1_THRESHOLD, Q_THRESHOLD, Z95, Z998

#: symbols written before an amount; other currencies are written as a code after it
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "AUD": "A$", "CAD": "C$"}


def _num(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def money_pair(a: float, b: float, currency: str) -> tuple[str, str]:
    """Two amounts on one scale: (1_210_000, 820_000) -> ('$1.2M', '$0.8M')."""
    top = max(abs(a), abs(b))
    scale, suffix, places = (
        (1e9, "B", 1) if top >= 1e9 else (1e6, "M", 1) if top >= 1e6 else (1e3, "k", 0)
    )
    if top < 1e4:
        scale, suffix, places = 1.0, "", 0
    code = currency.upper()
    symbol = _SYMBOLS.get(code)

    def one(x: float) -> str:
        body = f"{x / scale:,.{places}f}{suffix}" if x else "0"
        return f"{symbol}{body}" if symbol else f"{body} {code}"

    return one(a), one(b)


def tally(outcome: str, observed: float, expected: float, currency: str) -> str:
    if outcome == "won_revenue":
        o, e = money_pair(observed, expected, currency)
        return f"won revenue: {o} booked where {e} was expected"
    if outcome == "buyer_impact":
        return (
            f"{_num(observed)} touch{'es' if observed != 1 else ''} reached a buyer where "
            f"{expected:.1f} were expected"
        )
    return f"{_num(observed)} win{'s' if observed != 1 else ''} where {expected:.1f} were expected"


def _need(outcome: str, need: float) -> str:
    if outcome == "won_revenue":
        return f"would need to book more than {need:.1f} times the won revenue expected"
    if outcome == "buyer_impact":
        return f"would need buyer impact on more than {need:.1f} times the touches expected"
    return f"would need to win more than {need:.1f} times what was expected"


def volume(outcome: str, n: float) -> str:
    """What an outcome's volume counts: '64 closed deals', '1 settled touch'."""
    if outcome == "buyer_impact":
        return f"{n:,.0f} settled touch{'es' if n != 1 else ''}"
    return f"{_num(n)} closed deal{'s' if n != 1 else ''}"


def reason(
    row: dict,
    *,
    outcome: str,
    min_volume: int,
    tau2: float,
    noun: str,
    effect: float,
    currency: str,
) -> str:
    """One sentence (or two) for a unit: why it has its label, or what it would need."""
    n, o, e = row["n"], row["observed"], row["expected"]
    deals = volume(outcome, n)
    what = "settled touches" if outcome == "buyer_impact" else "closed deals"
    said = tally(outcome, o, e, currency)
    if n == 0:
        return f"No {what} in the window."
    if e <= 0:
        chance = {
            "won_revenue": "an expected booked amount",
            "buyer_impact": "a predicted chance of buyer impact",
        }.get(outcome, "a predicted win probability")
        return f"{deals}, none with {chance} above 0: nothing to compare."
    if row["variance"] <= 0:
        return f"{deals}, all predicted certain wins or losses: nothing to compare."
    if n < min_volume:
        need = row["needed_oe"]
        reach = f"; out of reach with {deals}" if outcome == "win_rate" and need * e >= n else ""
        return (
            f"Not enough {what} yet to tell: {n:,.0f} of the {min_volume:,} needed. To show, "
            f"{_need(outcome, need)} (now {row['oe']:.1f}{reach})."
        )
    label = row["label"]
    if label == "bright_spot":
        if row["z_od"] >= Z998:
            why = "Above the 99.8% limit after allowing for overdispersion"
        else:
            why = (
                f"Significant after allowing for the number of {noun}s compared "
                f"(q = {row['q_value']:.3f})"
            )
        return f"{why}, above expectation in both halves of the sample, {deals}: {said}."
    if label == "candidate":
        if row["z_od"] >= Z95:
            hint = "above the 95% limit after allowing for overdispersion"
        else:
            hint = "above the exact 99.8% limit before allowing for overdispersion"
        gaps = []
        if not (row["z_od"] >= Z998 or row["q_value"] <= Q_THRESHOLD):
            gaps.append(
                f"neither beyond the 99.8% limit nor significant once the number of {noun}s "
                "compared is allowed for"
            )
        if tau2 > 0 and not row["p_above_1"] >= P_ABOVE_1_THRESHOLD:
            gaps.append(f"only {row['p_above_1']:.0%} sure to be above expectation")
        if not row["sustained"]:
            gaps.append("not above expectation in both halves of the sample")
        return f"Candidate, {hint} ({said}), but {' and '.join(gaps)}."
    # equal up to the rounding of a sum (engines add in different orders) is not above
    above = o - e > 1e-9 * max(1.0, abs(e))
    text = (
        f"Above expectation but not beyond chance: {said}."
        if above
        else f"Not above expectation: {said}."
    )
    if not row["detectable"]:
        text += (
            f" Too few {'touches' if outcome == 'buyer_impact' else 'deals'} to tell reliably: "
            f"a true {effect:g} times expectation would be "
            f"found only {row['power']:.0%} of the time."
        )
    return text
