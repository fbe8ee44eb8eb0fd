"""The real-data values of the original course (curriculum section D) beside the surrogate's.

The original tutorials show a handful of numbers computed on the real recording. This script
recomputes each of them on the synthetic surrogate with the same protocol (the tutorials' split,
seeds, network sizes and learning rate) and prints both, so the course can say how close the
surrogate is and where it differs. Run: ``python bench/surrogate_vs_real.py`` (no network
needed).
"""

from __future__ import annotations

import os

os.environ.setdefault("NMAUTILS_DATA", "surrogate")
os.environ.setdefault("NMAUTILS_PROGRESS", "off")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from lessons import lesson_class  # noqa: E402
from torch import nn  # noqa: E402

from nmautils.analysis import get_data  # noqa: E402
from nmautils.data import load_data  # noqa: E402
from nmautils.train import set_seed, train_full_batch  # noqa: E402

#: (what, value on the real recording as the original material shows it)
REAL = {
    "neurons x stimuli": "23589 x 360",
    "true direction of the first get_data(1) draw (deg)": "139.00",
    "untrained ReLU net, M=10: decoded (deg)": "0.13",
    "untrained ReLU net, M=200: decoded (deg)": "0.17",
    "untrained MSE, M=10, 20 stimuli (deg^2)": "42949.14",
    "training loss at steps 10/20/30/40/50 (M=10, lr 1e-4)": "12219.761 / 1672.732 / 548.096 / 235.619 / 144.001",
    "weight shapes W_in, W_out": "(10, 23589), (1, 10)",
    "linear decoder (closed form), test RMSE (deg)": "2-3",
    "A3 loader: stimuli kept (0..180 inclusive)": "181",
}


#: Tutorial 1's decoder with one ReLU hidden layer (bench/lessons.py: from its notebook).
ReLUNet = lesson_class("tutorial1_decoding", "DeepNetReLU")


def surrogate_values() -> dict[str, str]:
    resp, stimuli = load_data()
    n_stim, n_neurons = resp.shape
    out = {"neurons x stimuli": f"{n_neurons} x {n_stim}"}
    set_seed(4)  # tutorial 1's split: 60 % training stimuli
    order = np.random.permutation(n_stim)
    n_train = int(0.6 * n_stim)
    tr, te = order[:n_train], order[n_train:]
    r_tr, s_tr, r_te, s_te = resp[tr], stimuli[tr], resp[te], stimuli[te]
    for m in (10, 200):
        set_seed(1)
        net = ReLUNet(n_neurons, m)
        r, ori = get_data(1, r_tr, s_tr)
        with torch.no_grad():
            out[f"untrained ReLU net, M={m}: decoded (deg)"] = f"{net(r).item():.2f}"
        out["true direction of the first get_data(1) draw (deg)"] = f"{ori.item():.2f}"
    set_seed(1)
    net = ReLUNet(n_neurons, 10)
    r, ori = get_data(20, r_tr, s_tr)
    with torch.no_grad():
        out["untrained MSE, M=10, 20 stimuli (deg^2)"] = f"{nn.MSELoss()(net(r), ori).item():.2f}"
    set_seed(1)
    net = ReLUNet(n_neurons, 10)
    losses, _ = train_full_batch(net, nn.MSELoss(), r_tr, s_tr, n_epochs=50, learning_rate=1e-4)
    # the loss before step k+1 is the loss after k steps
    after = [losses[k] if k < len(losses) else float("nan") for k in (10, 20, 30, 40)]
    with torch.no_grad():
        final = nn.MSELoss()(net(r_tr), s_tr).item()
    out["training loss at steps 10/20/30/40/50 (M=10, lr 1e-4)"] = " / ".join(
        f"{v:.3f}" for v in [*after, final])
    out["weight shapes W_in, W_out"] = (f"{tuple(net.in_layer.weight.shape)}, "
                                        f"{tuple(net.out_layer.weight.shape)}")
    # closed-form linear decoder: ridge regression (a bias, the penalty chosen by 5-fold
    # cross-validation on the training stimuli; plain least squares with 23,589 neurons and 216
    # stimuli interpolates the noise)
    import warnings

    from scipy.linalg import LinAlgWarning
    from sklearn.linear_model import RidgeCV

    with warnings.catch_warnings():  # the smallest penalties are ill-conditioned; CV drops them
        warnings.simplefilter("ignore", LinAlgWarning)
        ridge = RidgeCV(alphas=np.logspace(-2, 6, 17), cv=5).fit(r_tr.numpy(),
                                                                 s_tr.numpy().ravel())
    err = ridge.predict(r_te.numpy()) - s_te.numpy().ravel()
    out["linear decoder (closed form), test RMSE (deg)"] = (
        f"{np.sqrt(np.mean(err ** 2)):.2f} (median |error| {np.median(np.abs(err)):.2f}; the "
        "largest errors lie at the 0/360 seam)")
    kept = int(((stimuli >= 0) & (stimuli <= 180)).sum())
    out["A3 loader: stimuli kept (0..180 inclusive)"] = str(kept)
    return out


def main() -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    values = surrogate_values()
    width = max(map(len, REAL))
    print(f"{'value':{width}s} | real recording | surrogate")
    for key, real in REAL.items():
        print(f"{key:{width}s} | {real} | {values.get(key, '?')}")


if __name__ == "__main__":
    main()
