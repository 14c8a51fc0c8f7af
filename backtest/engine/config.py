"""Fund configuration: frozen dataclasses, loadable from TOML, validated on construction.

Every amount is in USD unless its name says otherwise; rates are annual decimals; ``_bps`` are
basis points (1e-4). ``FundConfig.frictionless(initial_nav_usd)`` switches off every cost, fee,
expense, interest, flow and buffer, for research and cross-checks.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

#: A futures position rolls at most this many business days before expiry (about a quarter:
#: the longest contract cycle the simulator handles).
MAX_ROLL_DAYS = 60
#: Upper bound of the cost-scaled position buffer's reference cost (bp per unit traded).
MAX_BUFFER_COST_REF_BPS = 100.0


class CashVehicle(StrEnum):
    """Where idle cash sits: T-bills earn the risk-free rate, a money-market fund earns it less
    its expense ratio."""

    TBILL = "tbill"
    MONEY_MARKET = "money_market"


class FlowKind(StrEnum):
    CASH = "cash"
    IN_KIND = "in_kind"


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(f"invalid fund config: {message}")


@dataclass(frozen=True)
class CostModel:
    """Trading costs, charged on the execution day and booked with the trade.

    ``commission_per_unit_usd``: per futures/option contract or per share (equities use
    ``commission_per_share_usd``); ``half_spread_bps`` by asset class (fraction of traded notional);
    ``impact_bps_per_pct_nav``: extra bps per 1% of net assets traded in one order (linear impact).
    """

    commission_per_contract_usd: float = 1.5
    commission_per_share_usd: float = 0.005
    half_spread_bps: dict[str, float] = field(
        default_factory=lambda: {
            "equity": 5.0, "bond": 1.0, "rates": 0.5, "fx": 1.0, "volatility": 5.0,
            "commodity": 3.0, "cash": 0.0,
        }
    )  # fmt: skip
    impact_bps_per_pct_nav: float = 0.0
    borrow_fee_annual: float = 0.003

    def __post_init__(self) -> None:
        _check(self.commission_per_contract_usd >= 0, "commission_per_contract_usd < 0")
        _check(self.commission_per_share_usd >= 0, "commission_per_share_usd < 0")
        _check(all(v >= 0 for v in self.half_spread_bps.values()), "a half_spread_bps is < 0")
        _check(self.impact_bps_per_pct_nav >= 0, "impact_bps_per_pct_nav < 0")
        _check(self.borrow_fee_annual >= 0, "borrow_fee_annual < 0")

    @classmethod
    def zero(cls) -> CostModel:
        return cls(0.0, 0.0, {k: 0.0 for k in cls().half_spread_bps}, 0.0, 0.0)


@dataclass(frozen=True)
class SubsidiaryPolicy:
    """Keeps the Subsidiary's net assets inside ``[band_low, band_high]`` of the fund's total
    assets on every day (transfers to ``target_pct``) and at most ``cap_pct`` at each fiscal
    quarter-end; tops it up whenever its cash falls below ``margin_pct`` of its futures notional.
    """

    cap_pct: float = 0.25
    target_pct: float = 0.15
    band_low: float = 0.05
    band_high: float = 0.22
    margin_pct: float = 0.10
    fiscal_year_end_month: int = 12

    def __post_init__(self) -> None:
        _check(0 < self.cap_pct <= 0.25, "Subsidiary cap must be in (0, 25%]")
        _check(
            0 <= self.band_low <= self.target_pct <= self.band_high <= self.cap_pct,
            "need 0 <= band_low <= target_pct <= band_high <= cap_pct",
        )
        _check(0 <= self.margin_pct < 1, "margin_pct must be in [0, 1)")
        _check(1 <= self.fiscal_year_end_month <= 12, "fiscal_year_end_month must be 1..12")


@dataclass(frozen=True)
class Flow:
    """One creation (+units) or redemption (−units) order, priced at that date's 5-dp NAV."""

    date: pd.Timestamp
    units: int
    kind: FlowKind = FlowKind.CASH

    def __post_init__(self) -> None:
        object.__setattr__(self, "date", pd.Timestamp(self.date))
        object.__setattr__(self, "kind", FlowKind(self.kind))
        _check(
            isinstance(self.units, int) and self.units != 0,
            f"flow on {self.date:%Y-%m-%d}: units must be a non-zero whole number of creation "
            f"units, got {self.units!r}",
        )


@dataclass(frozen=True)
class FlowSchedule:
    """Creations and redemptions: explicit ``flows`` plus an optional seeded AP process.

    The AP process places, on each trading day with probability ``ap_daily_prob``, an order of
    1..``ap_max_units`` creation units, a creation with probability ``ap_creation_prob``.
    """

    flows: tuple[Flow, ...] = ()
    ap_daily_prob: float = 0.0
    ap_creation_prob: float = 0.55
    ap_max_units: int = 2
    ap_in_kind_prob: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        _check(0 <= self.ap_daily_prob <= 1, "ap_daily_prob must be in [0, 1]")
        _check(0 <= self.ap_creation_prob <= 1, "ap_creation_prob must be in [0, 1]")
        _check(0 <= self.ap_in_kind_prob <= 1, "ap_in_kind_prob must be in [0, 1]")
        _check(self.ap_max_units >= 1, "ap_max_units must be >= 1")


@dataclass(frozen=True)
class FundConfig:
    """Everything the simulator needs to run the fund (docs/ARCHITECTURE.md, fund rules)."""

    initial_shares: int = 1_000_000
    initial_nav_per_share: float = 25.0
    creation_unit_shares: int = 50_000
    min_shares_outstanding: int = 100_000
    creation_fee_fixed_usd: float = 500.0
    creation_fee_bps: float = 0.0
    redemption_fee_fixed_usd: float = 500.0
    redemption_fee_bps: float = 0.0
    expense_ratio: float = 0.0095
    costs: CostModel = field(default_factory=CostModel)
    no_trade_buffer_pct_nav: float = 0.002
    #: also skip a change smaller than this fraction of the target position (pysystemtrade-style
    #: position buffering: vol-scaled targets wobble daily; trading every wobble costs more than
    #: it tracks)
    no_trade_buffer_pct_position: float = 0.15
    #: > 0: each instrument's position buffer is ``no_trade_buffer_pct_position × (c / ref)^(1/3)``
    #: with ``c`` its cost per unit of notional traded (half spread + commission per unit, bp)
    #: on the sizing day: costly instruments trade less often (the optimal no-trade band of a
    #: proportional cost grows as its cube root, Davis & Norman 1990); 0: the same buffer for
    #: every instrument. At 5 bp an equity (5 bp + commission) keeps ~15%, a bond future (1 bp)
    #: ~9%, a rate future (0.5 bp) ~7% (figures in the README, "No-trade buffer")
    no_trade_buffer_cost_ref_bps: float = 5.0
    #: outside the position buffer, trade to the buffer's near edge rather than to the target
    #: (Carver, *Systematic Trading*, 2015, ch. 11: the smallest trade that restores the band)
    no_trade_buffer_to_edge: bool = True
    roll_days_before_expiry: int = 5
    subsidiary: SubsidiaryPolicy = field(default_factory=SubsidiaryPolicy)
    cash_vehicle: CashVehicle = CashVehicle.TBILL
    money_market_fee_annual: float = 0.001
    earn_interest: bool = True
    flows: FlowSchedule = field(default_factory=FlowSchedule)
    #: "decision": quantities from the decision day's net assets and prices (known at that
    #: close); "execution": from the execution day's, as vectorbt's and bt's target-percent do.
    size_at: Literal["decision", "execution"] = "decision"

    def __post_init__(self) -> None:
        _check(self.size_at in ("decision", "execution"), "size_at is 'decision' or 'execution'")
        for name in ("initial_shares", "creation_unit_shares", "min_shares_outstanding",
                     "roll_days_before_expiry"):  # fmt: skip
            value = getattr(self, name)
            _check(isinstance(value, int | np.integer) and not isinstance(value, bool),
                   f"{name} must be a whole number, got {value!r}")  # fmt: skip
        _check(self.creation_unit_shares > 0, "creation unit must be > 0 shares")
        _check(self.min_shares_outstanding >= 0, "min_shares_outstanding < 0")
        _check(
            self.initial_shares >= self.min_shares_outstanding,
            f"initial shares {self.initial_shares} below the minimum {self.min_shares_outstanding}",
        )
        _check(self.initial_shares > 0, "initial shares must be positive")
        _check(self.initial_nav_per_share > 0, "initial NAV per share must be > 0")
        for name in (
            "creation_fee_fixed_usd",
            "creation_fee_bps",
            "redemption_fee_fixed_usd",
            "redemption_fee_bps",
            "expense_ratio",
            "no_trade_buffer_pct_nav",
            "no_trade_buffer_pct_position",
            "no_trade_buffer_cost_ref_bps",
            "money_market_fee_annual",
        ):
            _check(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)}")
        _check(self.no_trade_buffer_pct_position <= 1,
               "no_trade_buffer_pct_position must be a fraction of the position in [0, 1], "
               f"got {self.no_trade_buffer_pct_position}")  # fmt: skip
        _check(self.no_trade_buffer_cost_ref_bps <= MAX_BUFFER_COST_REF_BPS,
               f"no_trade_buffer_cost_ref_bps must be in [0, {MAX_BUFFER_COST_REF_BPS}] bp "
               f"(0: not scaled by cost), got {self.no_trade_buffer_cost_ref_bps}")  # fmt: skip
        _check(self.expense_ratio < 0.2, "expense_ratio must be an annual decimal (0.0095)")
        _check(
            0 <= self.roll_days_before_expiry <= MAX_ROLL_DAYS,
            f"roll_days_before_expiry must be in [0, {MAX_ROLL_DAYS}] business days, got "
            f"{self.roll_days_before_expiry}",
        )

    @property
    def initial_nav_usd(self) -> float:
        return self.initial_shares * self.initial_nav_per_share

    @classmethod
    def frictionless(cls, initial_nav_usd: float = 25_000_000.0, shares: int = 1_000_000):
        """No costs, fees, expenses, interest, flows or no-trade buffer."""
        _check(initial_nav_usd > 0, "initial_nav_usd must be > 0")
        return cls(
            initial_shares=shares,
            initial_nav_per_share=initial_nav_usd / shares,
            creation_fee_fixed_usd=0.0,
            redemption_fee_fixed_usd=0.0,
            expense_ratio=0.0,
            costs=CostModel.zero(),
            no_trade_buffer_pct_nav=0.0,
            no_trade_buffer_pct_position=0.0,
            no_trade_buffer_cost_ref_bps=0.0,
            no_trade_buffer_to_edge=False,
            earn_interest=False,
            flows=FlowSchedule(),
        )

    def replace(self, **changes) -> FundConfig:
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ TOML
    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> FundConfig:
        """Build from a nested dict (the ``[fund]`` table of a TOML file)."""
        data = dict(data)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{source}: unknown fund settings {sorted(unknown)}")
        try:
            if "costs" in data:
                data["costs"] = CostModel(**data["costs"])
            if "subsidiary" in data:
                data["subsidiary"] = SubsidiaryPolicy(**data["subsidiary"])
            if "cash_vehicle" in data:
                data["cash_vehicle"] = CashVehicle(data["cash_vehicle"])
            if "flows" in data:
                f = dict(data["flows"])
                f["flows"] = tuple(
                    Flow(date=x["date"], units=x["units"], kind=FlowKind(x.get("kind", "cash")))
                    for x in f.get("flows", [])
                )
                data["flows"] = FlowSchedule(**f)
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"{source}: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None

    @classmethod
    def from_toml(cls, path: str | Path) -> FundConfig:
        """Read the ``[fund]`` table of a TOML file (the whole file if it has no such table)."""
        path = Path(path)
        try:
            doc = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_dict(doc.get("fund", doc), source=str(path))
