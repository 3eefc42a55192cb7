#!/usr/bin/env python3
"""Reference symmetric-EqProp training step for a dense layered Hopfield net, in NumPy (f32).

E(s) = ½ Σ_l ‖s_l‖² − Σ_l s_{l+1}·W_l s_l − Σ_l b_l·s_l inside the box [0, 1]; layer 0 = input x
(clamped). Relaxation: s ← clip(s − dt (∂E/∂s + β ∂C/∂s), 0, 1), all free layers synchronously,
C = ½‖s_out − y‖². One training step: free phase (K_free steps from 0), two nudged phases (+β, −β,
K_nudged steps each, both from the free state), g = (R(s⁺) − R(s⁻)) / 2β with R = batch mean of
∂E/∂θ, then θ ← θ − lr g. See README.md.
"""
import argparse
import os
import sys
import time

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--sizes", default="784,500,10", help="layer sizes, input first")
p.add_argument("--batch", type=int, default=128)
p.add_argument("--dt", type=float, default=0.5)
p.add_argument("--free", type=int, default=20, help="free-phase steps")
p.add_argument("--nudged", type=int, default=4, help="steps of each nudged phase")
p.add_argument("--beta", type=float, default=0.5)
p.add_argument("--lr", type=float, default=0.01)
p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
p.add_argument("--steps", type=int, default=200, help="timed steps at most")
p.add_argument("--seconds", type=float, default=20.0, help="time budget of the timed loop")
p.add_argument("--threads", type=int, help="BLAS threads (sets OPENBLAS/OMP/MKL_NUM_THREADS)")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--check", action="store_true", help="f64 correctness checks on a tiny net")
args = p.parse_args()
if args.threads:  # must happen before NumPy loads its BLAS
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = str(args.threads)
import numpy as np  # noqa: E402


class Net:
    """Weights W[k] (n_{k+1} × n_k), biases b[k] of layer k+1, and preallocated work arrays.
    States are lists of (batch, n_l) arrays for the free layers 1..L (index k ↔ layer k+1)."""

    def __init__(self, sizes, batch, dtype, rng, dt, beta):
        self.dt, self.beta = dt, beta
        self.W = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            lim = np.sqrt(6.0 / (n_in + n_out))  # Glorot uniform
            self.W.append(rng.uniform(-lim, lim, (n_out, n_in)).astype(dtype))
        self.b = [np.zeros(n, dtype) for n in sizes[1:]]
        buf = lambda: [np.zeros((batch, n), dtype) for n in sizes[1:]]  # noqa: E731
        self.s0, self.sp, self.sm, self.h, self.tmp = buf(), buf(), buf(), buf(), buf()
        self.drive = np.zeros((batch, sizes[1]), dtype)  # W_0 x + b_1, once per batch
        self.dby = np.zeros((batch, sizes[-1]), dtype)  # dt β y of the current phase
        self.gW = [np.zeros_like(W) for W in self.W]
        self.gb = [np.zeros_like(b) for b in self.b]
        self.scratch = [np.zeros_like(W) for W in self.W]

    def relax(self, s, k_steps, beta, y):
        """k_steps synchronous projected-gradient steps on E + βC, in place on s."""
        dt, W, h, L = self.dt, self.W, self.h, len(s)
        if beta:
            np.multiply(y, dt * beta, out=self.dby)
        for _ in range(k_steps):
            for i in range(L):  # h_i = b + W_below s_below + W_aboveᵀ s_above, old state
                if i == 0:
                    if L > 1:
                        np.matmul(s[1], W[1], out=h[0])
                        h[0] += self.drive
                    else:
                        np.copyto(h[0], self.drive)
                    continue
                np.matmul(s[i - 1], W[i].T, out=h[i])
                h[i] += self.b[i]
                if i + 1 < L:
                    np.matmul(s[i + 1], W[i + 1], out=self.tmp[i])
                    h[i] += self.tmp[i]
            for i in range(L):  # s ← clip(s − dt(s − h) − dt β(s − y))
                a = 1.0 - dt
                h[i] *= dt
                if i == L - 1 and beta:
                    a -= dt * beta
                    h[i] += self.dby
                s[i] *= a
                s[i] += h[i]
                np.clip(s[i], 0.0, 1.0, out=s[i])

    def phases(self, x, y, k_free, k_nudged):
        """Free phase then the ±β nudged phases; results in self.s0, self.sp, self.sm."""
        np.matmul(x, self.W[0].T, out=self.drive)
        self.drive += self.b[0]
        for a in self.s0:
            a.fill(0.0)
        self.relax(self.s0, k_free, 0.0, y)
        for sgn, s in ((1.0, self.sp), (-1.0, self.sm)):
            for a, a0 in zip(s, self.s0):
                np.copyto(a, a0)
            self.relax(s, k_nudged, sgn * self.beta, y)

    def grads(self, x):
        """g = (R(s⁺) − R(s⁻)) / 2β into self.gW, self.gb; ∂E/∂W_k = −s_{k+1} s_kᵀ, ∂E/∂b = −s."""
        sp, sm, c = self.sp, self.sm, -1.0 / (2 * self.beta * x.shape[0])
        np.subtract(sp[0], sm[0], out=self.tmp[0])  # x is the same in both phases
        np.matmul(self.tmp[0].T, x, out=self.gW[0])
        for k in range(1, len(self.W)):
            np.matmul(sp[k].T, sp[k - 1], out=self.gW[k])
            np.matmul(sm[k].T, sm[k - 1], out=self.scratch[k])
            self.gW[k] -= self.scratch[k]
        for k, gW in enumerate(self.gW):
            gW *= c
            np.sum(sp[k], axis=0, out=self.gb[k])
            self.gb[k] -= sm[k].sum(axis=0)
            self.gb[k] *= c

    def train_step(self, x, y, k_free, k_nudged, lr):
        self.phases(x, y, k_free, k_nudged)
        self.grads(x)
        for th, g, sc in zip(self.W + self.b, self.gW + self.gb, self.scratch + [None] * len(self.b)):
            if sc is None:
                th -= lr * g  # biases: tiny
            else:
                np.multiply(g, lr, out=sc)
                th -= sc


# ---------------------------------------------------------------- checks (f64, tiny net)
def energy(net, x, s):
    """Total E over the batch, written out plainly."""
    layers = [x] + list(s)
    e = sum(0.5 * (a * a).sum() - (a * b).sum() for a, b in zip(s, net.b))
    return e - sum(((layers[k] @ W.T) * layers[k + 1]).sum() for k, W in enumerate(net.W))


def naive_grad(net, x, y, k_free, k_nudged, eps=1e-6):
    """The same algorithm with every derivative of E taken by central finite differences
    (forces ∂E/∂s per unit, readout ∂E/∂θ per parameter) and no in-place tricks."""
    def force(s):
        out = []
        for a in s:
            f = np.zeros_like(a)
            for idx in np.ndindex(a.shape):
                v = a[idx]
                a[idx] = v + eps; ep = energy(net, x, s)
                a[idx] = v - eps; em = energy(net, x, s)
                a[idx] = v
                f[idx] = (ep - em) / (2 * eps)
            out.append(f)
        return out

    def relax(s, k_steps, beta):
        for _ in range(k_steps):
            f = force(s)
            f[-1] = f[-1] + beta * (s[-1] - y)
            s = [np.clip(a - net.dt * fa, 0, 1) for a, fa in zip(s, f)]
        return s

    def readout(s):
        r = []
        for th in net.W + net.b:
            g = np.zeros_like(th)
            for idx in np.ndindex(th.shape):
                v = th[idx]
                th[idx] = v + eps; ep = energy(net, x, s)
                th[idx] = v - eps; em = energy(net, x, s)
                th[idx] = v
                g[idx] = (ep - em) / (2 * eps) / x.shape[0]
            r.append(g)
        return r

    s0 = relax([np.zeros((x.shape[0], b.size)) for b in net.b], k_free, 0.0)
    rp = readout(relax(s0, k_nudged, net.beta))
    rm = readout(relax(s0, k_nudged, -net.beta))
    return [(a - b) / (2 * net.beta) for a, b in zip(rp, rm)]


def rel_err(a, b):
    """max |a − b| / max |b| over all parameter tensors."""
    return max(np.abs(u - v).max() for u, v in zip(a, b)) / max(np.abs(v).max() for v in b)


def check():
    rng = np.random.default_rng(args.seed)
    sizes, B = [7, 6, 5, 3], 4
    net = Net(sizes, B, np.float64, rng, args.dt, args.beta)
    for b in net.b:  # nonzero biases so their terms are exercised
        b[:] = rng.uniform(-0.3, 0.3, b.shape)
    x = rng.random((B, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], B)]

    # 1) the optimised step against the plain finite-difference one, same step counts
    net.phases(x, y, args.free, args.nudged)
    net.grads(x)
    g = [a.copy() for a in net.gW + net.gb]
    e1 = rel_err(g, naive_grad(net, x, y, args.free, args.nudged))
    print(f"check 1: step ({args.free} free, {args.nudged}+{args.nudged} nudged) vs finite-"
          f"difference forces and readout: max rel err {e1:.2e}")

    # 2) with converged phases, g is exactly ∂L/∂θ of L(θ) = (F(θ, β) − F(θ, −β)) / 2β,
    #    F(θ, β) = min_s [E + βC] / batch (envelope theorem); compare with finite differences
    K = 400

    def loss():
        net.phases(x, y, K, K)
        c = lambda s: 0.5 * ((s[-1] - y) ** 2).sum()  # noqa: E731
        fp = energy(net, x, net.sp) + net.beta * c(net.sp)
        fm = energy(net, x, net.sm) - net.beta * c(net.sm)
        return (fp - fm) / (2 * net.beta * B)

    loss()
    last = [a.copy() for a in net.sp]
    net.relax(net.sp, 1, net.beta, y)
    res = max(np.abs(a - b).max() for a, b in zip(net.sp, last))
    net.phases(x, y, K, K)
    net.grads(x)
    g = [a.copy() for a in net.gW + net.gb]
    fd, eps = [], 1e-6
    for th in net.W + net.b:
        d = np.zeros_like(th)
        for idx in np.ndindex(th.shape):
            v = th[idx]
            th[idx] = v + eps; lp = loss()
            th[idx] = v - eps; lm = loss()
            th[idx] = v
            d[idx] = (lp - lm) / (2 * eps)
        fd.append(d)
    e2 = rel_err(g, fd)
    print(f"check 2: converged phases ({K} steps, residual {res:.1e}), g vs finite differences "
          f"of the symmetric EP loss (F(β) − F(−β))/2β: max rel err {e2:.2e}")
    ok = e1 < 1e-6 and e2 < 1e-5
    print("CHECK", "PASSED" if ok else "FAILED")
    return ok


# ---------------------------------------------------------------- timing
def machine_info():
    cfg = np.show_config(mode="dicts")
    blas = cfg["Build Dependencies"]["blas"]
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, BLAS {blas.get('name')} "
          f"{blas.get('version')} ({blas.get('openblas configuration', '').strip()})")
    try:
        from threadpoolctl import threadpool_info
        for d in threadpool_info():
            print(f"  runtime {d['internal_api']} {d.get('version')} {d.get('architecture', '')}: "
                  f"{d['num_threads']} threads")
    except ImportError:
        print("  (threadpoolctl not installed: BLAS thread count unknown)")
    env = {v: os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    print(f"  cpus available: {len(os.sched_getaffinity(0))}, env {env}")


def bench():
    rng = np.random.default_rng(args.seed)
    sizes = [int(v) for v in args.sizes.split(",")]
    net = Net(sizes, args.batch, np.float32, rng, args.dt, args.beta)
    pool = [(rng.random((args.batch, sizes[0]), dtype=np.float32),
             np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], args.batch)])
            for _ in range(8)]
    step = lambda i: net.train_step(*pool[i % len(pool)], args.free, args.nudged, args.lr)  # noqa
    for i in range(args.warmup):
        step(i)
    times, deadline = [], time.perf_counter() + args.seconds
    while len(times) < args.steps and (len(times) < 3 or time.perf_counter() < deadline):
        t0 = time.perf_counter()
        step(len(times))
        times.append(time.perf_counter() - t0)
    assert all(np.isfinite(w).all() for w in net.W), "non-finite weights"
    t = np.array(times)
    med, p10, p90 = np.median(t), np.percentile(t, 10), np.percentile(t, 90)
    print(f"eqprop_mlp_numpy: sizes {sizes}, batch {args.batch}, dt {args.dt}, "
          f"{args.free} free + {args.nudged}+{args.nudged} nudged steps, beta {args.beta}, "
          f"lr {args.lr}, f32")
    machine_info()
    print(f"timed {len(t)} steps (after {args.warmup} warm-up): median {med * 1e3:.3f} ms/step, "
          f"p10 {p10 * 1e3:.3f} ms, p90 {p90 * 1e3:.3f} ms, {args.batch / med:.1f} samples/s")


if __name__ == "__main__":
    if args.check:
        sys.exit(0 if check() else 1)
    bench()
