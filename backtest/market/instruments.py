"""Instrument definitions: frozen, slotted dataclasses, one per kind in the filing's universe.

Prices never live on an instrument: they live in :class:`backtest.market.MarketData` arrays.
An instrument only says *what* it is: kind, currency, contract multiplier, asset class, industry
(equities), country, liquidity, exchange, whether that exchange is an ISG member, and which book
may hold it (commodity and VIX futures: the Subsidiary only).

Notional exposure of a holding (docs/ARCHITECTURE.md) is ``quantity × multiplier × price ×
fx_to_usd``, with the underlying's price for options.

The instrument table (``instruments_table``) is the DataFrame form used by ``MarketData``: one row
per instrument id, one column per attribute below (``kind`` holds the enum's value).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd


class InstrumentKind(StrEnum):
    """What an instrument is; drives valuation, margining and routing."""

    EQUITY = "equity"
    ETF = "etf"
    EQUITY_INDEX_FUTURE = "equity_index_future"
    BOND_FUTURE = "bond_future"
    RATE_FUTURE = "rate_future"  # Eurodollar / Euribor / SOFR style: price = 100 - rate
    VIX_FUTURE = "vix_future"
    COMMODITY_FUTURE = "commodity_future"
    CURRENCY_FUTURE = "currency_future"
    CURRENCY_FORWARD = "currency_forward"
    INDEX_OPTION = "index_option"
    TBILL = "tbill"
    MONEY_MARKET = "money_market"


FUTURE_KINDS = frozenset(
    {
        InstrumentKind.EQUITY_INDEX_FUTURE,
        InstrumentKind.BOND_FUTURE,
        InstrumentKind.RATE_FUTURE,
        InstrumentKind.VIX_FUTURE,
        InstrumentKind.COMMODITY_FUTURE,
        InstrumentKind.CURRENCY_FUTURE,
    }
)
SUBSIDIARY_ONLY_KINDS = frozenset({InstrumentKind.VIX_FUTURE, InstrumentKind.COMMODITY_FUTURE})


class AssetClass(StrEnum):
    EQUITY = "equity"
    RATES = "rates"
    BOND = "bond"
    FX = "fx"
    VOLATILITY = "volatility"
    COMMODITY = "commodity"
    CASH = "cash"


class Book(StrEnum):
    """Where a holding sits: the fund itself or its wholly-owned offshore Subsidiary."""

    FUND = "fund"
    SUBSIDIARY = "subsidiary"


class Liquidity(StrEnum):
    LIQUID = "liquid"
    ILLIQUID = "illiquid"


#: ISO codes accepted as instrument / FX currencies.
KNOWN_CURRENCIES = frozenset(
    {
        "USD", "EUR", "JPY", "GBP", "CHF", "AUD", "NZD", "CAD", "SEK", "NOK", "MXN", "MXP",
        "KRW", "CNH", "HKD", "SGD", "BRL", "ZAR", "INR", "PLN", "TRY", "DKK",
    }
)  # fmt: skip

#: Exchanges that are members of the Intermarket Surveillance Group (subset relevant here).
ISG_EXCHANGES = frozenset(
    {"XNYS", "XNAS", "ARCX", "BATS", "CME", "CBOT", "NYMEX", "COMEX", "CFE", "CBOE", "ICE", "ICEUS",
     "ICEEU", "EUREX", "LIFFE", "OSE", "SGX", "ASX", "MEFF", "IDEM", "MONTREAL", "HKFE", "KRX"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Instrument:
    """Base record shared by every kind.

    Attributes
    ----------
    id : unique instrument id (``"ES"``, ``"AAPL"``, ``"SPX-2024-03-15-P-4800"``).
    kind : :class:`InstrumentKind`.
    currency : ISO code of the currency prices are quoted in.
    multiplier : currency value of a one-point price move per contract/share.
    asset_class : :class:`AssetClass`.
    industry : industry of an equity (``""`` otherwise).
    country : ISO country of the issuer / exchange.
    liquidity : :class:`Liquidity`.
    exchange : exchange (MIC or common name); ``"OTC"`` for forwards.
    isg_member : whether the exchange is an Intermarket Surveillance Group member.
    subsidiary_only : True when only the Subsidiary may hold it (commodity and VIX futures).
    root : futures root / option underlying / forward currency (``""`` when not applicable).
    """

    id: str
    kind: InstrumentKind
    currency: str = "USD"
    multiplier: float = 1.0
    asset_class: AssetClass = AssetClass.EQUITY
    industry: str = ""
    country: str = "US"
    liquidity: Liquidity = Liquidity.LIQUID
    exchange: str = "XNYS"
    isg_member: bool = True
    subsidiary_only: bool = False
    root: str = ""

    @property
    def is_future(self) -> bool:
        return self.kind in FUTURE_KINDS

    @property
    def book(self) -> Book:
        """The book that holds this instrument by default."""
        return Book.SUBSIDIARY if self.subsidiary_only else Book.FUND


def _future(kind: InstrumentKind, asset_class: AssetClass, subsidiary_only: bool = False):
    def make(id: str, **kw) -> Instrument:
        kw.setdefault("asset_class", asset_class)
        kw.setdefault("exchange", "CME")
        kw.setdefault("subsidiary_only", subsidiary_only)
        kw.setdefault("root", id)
        return Instrument(id=id, kind=kind, **kw)

    return make


def Equity(id: str, industry: str, **kw) -> Instrument:  # noqa: N802 - constructor-style factory
    """A listed common stock (whole shares, long or short)."""
    return Instrument(id=id, kind=InstrumentKind.EQUITY, industry=industry, **kw)


def ETF(id: str, **kw) -> Instrument:  # noqa: N802
    """An exchange-traded fund share."""
    kw.setdefault("exchange", "ARCX")
    return Instrument(id=id, kind=InstrumentKind.ETF, **kw)


EquityIndexFuture = _future(InstrumentKind.EQUITY_INDEX_FUTURE, AssetClass.EQUITY)
BondFuture = _future(InstrumentKind.BOND_FUTURE, AssetClass.BOND)
RateFuture = _future(InstrumentKind.RATE_FUTURE, AssetClass.RATES)
VIXFuture = _future(InstrumentKind.VIX_FUTURE, AssetClass.VOLATILITY, subsidiary_only=True)
CommodityFuture = _future(InstrumentKind.COMMODITY_FUTURE, AssetClass.COMMODITY, True)
CurrencyFuture = _future(InstrumentKind.CURRENCY_FUTURE, AssetClass.FX)


def CurrencyForward(currency: str, tenor_months: int = 1, **kw) -> Instrument:  # noqa: N802
    """An OTC outright forward buying ``currency`` against USD, rolled every ``tenor_months``.

    Priced in USD per unit of ``currency`` (multiplier 1: quantity is foreign-currency notional).
    Id: ``"FWD-EUR-1M"``.
    """
    kw.setdefault("exchange", "OTC")
    kw.setdefault("isg_member", True)  # OTC: the ISG rule applies to exchange-traded derivatives
    kw.setdefault("asset_class", AssetClass.FX)
    return Instrument(
        id=f"FWD-{currency}-{tenor_months}M",
        kind=InstrumentKind.CURRENCY_FORWARD,
        currency="USD",
        root=currency,
        **kw,
    )


def TBill(id: str = "TBILL-3M", **kw) -> Instrument:  # noqa: N802
    kw.setdefault("asset_class", AssetClass.CASH)
    return Instrument(id=id, kind=InstrumentKind.TBILL, **kw)


def MoneyMarket(id: str = "MMF", **kw) -> Instrument:  # noqa: N802
    kw.setdefault("asset_class", AssetClass.CASH)
    return Instrument(id=id, kind=InstrumentKind.MONEY_MARKET, **kw)


_OPTION_ID = re.compile(
    r"^(?P<root>[A-Z0-9_]+)-(?P<expiry>\d{4}-\d{2}-\d{2})-(?P<cp>[CP])-(?P<strike>\d+(\.\d+)?)$"
)


@dataclass(frozen=True, slots=True)
class IndexOption:
    """A European, cash-settled index option, created on demand for any strike and expiry.

    Id format ``ROOT-YYYY-MM-DD-{C|P}-STRIKE``, e.g. ``"SPX-2024-03-15-P-4800"``. Notional uses
    the underlying index level; ``multiplier`` is USD per index point (100 for SPX).
    """

    root: str
    expiry: pd.Timestamp
    strike: float
    is_call: bool
    multiplier: float = 100.0
    currency: str = "USD"
    exchange: str = "CBOE"
    isg_member: bool = True
    asset_class: AssetClass = AssetClass.VOLATILITY
    kind: InstrumentKind = field(default=InstrumentKind.INDEX_OPTION)

    @property
    def id(self) -> str:
        strike = f"{self.strike:g}" if float(self.strike).is_integer() else f"{self.strike}"
        e = self.expiry  # f"{e:%Y-%m-%d}" (pandas' years are 4 digits), without strftime
        date = f"{e.year:04d}-{e.month:02d}-{e.day:02d}"
        return f"{self.root}-{date}-{'C' if self.is_call else 'P'}-{strike}"

    @classmethod
    def from_id(cls, option_id: str, **kw) -> IndexOption:
        """Parse ``"SPX-2024-03-15-P-4800"``; raise ``ValueError`` naming the id if malformed."""
        m = _OPTION_ID.match(option_id)
        if m is None:
            raise ValueError(
                f"option id {option_id!r} is not ROOT-YYYY-MM-DD-C|P-STRIKE "
                "(e.g. 'SPX-2024-03-15-P-4800')"
            )
        return cls(
            root=m["root"],
            expiry=pd.Timestamp(m["expiry"]),
            strike=float(m["strike"]),
            is_call=m["cp"] == "C",
            **kw,
        )

    def as_instrument(self) -> Instrument:
        """The option as a generic table row (kind ``index_option``, root = underlying)."""
        return Instrument(
            id=self.id,
            kind=InstrumentKind.INDEX_OPTION,
            currency=self.currency,
            multiplier=self.multiplier,
            asset_class=self.asset_class,
            exchange=self.exchange,
            isg_member=self.isg_member,
            root=self.root,
        )


def is_option_id(instrument_id: str) -> bool:
    return _OPTION_ID.match(instrument_id) is not None


#: Columns of the instrument table, in order.
TABLE_COLUMNS = [f.name for f in dataclasses.fields(Instrument) if f.name != "id"]


def instruments_table(instruments: list[Instrument]) -> pd.DataFrame:
    """The DataFrame form: index ``id``, columns :data:`TABLE_COLUMNS` (enums as their values)."""
    rows = []
    for ins in instruments:
        row = {name: getattr(ins, name) for name in TABLE_COLUMNS}
        for k, v in row.items():
            if isinstance(v, StrEnum):
                row[k] = v.value
        rows.append(row)
    df = pd.DataFrame(rows, index=pd.Index([i.id for i in instruments], name="id"))
    if df.empty:
        df = pd.DataFrame(columns=TABLE_COLUMNS, index=pd.Index([], name="id"))
    if df.index.has_duplicates:
        dup = df.index[df.index.duplicated()].unique().tolist()
        raise ValueError(f"duplicate instrument ids: {dup}")
    return df.astype(
        {
            "kind": "str",
            "currency": "str",
            "multiplier": "float64",
            "asset_class": "str",
            "industry": "str",
            "country": "str",
            "liquidity": "str",
            "exchange": "str",
            "isg_member": "bool",
            "subsidiary_only": "bool",
            "root": "str",
        }
    )[TABLE_COLUMNS]


def instrument_from_row(instrument_id: str, row: pd.Series) -> Instrument:
    """Inverse of :func:`instruments_table` for one row."""
    return Instrument(
        id=instrument_id,
        kind=InstrumentKind(row["kind"]),
        currency=str(row["currency"]),
        multiplier=float(row["multiplier"]),
        asset_class=AssetClass(row["asset_class"]),
        industry=str(row["industry"]),
        country=str(row["country"]),
        liquidity=Liquidity(row["liquidity"]),
        exchange=str(row["exchange"]),
        isg_member=bool(row["isg_member"]),
        subsidiary_only=bool(row["subsidiary_only"]),
        root=str(row["root"]),
    )
