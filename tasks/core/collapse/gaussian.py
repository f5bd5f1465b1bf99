r"""The closed-form setting: Gaussians (or Gaussian mixtures) refit on their own samples.

Fit
===

``components = 1``: the maximum-likelihood Gaussian, ``μ = (1/M) Σ x_i`` and
``Σ = (1/M) Σ (x_i - μ)(x_i - μ)ᵀ`` (plus ``reg · I``, as scikit-learn's ``reg_covar``).
``components > 1``: ``sklearn.mixture.GaussianMixture`` (full covariances, EM, seeded). Sampling uses
the caller's ``numpy`` generator, so chains are reproducible by seed.

Metrics against generation 0
============================

For a mixture the moments are ``μ = Σ_k π_k μ_k`` and ``Σ = Σ_k π_k (Σ_k + μ_k μ_kᵀ) - μ μᵀ``.

* **variance ratio** = ``tr Σ_g / tr Σ_0`` (total variance kept);
* **Wasserstein-2** between ``N(μ_g, Σ_g)`` and ``N(μ_0, Σ_0)`` (exact for one component; for a mixture
  it is the distance between its moment-matched Gaussians)::

      W₂² = ‖μ_g - μ_0‖² + tr(Σ_g + Σ_0 - 2 (Σ_0^{1/2} Σ_g Σ_0^{1/2})^{1/2})

Why the variance decays under ``replace`` (Shumailov et al. 2024; Suresh et al. 2024)
====================================================================================

In one dimension, with ``M`` samples per generation from ``N(μ_g, var_g)``, the MLE variance is
``var_{g+1} = var_g · χ²_{M-1} / M``, independently each generation. Hence

* MLE (``ddof = 0``): ``E[var_g / var_0] = ((M - 1) / M)^g ≈ exp(-g / M)``;
* unbiased (``ddof = 1``): ``E[var_g / var_0] = 1`` for every ``g`` (a martingale), yet it still collapses
  almost surely, because ``E[ln(var_g / var_0)] = g · (ψ((M - 1) / 2) + ln 2 - ln(M - ddof)) < 0``
  (``ψ`` the digamma function) and the log-variance is a random walk with that drift.

With ``accumulate`` the fit at generation ``g`` sees all ``(g + 1) M`` points so far; each new
generation moves it by ``O(1 / (g M))``, a convergent series, so the variance stays bounded away from
0 (Gerstgrasser et al. 2024). :func:`variance_chains` simulates many independent chains at once to
check both statements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma
from sklearn.mixture import GaussianMixture


@dataclass(frozen=True)
class GaussianFit:
    """A Gaussian mixture: weights ``(k,)``, means ``(k, d)``, covariances ``(k, d, d)``."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        counts = rng.multinomial(n, self.weights)
        parts = [
            rng.multivariate_normal(self.means[k], self.covariances[k], size=c, method="eigh")
            for k, c in enumerate(counts)
            if c
        ]
        x = np.concatenate(parts) if parts else np.zeros((0, self.means.shape[1]))
        return x[rng.permutation(n)]

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        mean = self.weights @ self.means
        second = np.einsum(
            "k,kij->ij", self.weights, self.covariances + np.einsum("ki,kj->kij", self.means, self.means)
        )
        return mean, second - np.outer(mean, mean)


def fit_gaussian(x: np.ndarray, components: int = 1, seed: int = 0, reg: float = 1e-6) -> GaussianFit:
    """The maximum-likelihood Gaussian (``components = 1``) or a scikit-learn mixture fit on rows of ``x``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"fitting a Gaussian needs a (n >= 2, d) array, got shape {x.shape}")
    d = x.shape[1]
    if components == 1:
        mean = x.mean(axis=0)
        centred = x - mean
        cov = centred.T @ centred / x.shape[0] + reg * np.eye(d)
        return GaussianFit(np.ones(1), mean[None, :], cov[None, :, :])
    mixture = GaussianMixture(
        n_components=min(components, x.shape[0]), covariance_type="full", reg_covar=reg, random_state=seed
    ).fit(x)
    return GaussianFit(mixture.weights_, mixture.means_, mixture.covariances_)


def variance_ratio(fit: GaussianFit, base: GaussianFit) -> float:
    """``tr Σ / tr Σ_0`` of the moment-matched covariances."""
    return float(np.trace(fit.moments()[1]) / np.trace(base.moments()[1]))


def wasserstein2(fit: GaussianFit, base: GaussianFit) -> float:
    """Wasserstein-2 distance between the moment-matched Gaussians of ``fit`` and ``base``."""
    m1, s1 = fit.moments()
    m0, s0 = base.moments()
    values, vectors = np.linalg.eigh(s0)
    root0 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root0 @ s1 @ root0), 0, None)).sum()
    squared = float(((m1 - m0) ** 2).sum() + np.trace(s1) + np.trace(s0) - 2 * cross)
    return float(np.sqrt(max(squared, 0.0)))


def variance_chains(
    policy: str,
    m: int,
    generations: int,
    chains: int,
    rng: np.random.Generator,
    ddof: int = 0,
    real_share: float = 0.5,
) -> np.ndarray:
    """``var_g / var_0`` of ``chains`` independent 1-D chains, shape ``(generations + 1, chains)``.

    Generation 0 is fit on ``m`` real points from ``N(0, 1)``; generation ``g`` on ``replace`` (the
    ``m`` samples of generation ``g - 1``), ``accumulate`` (the real points and every sample so far)
    or ``fixed-real`` (the first ``real_share · m`` real points and ``m`` minus that many samples).
    """
    if policy not in ("replace", "accumulate", "fixed-real"):
        raise ValueError(f"unknown policy {policy!r}")
    if m < 2:
        raise ValueError(f"m must be at least 2, got {m}")
    real = rng.standard_normal((chains, m))
    keep = round(real_share * m)
    train = real
    ratios = np.empty((generations + 1, chains))
    var0 = real.var(axis=1, ddof=ddof)
    mean, var = real.mean(axis=1), var0
    ratios[0] = 1.0
    for g in range(1, generations + 1):
        samples = mean[:, None] + np.sqrt(var)[:, None] * rng.standard_normal((chains, m))
        if policy == "replace":
            train = samples
        elif policy == "accumulate":
            train = np.concatenate([train, samples], axis=1)
        else:
            train = np.concatenate([real[:, :keep], samples[:, : m - keep]], axis=1)
        mean, var = train.mean(axis=1), train.var(axis=1, ddof=ddof)
        ratios[g] = var / var0
    return ratios


def expected_replace_ratio(m: int, generations: int, ddof: int = 0) -> np.ndarray:
    """``E[var_g / var_0]`` under ``replace`` for ``g = 0 .. generations``: ``((m - 1) / (m - ddof))^g``."""
    return ((m - 1) / (m - ddof)) ** np.arange(generations + 1, dtype=np.float64)


def expected_replace_log_ratio(m: int, generations: int, ddof: int = 0) -> np.ndarray:
    """``E[ln(var_g / var_0)]`` under ``replace``: ``g · (ψ((m - 1) / 2) + ln 2 - ln(m - ddof))``."""
    step = digamma((m - 1) / 2) + np.log(2) - np.log(m - ddof)
    return step * np.arange(generations + 1, dtype=np.float64)
