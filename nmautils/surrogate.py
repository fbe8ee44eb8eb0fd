"""A deterministic synthetic stand-in for the course's mouse V1 data files.

The real files (Stringer et al. 2021, see :mod:`nmautils.data`) cannot be downloaded on machines
without internet (CI, the build). :func:`make_surrogate` returns arrays with the same keys, shapes
and dtypes, generated the way the real files were made, so that every lesson's point still holds:

1. **Trials.** 4,598 trials with continuous directions, about 12.8 per 1-degree bin
   (multinomial over the 360 bins); each trial is assigned at random to one of two halves
   (the split file's ``resp_train`` / ``resp_test``).
2. **Neurons.** About 75 % are orientation tuned: a von Mises curve on the doubled angle (two
   peaks 180 degrees apart; concentration lognormal with median 3.8, interquartile range about
   1.4 to 9) times a small direction asymmetry ``1 + a cos(theta - pref)``; preferred directions
   are uniform over the circle. The rest are nearly untuned (broad, very weak modulation).
3. **Noise.** Each neuron's stimulus-driven share of single-trial variance is small (tuned:
   median about 8 %; untuned: about 1 %); the rest is independent per-neuron trial noise. On top,
   information-limiting noise shared by all neurons: every group of trials (one 1-degree bin in
   one half) sees the grating at an effective angle jittered by a few degrees, so linear decoders
   err by about 2-3 degrees instead of a fraction of a degree.
4. **Normalisation.** Each neuron is z-scored over single trials, then trials are averaged within
   bins: 1-degree bins over both halves (``resp``), and 6-degree bins per half (split file). Both
   files therefore come from the same neurons and the same trials (for one ``seed``), and the two
   halves differ only by trial noise.

Single trials are never materialised: sums over the trials of each (bin, half) group are drawn
directly (signal times count plus a Gaussian noise sum), which keeps the full-size files fast.

Dtypes: the real files' dtypes are not documented. ``resp*`` arrays are float32 (what the loaders
return anyway; half the memory and time) and ``stimuli`` is float64 degrees. ``stimuli`` of the
1-degree file are whole degrees 0..359; the split file's are the centres of its 6-degree bins,
``6 k + 2.5`` (the mean of the whole-degree labels 6k..6k+5).

Numpy guarantees a generator's stream only for one numpy build: test the surrogate's statistics
with tolerances, never with byte hashes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import settings
from ._validate import check_choice, check_int, check_type

__all__ = [
    "N_NEURONS",
    "N_NEURONS_SMALL",
    "N_TRIALS",
    "SIZES",
    "SURROGATE_FILES",
    "default_size",
    "make_new_session",
    "make_surrogate",
]

N_NEURONS = 23589
"""Number of neurons in the real files (and in the full-size surrogate)."""
N_NEURONS_SMALL = 1000
"""Number of neurons of ``size="small"`` (fast grading tests)."""
N_TRIALS = 4598
"""Number of single trials in the real recording."""
N_BINS = 360
SPLIT_BIN_WIDTH = 6
SIZES = {"full": N_NEURONS, "small": N_NEURONS_SMALL}

FILE_1DEG = "W3D4_stringer_oribinned1.npz"
FILE_SPLIT = "W3D4_stringer_oribinned6_split.npz"
SURROGATE_FILES = (FILE_1DEG, FILE_SPLIT)

# generative parameters (see the module docstring)
FRACTION_TUNED = 0.75
KAPPA_MEDIAN = 3.8  # von Mises concentration on the doubled angle
KAPPA_LOG_SD = 1.2  # lognormal spread: quartiles ~ 3.8 * exp(+-0.81) = 1.7 .. 8.5
SIGNAL_SHARE_TUNED = 0.08  # median stimulus-driven share of single-trial variance
SIGNAL_SHARE_UNTUNED = 0.01
SIGNAL_SHARE_LOG_SD = 0.7
ANGLE_JITTER_DEG = 3.5  # shared jitter of each (bin, half) group's effective angle
DIRECTION_ASYMMETRY_BETA = (2.0, 5.0)  # a in 1 + a cos(theta - pref): mostly small
FRACTION_DIRECTION_SELECTIVE = 0.25  # ... but some neurons prefer one direction clearly
DIRECTION_SELECTIVE_RANGE = (0.5, 1.0)


def default_size() -> str:
    """Return the surrogate size: ``settings.get("NMAUTILS_SURROGATE_SIZE")``, "full" by
    default (one of :data:`SIZES`).

    Raises
    ------
    ValueError
        If the variable holds anything but "full" or "small".
    """
    return settings.get("NMAUTILS_SURROGATE_SIZE")


def _simulate(n_neurons: int, seed: int, trial_seed: int | None = None,
              directions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sums of z-scored single-trial responses per (bin, half) group.

    With ``trial_seed`` the neurons are those of ``seed`` but the trials (their bins, halves,
    shared jitter and noise) are new ones, drawn from a generator seeded with
    ``(seed, trial_seed)``: a fresh recording session of the same population.

    With ``directions`` (degrees, any real values; needs ``trial_seed``) the new session has one
    group of trials per direction instead of one per 1-degree bin: as many trials as a 1-degree
    bin has, all at that direction, in two halves with their own shared jitter. The neurons'
    scaling is the one of the reference session of ``seed``, which covers the whole circle.

    Returns
    -------
    sums : ndarray, float32, shape (360, 2, n_neurons), or (len(directions), 2, n_neurons)
        Sum over the trials of each 1-degree bin (or direction) and half of the z-scored
        responses.
    counts : ndarray, int, shape (360, 2), or (len(directions), 2)
        Number of trials in each group.
    """
    rng = np.random.default_rng(seed)

    # trials: multinomial over 1-degree bins, then a random half for each trial
    counts_bin = rng.multinomial(N_TRIALS, np.full(N_BINS, 1.0 / N_BINS))
    half0 = rng.binomial(counts_bin, 0.5)
    counts = np.stack([half0, counts_bin - half0], axis=1)  # (360, 2)
    n = np.maximum(counts, 1)

    # effective angle of each group: bin centre + mean of the trials' offsets inside the bin
    # (uniform over +-0.5 degrees) + a jitter shared by all neurons (information-limiting noise)
    within = rng.standard_normal((N_BINS, 2)) * np.sqrt(1.0 / 12.0 / n)
    jitter = rng.standard_normal((N_BINS, 2)) * ANGLE_JITTER_DEG

    # neurons
    tuned = rng.random(n_neurons) < FRACTION_TUNED
    pref = rng.uniform(0.0, 2.0 * np.pi, n_neurons)
    kappa = np.where(
        tuned,
        np.clip(KAPPA_MEDIAN * np.exp(KAPPA_LOG_SD * rng.standard_normal(n_neurons)), 0.3, 50.0),
        rng.uniform(0.05, 0.5, n_neurons),
    )
    asym = np.where(
        rng.random(n_neurons) < FRACTION_DIRECTION_SELECTIVE,
        rng.uniform(*DIRECTION_SELECTIVE_RANGE, n_neurons),
        rng.beta(*DIRECTION_ASYMMETRY_BETA, n_neurons),
    )
    share_median = np.where(tuned, SIGNAL_SHARE_TUNED, SIGNAL_SHARE_UNTUNED)
    share = np.clip(
        share_median * np.exp(SIGNAL_SHARE_LOG_SD * rng.standard_normal(n_neurons)), 1e-4, 0.6
    )
    if directions is not None and trial_seed is None:
        raise ValueError("directions need a trial_seed (they make a new session)")
    if trial_seed is not None:  # same neurons, new trials
        rng = np.random.default_rng([int(seed), int(trial_seed)])
    if trial_seed is not None and directions is None:
        counts_bin = rng.multinomial(N_TRIALS, np.full(N_BINS, 1.0 / N_BINS))
        half0 = rng.binomial(counts_bin, 0.5)
        counts = np.stack([half0, counts_bin - half0], axis=1)
        n = np.maximum(counts, 1)
        within = rng.standard_normal((N_BINS, 2)) * np.sqrt(1.0 / 12.0 / n)
        jitter = rng.standard_normal((N_BINS, 2)) * ANGLE_JITTER_DEG
    theta = np.deg2rad(np.arange(N_BINS)[:, None] + within + jitter).ravel()  # (720,)

    def tuning(angles: np.ndarray) -> np.ndarray:
        # cos(theta - pref) by the addition theorem, cos(2 (theta - pref)) = 2 cos^2 - 1
        theta32, pref32 = angles.astype(np.float32), pref.astype(np.float32)
        c1 = np.outer(np.cos(theta32), np.cos(pref32))
        c1 += np.outer(np.sin(theta32), np.sin(pref32))
        out = np.exp(kappa.astype(np.float32) * (2.0 * c1 * c1 - 2.0))
        out *= 1.0 + asym.astype(np.float32) * c1
        return out

    # tuning curves at the 720 effective angles
    f = tuning(theta)

    # scale so the stimulus-driven variance over single trials is `share` (z-scored units)
    w = (counts.ravel() / N_TRIALS).astype(np.float32)
    mean_f = w @ f
    var_f = np.maximum(w @ (f * f) - mean_f * mean_f, 1e-12)
    gain = np.sqrt(share / var_f).astype(np.float32)
    if directions is not None:  # the scaling above, the tuning at the new session's angles
        directions = np.asarray(directions, dtype=np.float64).reshape(-1)
        counts_row = np.maximum(rng.binomial(N_TRIALS, 1.0 / N_BINS, len(directions)), 1)
        half0 = rng.binomial(counts_row, 0.5)
        counts = np.stack([half0, counts_row - half0], axis=1)
        jitter = rng.standard_normal((len(directions), 2)) * ANGLE_JITTER_DEG
        f = tuning(np.deg2rad(directions[:, None] + jitter).ravel())
    f -= mean_f
    f *= gain
    f *= counts.reshape(-1, 1).astype(np.float32)  # signal sums per group

    # independent per-neuron trial noise: the sum of c draws with variance 1 - share
    noise = rng.standard_normal(f.shape, dtype=np.float32)
    noise *= np.sqrt(counts.reshape(-1, 1)).astype(np.float32)
    noise *= np.sqrt(1.0 - share).astype(np.float32)
    f += noise
    del noise
    if directions is not None:  # its trials do not cover the circle: z-scored as the reference
        return f.reshape(len(directions), 2, n_neurons), counts
    # z-scoring uses the empirical mean over trials, which includes the noise
    f -= f.sum(axis=0) / N_TRIALS
    return f.reshape(N_BINS, 2, n_neurons), counts


def make_surrogate(data_name: str, size: str = "full", seed: int = 0) -> dict[str, np.ndarray]:
    """Make the synthetic stand-in for one of the course's data files.

    Parameters
    ----------
    data_name : str
        ``"W3D4_stringer_oribinned1.npz"`` or ``"W3D4_stringer_oribinned6_split.npz"`` (a path
        ending in one of these names is accepted).
    size : {"full", "small"}
        "full": 23,589 neurons like the real files; "small": 1,000 neurons for fast tests
        (same generative model, so the same per-neuron properties; decoding is noisier).
    seed : int
        Seed of the one ``numpy.random.default_rng`` used. Both files made with the same seed
        share neurons and trials.

    Returns
    -------
    dict of str to ndarray
        1-degree file: ``resp`` float32 (360, n_neurons), z-scored responses averaged in
        1-degree bins; ``stimuli`` float64 (360,), degrees 0..359.
        Split file: ``resp_train``, ``resp_test`` float32 (60, n_neurons), the two halves of the
        trials averaged in 6-degree bins; ``stimuli`` float64 (60,), bin centres 2.5..356.5.

    Raises
    ------
    TypeError
        For a ``data_name`` that is not a str or path, a ``size`` that is not a str, or a
        ``seed`` that is not an int.
    ValueError
        For an unknown file name or size, or a negative seed.

    Examples
    --------
    >>> split = make_surrogate("W3D4_stringer_oribinned6_split.npz", size="small")
    >>> {key: (a.shape, str(a.dtype)) for key, a in split.items()}
    {'resp_train': ((60, 1000), 'float32'), 'resp_test': ((60, 1000), 'float32'), 'stimuli': ((60,), 'float64')}
    """
    check_type(data_name, "data_name", (str, os.PathLike), "a file name or path (str)")
    name = Path(data_name).name
    if name not in SURROGATE_FILES:
        raise ValueError(
            f"data_name should name one of {list(SURROGATE_FILES)}, but got {data_name!r} "
            "(no surrogate for it)."
        )
    check_choice(size, "size", tuple(SIZES))
    seed = check_int(seed, "seed", minimum=0)

    sums, counts = _simulate(SIZES[size], int(seed))
    if name == FILE_1DEG:
        n = np.maximum(counts.sum(axis=1), 1).astype(np.float32)
        resp = sums.sum(axis=1) / n[:, None]
        return {
            "resp": np.ascontiguousarray(resp, dtype=np.float32),
            "stimuli": np.arange(N_BINS, dtype=np.float64),
        }
    n_groups = N_BINS // SPLIT_BIN_WIDTH
    grouped = sums.reshape(n_groups, SPLIT_BIN_WIDTH, 2, -1).sum(axis=1)  # (60, 2, n)
    n = np.maximum(counts.reshape(n_groups, SPLIT_BIN_WIDTH, 2).sum(axis=1), 1)  # (60, 2)
    resp = grouped / n[:, :, None].astype(np.float32)
    stimuli = np.arange(n_groups) * SPLIT_BIN_WIDTH + (SPLIT_BIN_WIDTH - 1) / 2.0
    return {
        "resp_train": np.ascontiguousarray(resp[:, 0], dtype=np.float32),
        "resp_test": np.ascontiguousarray(resp[:, 1], dtype=np.float32),
        "stimuli": stimuli.astype(np.float64),
    }


def make_new_session(size: str = "full", trial_seed: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """The 1-degree file of a new recording session: the neurons of ``seed``, new trials.

    Parameters
    ----------
    size : {"full", "small"}
        As for :func:`make_surrogate`.
    trial_seed : int
        Seed of the new trials (bins, shared jitter, noise).
    seed : int
        Seed of the neurons (and of the surrogate files they belong to).

    Returns
    -------
    dict of str to ndarray
        ``resp`` float32 (360, n_neurons) and ``stimuli`` float64 (360,), like the 1-degree file
        of :func:`make_surrogate` with the same ``size`` and ``seed``, but from other trials.
    """
    check_choice(size, "size", sorted(SIZES))
    check_int(trial_seed, "trial_seed", minimum=0)
    check_int(seed, "seed", minimum=0)
    sums, counts = _simulate(SIZES[size], int(seed), trial_seed=int(trial_seed))
    n = np.maximum(counts.sum(axis=1), 1).astype(np.float32)
    return {
        "resp": np.ascontiguousarray(sums.sum(axis=1) / n[:, None], dtype=np.float32),
        "stimuli": np.arange(N_BINS, dtype=np.float64),
    }


def _session_at(size: str, directions: np.ndarray, trial_seed: int, seed: int = 0) -> np.ndarray:
    """Responses of a new session at given directions: the neurons of ``seed``, new trials.

    Parameters
    ----------
    size : {"full", "small"}
        As for :func:`make_surrogate`.
    directions : array_like of float
        Stimulus direction of each row in degrees (any real values, not only whole degrees).
    trial_seed : int
        Seed of the new trials (counts, shared jitter, noise); any non-negative int.
    seed : int
        Seed of the neurons.

    Returns
    -------
    ndarray, float32, shape (len(directions), n_neurons)
        Each row the mean z-scored response over the trials at its direction (as many trials as
        a 1-degree bin of the 1-degree file has), in the order of ``directions``.
    """
    check_choice(size, "size", sorted(SIZES))
    sums, counts = _simulate(SIZES[size], int(seed), trial_seed=int(trial_seed),
                             directions=directions)
    n = counts.sum(axis=1).astype(np.float32)
    return np.ascontiguousarray(sums.sum(axis=1) / n[:, None], dtype=np.float32)
