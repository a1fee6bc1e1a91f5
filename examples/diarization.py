"""Speaker diarization by agglomerative GMM clustering, as in the SciPy 2011 paper's application.

Synthetic data stands in for MFCC frames: each speaker is a cluster of three
Gaussians in 19 dimensions, and the recording is a sequence of turns (whole
250-frame segments) by randomly chosen speakers. The diarizer knows neither
the number of speakers nor the turns:

1. split the frames into 16 contiguous parts and train a GMM of 5 diagonal
   components on each;
2. resegment: score every frame under every GMM, give each 250-frame segment
   to the GMM most of its frames prefer (majority vote), retrain each GMM on
   its segments;
3. merge: for every pair of GMMs, compute_distance_BIC trains the merged
   model (M1 + M2 components) on the pair's frames and scores it against
   each model on its own frames; merge the pair with the best positive
   score, resegment, and repeat until no score is positive.

Usage: .venv/bin/python examples/diarization.py [--speakers 4] [--turns 60] [--seed 0]
"""
from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from asp.gmm import GMM, compute_distance_BIC

D, SEGMENT, INITIAL_CLUSTERS, COMPONENTS, EM_ITERATIONS = 19, 250, 16, 5, 3


def synthetic_meeting(speakers: int, turns: int, rng: np.random.Generator):
    """Frames (N, 19) float32 and the true speaker of each segment."""
    centres = rng.normal(0, 3, (speakers, 3, D)) * 0.5 + rng.normal(0, 3, (speakers, 1, D))
    truth = rng.integers(0, speakers, turns)
    while len(set(truth)) < speakers:  # every speaker talks
        truth = rng.integers(0, speakers, turns)
    frames = []
    for speaker in truth:
        which = rng.integers(0, 3, SEGMENT)
        frames.append(centres[speaker, which] + rng.normal(0, 1, (SEGMENT, D)))
    return np.concatenate(frames).astype(np.float32), truth


def resegment(models: list, X: np.ndarray) -> np.ndarray:
    """The model each segment's frames vote for."""
    scores = np.stack([m.score(X) for m in models])  # (models, N)
    votes = scores.argmax(axis=0).reshape(-1, SEGMENT)
    return np.array([np.bincount(v, minlength=len(models)).argmax() for v in votes])


def frames_of(X: np.ndarray, owners: np.ndarray, model: int) -> np.ndarray:
    return X.reshape(-1, SEGMENT, D)[owners == model].reshape(-1, D)


def retrain(models: list, X: np.ndarray, owners: np.ndarray) -> tuple:
    """Drops models that own no segment and retrains the rest on their segments."""
    kept = [i for i in range(len(models)) if np.any(owners == i)]
    renumber = {old: new for new, old in enumerate(kept)}
    owners = np.array([renumber[o] for o in owners])
    models = [models[i] for i in kept]
    for i, model in enumerate(models):
        model.train(frames_of(X, owners, i), max_em_iters=EM_ITERATIONS)
    return models, owners


def diarize(X: np.ndarray) -> np.ndarray:
    """The cluster of each segment."""
    segments = X.shape[0] // SEGMENT
    owners = np.arange(segments) * INITIAL_CLUSTERS // segments
    models = [GMM(COMPONENTS, D, cvtype="diag") for _ in range(INITIAL_CLUSTERS)]
    models, owners = retrain(models, X, owners)
    for _ in range(2):
        models, owners = retrain(models, X, resegment(models, X))
    while len(models) > 1:
        best = None
        for i, j in itertools.combinations(range(len(models)), 2):
            data = (frames_of(X, owners, i), frames_of(X, owners, j))
            merged, score = compute_distance_BIC(models[i], models[j], data)
            if score > 0 and (best is None or score > best[0]):
                best = (score, i, j, merged)
        if best is None:
            break
        _, i, j, merged = best
        models = [m for k, m in enumerate(models) if k not in (i, j)] + [merged]
        owners = np.array([len(models) - 1 if o in (i, j) else o - (o > i) - (o > j) for o in owners])
        models, owners = retrain(models, X, resegment(models, X))
    return owners


def agreement(found: np.ndarray, truth: np.ndarray) -> float:
    """The fraction of segments whose cluster's majority speaker is their own."""
    correct = 0
    for cluster in set(found):
        correct += np.bincount(truth[found == cluster]).max()
    return correct / len(truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", type=int, default=4)
    parser.add_argument("--turns", type=int, default=60, help="segments of 250 frames")
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    X, truth = synthetic_meeting(options.speakers, options.turns, np.random.default_rng(options.seed))
    start = time.perf_counter()
    found = diarize(X)
    seconds = time.perf_counter() - start
    model = GMM(1, D)
    model.train(X[:SEGMENT])
    print(f"{X.shape[0]} frames of {D} features, {options.turns} segments, {options.speakers} speakers "
          f"(GMMs ran on {model.last_call.backend or 'NumPy'})")
    print(f"speakers found: {len(set(found))} (truth {options.speakers}); segments assigned to their cluster's "
          f"majority speaker: {agreement(found, truth):.0%}; diarization took {seconds:.2f} s")
    for cluster in sorted(set(found)):
        counts = np.bincount(truth[found == cluster], minlength=options.speakers)
        print(f"  cluster {cluster}: segments per true speaker {counts.tolist()}")


if __name__ == "__main__":
    main()
