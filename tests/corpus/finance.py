"""Finance: portfolios, discounting, option pricing."""
import math

import numpy as np
import scipy.special as sp

from corpus import C, N, SPD, U, entry

TRADING_DAYS = 252


def norm_cdf(x):
    """Normal CDF by the tanh approximation (Page, 1977)."""
    return 0.5 * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


@entry(U(0.1, 1.0, 4), SPD(4), wrt="w")
def portfolio_variance(w, cov):
    return w @ cov @ w


@entry(U(0.1, 1.0, 4), U(0.01, 0.1, 4), SPD(4), wrt="w")
def sharpe_ratio(w, mu, cov):
    w = w / w.sum()
    return (w @ mu - 0.01) / np.sqrt(w @ cov @ w)


@entry(U(0.1, 1.0, 4), U(0.01, 0.1, 4), SPD(4), U(1.0, 5.0), wrt=("w", "risk_aversion"))
def mean_variance_utility(w, mu, cov, risk_aversion):
    return w.dot(mu) - 0.5 * risk_aversion * w.dot(cov.dot(w))


@entry(N(4), U(0.01, 0.1, 4), SPD(4), wrt="z")
def softmax_portfolio(z, mu, cov):
    w = np.exp(z) / np.sum(np.exp(z))
    return -(mu @ w) + 2.0 * (w @ cov @ w)


@entry(U(-0.02, 0.03, 20), wrt="r")
def annualized_sharpe(r):
    return np.sqrt(TRADING_DAYS) * r.mean() / r.std(ddof=1)


@entry(U(-50, 100, 6), U(0.01, 0.1), wrt=("cf", "rate"))
def npv(cf, rate):
    t = np.arange(len(cf))
    return np.sum(cf / (1 + rate) ** t)


@entry(U(0.01, 0.1), U(0.5, 30.0), wrt="rate")
def annuity_payment(rate, periods, principal=1000.0):
    return principal * rate / (1 - (1 + rate) ** -periods)


@entry(U(0.01, 0.08), U(0.02, 0.06), C(10), wrt=("y", "coupon"))
def bond_price(y, coupon, n):
    price = 0.0
    for t in range(1, n + 1):
        price = price + coupon * 100 / (1 + y) ** t
    return price + 100 / (1 + y) ** n


@entry(U(0.01, 0.08), wrt="y")
def bond_duration(y, coupon=0.05, n=8):
    t = np.arange(1, n + 1)
    cf = np.full(n, coupon * 100.0) + 100.0 * (t == n)
    pv = cf / (1 + y) ** t
    return np.sum(t * pv) / np.sum(pv)


@entry(U(0.01, 0.06, 5), wrt="rates")
def continuous_discounting(rates):
    times = np.linspace(0.5, 2.5, 5)
    return np.sum(100 * np.exp(-rates * times))


@entry(U(80, 120), U(90, 110), U(0.2, 1.0), U(0.01, 0.05), U(0.1, 0.4), wrt=("S", "sigma", "r"))
def black_scholes_tanh(S, K, T, r, sigma):
    d1 = (np.log(S / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * np.sqrt(T))
    d2 = d1 - sigma * np.sqrt(T)
    return S * norm_cdf(d1) - K * np.exp(-r * T) * norm_cdf(d2)


@entry(U(80, 120), U(90, 110), U(0.2, 1.0), U(0.01, 0.05), U(0.1, 0.4), wrt=("S", "sigma"),
       needs=("scipy_special",))
def black_scholes_erf(S, K, T, r, sigma):
    d1 = (np.log(S / K) + (r + sigma ** 2 / 2) * T) / (sigma * np.sqrt(T))
    d2 = d1 - sigma * np.sqrt(T)
    Phi = lambda x: 0.5 * (1 + sp.erf(x / np.sqrt(2)))  # noqa: E731
    return S * Phi(d1) - K * np.exp(-r * T) * Phi(d2)


@entry(U(80, 120), U(0.1, 0.4), wrt=("S", "sigma"), needs=("math",))
def black_scholes_math(S, sigma, K=100.0, T=0.5, r=0.02):
    d1 = (math.log(S / K) + (r + 0.5 * sigma * sigma) * T) / (sigma * math.sqrt(T))
    d2 = d1 - sigma * math.sqrt(T)
    cdf = lambda x: 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))  # noqa: E731
    return S * cdf(d1) - K * math.exp(-r * T) * cdf(d2)


@entry(U(90, 110, 5), U(0.1, 0.4), wrt=("S", "sigma"))
def call_spread_vega_weighted(S, sigma, K=100.0, T=0.25):
    d1 = (np.log(S / K) + 0.5 * sigma ** 2 * T) / (sigma * np.sqrt(T))
    return np.sum(S * np.exp(-0.5 * d1 ** 2) / np.sqrt(2 * np.pi) * np.sqrt(T))


@entry(U(-0.02, 0.03, 12), U(0.5, 2.0, 12), wrt="r")
def log_wealth(r, leverage):
    return np.sum(np.log1p(leverage * r))


@entry(U(-0.02, 0.03, 10), wrt="r")
def cumulative_return(r):
    growth = np.cumsum(np.log1p(r))
    return np.exp(growth[-1]) - 1 + 0.1 * np.mean(growth)


@entry(U(-0.05, 0.05, 10), wrt="r")
def downside_deviation(r):
    return np.sqrt(np.mean(np.minimum(r, 0.0) ** 2))


@entry(U(0.1, 1.0, 4), SPD(4), wrt="w")
def risk_parity_objective(w, cov):
    sigma_w = cov @ w
    rc = w * sigma_w
    target = rc.sum() / len(w)
    return np.sum((rc - target) ** 2)


@entry(U(0.01, 0.05, 5), U(0.01, 0.1, 5), wrt="h")
def nelson_siegel_fit(h, obs):
    tau = np.array([0.5, 1.0, 2.0, 5.0, 10.0])
    model = h[0] + h[1] * (1 - np.exp(-tau)) / tau + h[2] * ((1 - np.exp(-tau)) / tau - np.exp(-tau))
    return np.sum((model - obs) ** 2)


@entry(U(0.1, 0.3), U(-0.05, 0.05, 8), wrt="sigma")
def garch_free_vol_loglik(sigma, r):
    return np.sum(-np.log(sigma) - 0.5 * r ** 2 / sigma ** 2)


@entry(U(0.05, 0.2), U(-0.05, 0.05, 8), wrt=("omega", "r"), needs=("index_update",))
def garch_filter(omega, r, alpha=0.1, beta=0.8):
    n = r.shape[0]
    s2 = np.zeros(n)
    s2[0] = omega / (1 - alpha - beta)
    for t in range(1, n):
        s2[t] = omega + alpha * r[t - 1] ** 2 + beta * s2[t - 1]
    return np.sum(np.log(s2) + r ** 2 / s2)


@entry(U(80, 120), U(0.1, 0.3), wrt=("S", "sigma"), needs=("branch",))
def barrier_payoff_smooth(S, sigma, K=100.0, B=130.0):
    price = S * np.exp(0.5 * sigma ** 2)
    if price > B:
        return 0.0 * price
    return np.log1p(np.exp(price - K))


@entry(U(0.01, 0.1, 6), U(0.01, 0.05), wrt=("hazard", "rate"))
def survival_annuity(hazard, rate):
    survival = np.cumprod(1 - hazard)
    discount = (1 + rate) ** -np.arange(1, len(hazard) + 1)
    return np.sum(survival * discount)
