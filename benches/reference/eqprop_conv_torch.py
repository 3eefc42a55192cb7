#!/usr/bin/env python3
"""Reference symmetric-EqProp training step for the two-convolution net of Laborieux et al. 2021,
in PyTorch on the CPU (f32), written in the style of their published code (P_CNN.Phi / forward).

Φ(s) = Σ_l ⟨f_l(s_l), s_{l+1}⟩ + Σ_l b_l·s_l − βC(s), C = ½‖s_out − y‖², E = ½‖s‖² − Φ.
f_0 = maxpool2(conv5x5(x)), f_1 = maxpool2(conv5x5(s_1)), f_2 = W flatten(s_2); biases are per
channel terms of Φ. Each relaxation step is s_l ← clip(∂Φ/∂s_l, 0, 1) for all free layers at once
(∂Φ/∂s by torch.autograd.grad), i.e. projected gradient flow on E + βC with dt = 1. Training step:
free phase (T1 steps from 0), nudged phases with +β and −β (T2 steps each, both from the free
state), then backward of (Φ(s⁻) − Φ(s⁺)) / 2β (batch means), which leaves
g = (R(s⁺) − R(s⁻)) / 2β, R = −∂Φ/∂θ = ∂E/∂θ, in .grad, and an SGD step. See README.md.
"""
import argparse
import os
import re
import sys
import time

import torch
import torch.nn as nn

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--batch", type=int, default=128)
p.add_argument("--free", type=int, default=40, help="free-phase steps T1")
p.add_argument("--nudged", type=int, default=10, help="steps T2 of each nudged phase")
p.add_argument("--beta", type=float, default=0.5)
p.add_argument("--lr", type=float, default=0.01)
p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
p.add_argument("--steps", type=int, default=50, help="timed steps at most")
p.add_argument("--seconds", type=float, default=60.0, help="time budget of the timed loop")
p.add_argument("--threads", type=int, help="torch.set_num_threads (default: all CPUs)")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--check", action="store_true", help="f64 correctness check on a tiny net")
args = p.parse_args()


class ConvEP(nn.Module):
    def __init__(self, in_size=28, channels=(1, 32, 64), kernel=5, n_out=10):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(a, b, kernel, bias=False) for a, b in zip(channels[:-1], channels[1:]))
        self.pool = nn.MaxPool2d(2)
        self.shapes, n = [], in_size
        for c in channels[1:]:
            n = (n - kernel + 1) // 2
            self.shapes.append((c, n, n))
        self.fc = nn.Linear(channels[-1] * n * n, n_out, bias=False)
        self.shapes.append((n_out,))
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(s[0])) for s in self.shapes)

    def phi(self, x, s, beta, y):
        """Φ per sample (batch vector)."""
        layers = [x] + s
        phi = 0.0
        for i, conv in enumerate(self.convs):
            phi = phi + (self.pool(conv(layers[i])) * layers[i + 1]).sum(dim=(1, 2, 3))
        phi = phi + (self.fc(layers[-2].flatten(1)) * layers[-1]).sum(dim=1)
        for b, a in zip(self.biases, s):
            phi = phi + (a.sum(dim=(2, 3)) if a.dim() == 4 else a) @ b
        if beta != 0.0:
            phi = phi - beta * 0.5 * ((s[-1] - y) ** 2).sum(dim=1)
        return phi

    def relax(self, x, y, s, steps, beta):
        for _ in range(steps):
            phi = self.phi(x, s, beta, y)
            grads = torch.autograd.grad(phi, s, grad_outputs=torch.ones_like(phi))
            s = [g.clamp(0.0, 1.0).requires_grad_() for g in grads]
        return s

    def phases(self, x, y, t_free, t_nudged, beta):
        s = [torch.zeros(x.shape[0], *sh, dtype=x.dtype, requires_grad=True) for sh in self.shapes]
        s = self.relax(x, y, s, t_free, 0.0)
        out = [[a.detach() for a in s]]
        for b in (beta, -beta):  # both nudged phases start from the free state
            out.append([a.detach() for a in self.relax(
                x, y, [a.detach().clone().requires_grad_() for a in s], t_nudged, b)])
        return out  # free, plus, minus

    def ep_grads(self, x, y, t_free, t_nudged, beta):
        """Leaves g = (R(s⁺) − R(s⁻)) / 2β in the parameters' .grad."""
        _, sp, sm = self.phases(x, y, t_free, t_nudged, beta)
        self.zero_grad(set_to_none=True)
        delta = (self.phi(x, sm, -beta, y).mean() - self.phi(x, sp, beta, y).mean()) / (2 * beta)
        delta.backward()
        return sp, sm


def train_step(model, opt, x, y):
    model.ep_grads(x, y, args.free, args.nudged, args.beta)
    opt.step()


# ---------------------------------------------------------------- check (f64, tiny net)
def check():
    torch.manual_seed(args.seed)
    dt = torch.float64
    model = ConvEP(in_size=14, channels=(1, 2, 2), kernel=3, n_out=3).to(dt)  # 14→6×6→2×2
    with torch.no_grad():
        for b in model.biases:
            b.uniform_(-0.3, 0.3)
    B, beta, T = 3, args.beta, 150
    x = torch.rand(B, 1, 14, 14, dtype=dt)
    y = nn.functional.one_hot(torch.randint(0, 3, (B,)), 3).to(dt)
    params = list(model.parameters())

    def loss():
        """(F(β) − F(−β)) / 2β, F(β) = batch mean of E + βC = ½‖s‖² − Φ at the nudged states."""
        with torch.enable_grad():
            _, sp, sm = model.phases(x, y, T, T, beta)
        F = lambda s, b: (sum(0.5 * (a * a).flatten(1).sum(1) for a in s)  # noqa: E731
                          - model.phi(x, s, b, y)).mean()
        return (F(sp, beta) - F(sm, -beta)) / (2 * beta)

    sp, _ = model.ep_grads(x, y, T, T, beta)
    g = [q.grad.clone() for q in params]
    res = max((a - b).abs().max().item() for a, b in zip(model.relax(
        x, y, [a.clone().requires_grad_() for a in sp], 1, beta), sp))
    fd, eps = [], 1e-6
    with torch.no_grad():
        for q in params:
            d, flat = torch.zeros_like(q), q.view(-1)
            for i in range(flat.numel()):
                v = flat[i].item()
                flat[i] = v + eps; lp = loss()
                flat[i] = v - eps; lm = loss()
                flat[i] = v
                d.view(-1)[i] = (lp - lm) / (2 * eps)
            fd.append(d)
    err = max((a - b).abs().max() for a, b in zip(g, fd)) / max(b.abs().max() for b in fd)
    n = sum(q.numel() for q in params)
    print(f"check: tiny conv net ({n} parameters), converged phases ({T} steps, residual "
          f"{res:.1e}), autograd EP g vs finite differences of the symmetric EP loss "
          f"(F(β) − F(−β))/2β: max rel err {err:.2e}")
    ok = err < 1e-5
    print("CHECK", "PASSED" if ok else "FAILED")
    return ok


# ---------------------------------------------------------------- timing
def bench():
    torch.manual_seed(args.seed)
    model = ConvEP()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    pool = [(torch.rand(args.batch, 1, 28, 28),
             nn.functional.one_hot(torch.randint(0, 10, (args.batch,)), 10).float())
            for _ in range(4)]
    for i in range(args.warmup):
        train_step(model, opt, *pool[i % len(pool)])
    times, deadline = [], time.perf_counter() + args.seconds
    while len(times) < args.steps and (len(times) < 3 or time.perf_counter() < deadline):
        t0 = time.perf_counter()
        train_step(model, opt, *pool[len(times) % len(pool)])
        times.append(time.perf_counter() - t0)
    assert all(torch.isfinite(q).all() for q in model.parameters()), "non-finite parameters"
    t = torch.tensor(times, dtype=torch.float64)
    med, p10, p90 = t.median().item(), t.quantile(0.1).item(), t.quantile(0.9).item()
    print(f"eqprop_conv_torch: 1x28x28 -conv5(32)+pool2-> 32x12x12 -conv5(64)+pool2-> 64x4x4 "
          f"-dense-> 10, batch {args.batch}, {args.free} free + {args.nudged}+{args.nudged} "
          f"nudged steps (dt 1), beta {args.beta}, lr {args.lr}, f32")
    cfg = torch.__config__.show()
    libs = [ln.strip(" -") for ln in cfg.splitlines() if "Math Kernel" in ln or "MKL-DNN" in ln]
    libs += re.findall(r"BLAS_INFO=\w+", cfg)
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}: {'; '.join(libs)}")
    print(f"  threads: torch {torch.get_num_threads()} (interop {torch.get_num_interop_threads()}), "
          f"cpus available {len(os.sched_getaffinity(0))}, mkldnn {torch.backends.mkldnn.is_available()}")
    print(f"timed {len(t)} steps (after {args.warmup} warm-up): median {med * 1e3:.1f} ms/step, "
          f"p10 {p10 * 1e3:.1f} ms, p90 {p90 * 1e3:.1f} ms, {args.batch / med:.1f} samples/s")


if __name__ == "__main__":
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    if args.check:
        torch.set_num_threads(1)
        sys.exit(0 if check() else 1)
    bench()
