"""PyTorch side of bench/onnx-pytorch.ts: a Fashion-MNIST CNN trained in PyTorch and exported to ONNX.

    /usr/bin/python3 bench/onnx-pytorch.py --out runs/onnx-pytorch [--epochs 4] [--seed 1]

Reads Debian's Fashion-MNIST IDX files (dataset-fashion-mnist, /usr/share/datasets/fashion-mnist),
pixels scaled to [0, 1] and nothing subtracted (the app's default for an imported model), trains
the CNN below on the 60,000 training images with one thread, measures it on the 10,000 test
images and writes into --out:
    fashion-cnn.onnx      torch.onnx.export, opset 13, input "input" [batch, 1, 28, 28], output "logits"
    pytorch-logits.f32    the test images' logits, float32 little-endian, 10000 x 10, file order
    pytorch.json          torch version, accuracy, per-image predictions, timings

The model is what a PyTorch user would write: two conv/BatchNorm/ReLU/max-pool blocks, a residual
block (conv + BatchNorm added to its input), the x.view(x.size(0), -1) flatten (exported as
Shape/Gather/Concat/Reshape) and two Linear layers with dropout between them. The export uses
torch's defaults for a model in eval mode (BatchNorm is folded into the convolutions).
PyTorch is only this benchmark's dependency, never the product's.
"""

import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """An IDX file (gzipped) as a numpy array of its stored dimensions."""
    with gzip.open(path, "rb") as f:
        zero, dtype, dims = struct.unpack(">HBB", f.read(4))
        if zero != 0 or dtype != 0x08:
            raise ValueError(f"{path}: not an unsigned-byte IDX file")
        shape = struct.unpack(">" + "I" * dims, f.read(4 * dims))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(shape)


def load(split):
    """(images [n, 1, 28, 28] float32 in [0, 1], labels [n] int64) of 'train' or 't10k'."""
    images = read_idx(os.path.join(DATA, f"{split}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA, f"{split}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


class FashionCNN(nn.Module):
    """28x28x1 -> 16@14x14 -> 32@7x7 -> residual 32@7x7 -> 128 -> 10 logits."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(32)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.dropout = nn.Dropout(0.25)
        self.fc2 = nn.Linear(128, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(x + self.bn3(self.conv3(x)))
        x = x.view(x.size(0), -1)
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


def test_logits(model, x, batch=1000):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i : i + batch]) for i in range(0, len(x), batch)])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    train_x, train_y = load("train")
    test_x, test_y = load("t10k")
    model = FashionCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = args.epochs * ((len(train_x) + args.batch - 1) // args.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps)

    started = time.time()
    epochs = []
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(train_x))
        total, count = 0.0, 0
        for i in range(0, len(order), args.batch):
            index = order[i : i + args.batch]
            loss = F.cross_entropy(model(train_x[index]), train_y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(index)
            count += len(index)
        accuracy = (test_logits(model, test_x).argmax(1) == test_y).float().mean().item()
        epochs.append({"epoch": epoch + 1, "loss": total / count, "testAccuracy": accuracy, "seconds": time.time() - started})
        print(json.dumps(epochs[-1]), flush=True)
    train_seconds = time.time() - started

    logits = test_logits(model, test_x)
    predictions = logits.argmax(1)
    correct = int((predictions == test_y).sum())
    onnx_path = os.path.join(args.out, "fashion-cnn.onnx")
    started = time.time()
    torch.onnx.export(
        model,
        torch.zeros(1, 1, 28, 28),
        onnx_path,
        opset_version=13,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    export_seconds = time.time() - started
    logits.numpy().astype("<f4").tofile(os.path.join(args.out, "pytorch-logits.f32"))
    result = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": torch.get_num_threads(),
        "seed": args.seed,
        "epochs": args.epochs,
        "batch": args.batch,
        "lr": args.lr,
        "parameters": sum(p.numel() for p in model.parameters()),
        "testImages": len(test_y),
        "testCorrect": correct,
        "testAccuracy": correct / len(test_y),
        "trainSeconds": train_seconds,
        "exportSeconds": export_seconds,
        "history": epochs,
        "onnx": onnx_path,
        "predictions": predictions.tolist(),
    }
    with open(os.path.join(args.out, "pytorch.json"), "w") as f:
        json.dump(result, f)
    print(json.dumps({k: v for k, v in result.items() if k not in ("predictions", "history")}), flush=True)


if __name__ == "__main__":
    main()
