"""PyTorch side of bench/vs-pytorch.ts: the same three LeNet-5 steps, timed in PyTorch.

Driven by bench/vs-pytorch.ts, which starts it and speaks JSON lines:

    python3 bench/vs-pytorch.py
    <- {"torch": "1.13.0", "threads": 1}            (or {"torch": null, "error": "..."}, then exit)
    -> {"step": "synthesis", "batch": 256, "warmup": 3, "reps": 10, "threads": 1}
    <- {"samplesMs": [...]}

Each step mirrors the engine's code: synthesis is src/engine/synthesis/soft-target.ts's loss
(tau^2 KL to soft targets minus lambda_A times the mean activation of the penultimate features)
with Adam on the pixels and clipping to the valid range (optimize-inputs.ts); the KD step is
distillationLoss (losses.ts) with Adam on the student's weights, reading the loss like
optimizeStep (train/step.ts); the training step is softmax cross-entropy with Adam. Adam's
epsilon is the engine's (1e-7). Models and optimizers persist across requests, as the engine's
worker keeps them; warm-up steps are run and not reported.
"""

import json
import sys
import time

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as error:  # the driver says so and runs the engine alone
    print(json.dumps({"torch": None, "error": str(error)}), flush=True)
    sys.exit(0)

TAU = 20.0  # temperature of the synthesis KL and of the KD loss (the engine's defaults)
LAMBDA_A = 0.05  # weight of the activation loss (soft-target's default)
PIXEL_LR = 0.05  # Adam step size on the pixels (synthesis default)
WEIGHT_LR = 1e-3
EPS = 1e-7
# MNIST normalisation of the built-in teacher: valid pixels are (0 - mean) / std .. (1 - mean) / std.
MEAN, STD = 0.1310982605542217, 0.3086823362214035
LOW, HIGH = (0 - MEAN) / STD, (1 - MEAN) / STD


class LeNet5(nn.Module):
    """LeNet-5 on 32x32x1: conv 5x5 relu, maxpool 2, conv 5x5 relu, maxpool 2, dense relu x2, logits."""

    def __init__(self, conv=(6, 16), dense=(120, 84), classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, conv[0], 5)
        self.conv2 = nn.Conv2d(conv[0], conv[1], 5)
        self.dense1 = nn.Linear(conv[1] * 5 * 5, dense[0])
        self.dense2 = nn.Linear(dense[0], dense[1])
        self.logits = nn.Linear(dense[1], classes)

    def forward(self, x):
        """Returns (h, logits): h is the penultimate feature vector, the input of the logits layer."""
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        h = F.relu(self.dense2(F.relu(self.dense1(torch.flatten(x, 1)))))
        return h, self.logits(h)


def kl_to_targets(targets, logits, tau):
    """Mean over the batch of KL(p || softmax(logits / tau)), as klToTargets."""
    log_q = F.log_softmax(logits / tau, dim=-1)
    log_p = torch.log(targets.clamp_min(1e-12))
    return (targets * (log_p - log_q)).sum(-1).mean()


def timed(step, warmup, reps):
    for _ in range(warmup):
        step()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        step()
        samples.append(round((time.perf_counter() - start) * 1000, 2))
    return samples


class Steps:
    """The three steps' models, kept across requests (built on first use per batch size)."""

    def __init__(self):
        torch.manual_seed(1)
        self.teacher = LeNet5().eval().requires_grad_(False)
        self.cache = {}

    def synthesis(self, batch, warmup, reps):
        # A fresh batch per request, as the engine starts one synthesize() call: new images, targets, Adam.
        x = torch.empty(batch, 1, 32, 32).uniform_(LOW, HIGH).requires_grad_(True)
        targets = F.softmax(torch.randn(batch, 10) * 3, dim=-1)
        optimizer = torch.optim.Adam([x], lr=PIXEL_LR, eps=EPS)

        def step():
            optimizer.zero_grad(set_to_none=True)
            h, logits = self.teacher(x)
            kl = kl_to_targets(targets, logits, TAU) * TAU * TAU
            (kl - LAMBDA_A * h.abs().mean()).backward()
            optimizer.step()
            with torch.no_grad():
                x.clamp_(LOW, HIGH)

        return timed(step, warmup, reps)

    def _model(self, name, batch, build):
        key = (name, batch)
        if key not in self.cache:
            model = build().train()
            self.cache[key] = (model, torch.optim.Adam(model.parameters(), lr=WEIGHT_LR, eps=EPS))
        return self.cache[key]

    def kd(self, batch, warmup, reps):
        student, optimizer = self._model("kd", batch, lambda: LeNet5(conv=(3, 8), dense=(60, 42)))
        x = torch.randn(batch, 1, 32, 32)
        teacher_logits = torch.randn(batch, 10) * 5

        def step():
            optimizer.zero_grad(set_to_none=True)
            targets = F.softmax(teacher_logits / TAU, dim=-1)
            loss = kl_to_targets(targets, student(x)[1], TAU) * TAU * TAU
            loss.backward()
            optimizer.step()
            loss.item()

        return timed(step, warmup, reps)

    def train(self, batch, warmup, reps):
        model, optimizer = self._model("train", batch, LeNet5)
        x = torch.randn(batch, 1, 32, 32)
        labels = torch.randint(0, 10, (batch,))

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x)[1], labels)
            loss.backward()
            optimizer.step()
            loss.item()

        return timed(step, warmup, reps)


def main():
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    steps = Steps()
    run = {"synthesis": steps.synthesis, "kd": steps.kd, "train": steps.train}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if torch.get_num_threads() != request["threads"]:
            torch.set_num_threads(request["threads"])
        samples = run[request["step"]](request["batch"], request["warmup"], request["reps"])
        print(json.dumps({"samplesMs": samples}), flush=True)


if __name__ == "__main__":
    main()
