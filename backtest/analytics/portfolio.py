"""Portfolio statistics of a fund run: exposure by group, turnover, realised and ex-ante risk
contributions of the strategies. Pure functions of DataFrames (dates × columns).

Units: exposures and turnover are fractions of net assets (1.0 = 100%); turnover a year is the
mean daily turnover × 252; risk contributions are shares of the total variance (they sum to 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.market.calendar import TRADING_DAYS_PER_YEAR


def exposure_by_group(
    notionals: pd.DataFrame, groups: pd.Series, net_assets: pd.Series
) -> pd.DataFrame:
    """Gross ``Σ|n_i|`` and net ``Σ n_i`` notional of each group over net assets.

    Parameters
    ----------
    notionals : DataFrame of shape (n_dates, n_instruments)
        Signed notional exposure in USD at each close.
    groups : Series
        Group of each instrument (index: the columns of ``notionals``), e.g. its asset class.
    net_assets : Series of shape (n_dates,)
        Net assets in USD at each close.

    Returns
    -------
    DataFrame of shape (n_dates, 2 × n_groups)
        Columns ``"gross:<group>"`` and ``"net:<group>"``, fractions of net assets.
    """
    labels = groups.reindex(notionals.columns).to_numpy()
    gross = notionals.abs().T.groupby(labels).sum().T
    net = notionals.T.groupby(labels).sum().T
    out = pd.concat([gross.add_prefix("gross:"), net.add_prefix("net:")], axis=1)
    return out.div(net_assets.reindex(out.index), axis=0)


def turnover(targets: pd.DataFrame) -> pd.Series:
    """Daily turnover of a book of targets: ``Σ_i |x_{t,i} − x_{t−1,i}|`` (fraction of net
    assets traded), starting from an empty book (the first row counts in full)."""
    x = targets.fillna(0.0)
    return x.diff().fillna(x).abs().sum(axis=1)


def strategy_turnover(positions: dict[str, pd.DataFrame], weights: pd.DataFrame) -> pd.DataFrame:
    """Daily turnover of each strategy's sleeve of the fund's targets, ``weight_s[t] ×
    exposure_s[t]`` (:func:`backtest.fund.run.combine` before netting and limits): dates ×
    strategies, fractions of the fund's net assets."""
    return pd.DataFrame({name: turnover(pos.mul(weights[name].reindex(pos.index), axis=0))
                         for name, pos in positions.items()})  # fmt: skip


def annual_turnover(daily: pd.DataFrame | pd.Series):
    """Turnover a year: mean daily turnover × 252 (1.0 = 100% of net assets a year)."""
    return daily.mean() * TRADING_DAYS_PER_YEAR


def risk_contributions(contributions: pd.DataFrame) -> pd.Series:
    """Realised share of each item in the variance of their sum (Euler decomposition):
    ``cov(c_i, Σ_j c_j) / var(Σ_j c_j)``; the shares sum to 1.

    ``contributions``: daily return contributions (dates × items), e.g. ``weight[t−2] ×
    strategy_return[t]``.

    Reference: Qian, E. (2006), "On the financial interpretation of risk contribution: risk
    budgets do add up", *Journal of Investment Management* 4(4), 41–51.
    """
    c = contributions.dropna()
    total = c.sum(axis=1)
    var = total.var()
    if not var > 0:
        return pd.Series(np.nan, index=c.columns)
    return c.apply(lambda s: s.cov(total)) / var


def ex_ante_risk_shares(
    weights: pd.DataFrame, returns: pd.DataFrame, lookback_days: int = 252
) -> pd.DataFrame:
    """Ex-ante risk shares of the weights, ``w_i (Σ w)_i / w'Σw``, with ``Σ`` the sample
    covariance of ``returns`` over the ``lookback_days`` rows *before* each date (what an
    allocator sees); dates × strategies, NaN until the window is full or with no risk."""
    r = returns.reindex(columns=weights.columns)
    cov = r.rolling(lookback_days, min_periods=lookback_days).cov().shift(len(r.columns))
    w = weights.reindex(r.index).fillna(0.0).to_numpy()
    sigma = cov.to_numpy().reshape(len(r), len(r.columns), len(r.columns))
    out = np.full(w.shape, np.nan)
    for t in range(len(r)):
        if np.isfinite(sigma[t]).all():
            marginal = sigma[t] @ w[t]
            total = float(w[t] @ marginal)
            if total > 0:
                out[t] = w[t] * marginal / total
    return pd.DataFrame(out, index=r.index, columns=r.columns)
