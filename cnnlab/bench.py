"""``python -m cnnlab.bench``: how fast cnnlab trains, against the textbook PyTorch loop.

For each model, on the current device, with CIFAR-shaped synthetic images (random uint8, 3x32x32):

* **cnnlab path** -- images already on the device, augmented there by ``cnnlab.data.DeviceLoader``;
  ``fit``'s own step, :class:`cnnlab.train.TrainStep`, with the precision ``fit`` chooses on this device
  (:mod:`cnnlab.train.precision`: bfloat16 or float16 autocast and channels-last where the hardware runs
  them natively, else float32), SGD with a constant learning rate.
* **textbook path** -- ``torch.utils.data.DataLoader`` over CPU images with torchvision v2
  transforms (pad-crop, flip, normalize) in the loader, float32, a plain loop.

Both paths run ``warmup`` steps that are not timed, then ``steps`` timed steps (the device is
synchronized before the clock is read). This is repeated for ``rounds`` rounds, the two paths taking
turns to go first, and each speed is the median over the rounds (a busy CPU varies by +-20% from run
to run). Seconds per CIFAR epoch are *extrapolated* to 50,000
images from the timed steps. Peak memory is CUDA's max allocated on a GPU, and the process's
peak resident size (``resource.getrusage``; it only grows, so later rows include earlier ones) on a CPU.
"""
from __future__ import annotations

import argparse
import datetime
import json
import resource
import statistics
import time
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from torchvision.transforms import v2

__all__ = ["DEFAULT_MODELS", "CIFAR_TRAIN_IMAGES", "benchmark", "markdown_table", "main", "textbook_fit"]

DEFAULT_MODELS = ["lenet5_folk", "resnet20", "resnet18"]
CIFAR_TRAIN_IMAGES = 50_000
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def synthetic_cifar(n: int, seed: int = 0) -> SimpleNamespace:
    """``n`` random CIFAR-shaped uint8 images and labels (speed does not depend on the pixels)."""
    g = torch.Generator().manual_seed(seed)
    return SimpleNamespace(images=torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
                           labels=torch.randint(0, 10, (n,), generator=g))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _timed(batches, step, warmup: int, steps: int, device) -> float:
    """Seconds for ``steps`` calls of ``step(x, y)`` after ``warmup`` untimed ones."""
    it = iter(batches)
    for _ in range(warmup):
        step(*next(it))
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step(*next(it))
    _sync(device)
    return time.perf_counter() - start


def _cycle(loader):
    while True:
        yield from loader


def _cnnlab_path(model, split, batch_size, device):
    """DeviceLoader + fit's own step (the settings fit picks on this device)."""
    from .data import DeviceLoader
    from .train import Recipe, TrainStep

    recipe = Recipe(epochs=1, batch_size=batch_size, lr=0.01, schedule="constant")
    step = TrainStep(model, recipe, len(split.labels) // batch_size, device)
    loader = DeviceLoader(split, batch_size, device, train=True, crop=4, flip=True, cutout=0, mean=CIFAR_MEAN,
                          std=CIFAR_STD, channels_last=step.memory_format == torch.channels_last, seed=0)

    def infer(x, y):
        with torch.no_grad(), torch.autocast(device.type, dtype=step.precision.dtype, enabled=step.precision.autocast):
            model(x)

    return loader, step, infer


def _textbook_loader(split, batch_size, device, workers, mean=CIFAR_MEAN, std=CIFAR_STD, seed=0):
    """torchvision DataLoader over CPU images with v2 transforms per image (pad-crop, flip, normalize)."""
    augment = v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip(),
                          v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)])

    class Augmented(TensorDataset):
        def __getitem__(self, i):
            image, label = super().__getitem__(i)
            return augment(image), label

    return DataLoader(Augmented(split.images, split.labels), batch_size=batch_size, shuffle=True,
                      num_workers=workers, drop_last=True, pin_memory=device.type == "cuda",
                      generator=torch.Generator().manual_seed(seed))


def _textbook_path(model, split, batch_size, device, workers):
    """torchvision DataLoader with CPU v2 transforms, float32, a plain loop."""
    model.to(device)
    loader = _textbook_loader(split, batch_size, device, workers)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)

    def step(x, y):
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def infer(x, y):
        with torch.no_grad():
            model(x.to(device))

    return loader, step, infer


def textbook_fit(model, data, epochs: int, lr: float = 0.1, batch_size: int = 128, weight_decay: float = 5e-4,
                 seed: int = 0, device=None, workers: int = 0) -> float:
    """The textbook loop trained to the end, the second implementation ``fit`` is checked against: the
    DataLoader above, float32, SGD with Nesterov momentum 0.9 and PyTorch's ``OneCycleLR`` stepped per batch
    (``fit``'s defaults). Returns the accuracy on ``data.test``."""
    from . import get_device

    device = torch.device(device) if device is not None else get_device()
    torch.manual_seed(seed)
    model.to(device).train()
    loader = _textbook_loader(data.train, batch_size, device, workers, data.mean, data.std, seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * len(loader))
    for _ in range(epochs):
        for x, y in loader:
            loss = F.cross_entropy(model(x.to(device)), y.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
    model.eval()
    test = v2.Normalize(data.mean, data.std)(data.test.images.float() / 255)
    with torch.no_grad():
        predictions = torch.cat([model(x.to(device)).argmax(1).cpu() for x in test.split(512)])
    return (predictions == data.test.labels).float().mean().item()


def _measure(path, build_model, split, batch_size, device, warmup, steps, workers) -> dict:
    torch.manual_seed(0)
    model = build_model().train()
    _reset_peak(device)
    if path == "cnnlab":
        loader, step, infer = _cnnlab_path(model, split, batch_size, device)
    else:
        loader, step, infer = _textbook_path(model, split, batch_size, device, workers)
    train_s = _timed(_cycle(loader), step, warmup, steps, device)
    model.eval()
    batch = next(iter(loader))
    infer_s = _timed(_cycle([batch]), infer, warmup, steps, device)
    images = steps * batch_size
    return dict(path=path, train_images_per_s=images / train_s, infer_images_per_s=images / infer_s,
                epoch_seconds=CIFAR_TRAIN_IMAGES * train_s / images, peak_mb=_peak_mb(device))


def _median_row(model: str, runs: list[dict]) -> dict:
    """One row per model and path: median speeds over the rounds, the largest peak memory."""
    train = statistics.median(r["train_images_per_s"] for r in runs)
    return dict(model=model, path=runs[0]["path"], train_images_per_s=train,
                infer_images_per_s=statistics.median(r["infer_images_per_s"] for r in runs),
                epoch_seconds=CIFAR_TRAIN_IMAGES / train, peak_mb=max(r["peak_mb"] for r in runs))


def benchmark(models=None, batch_size: int = 32, steps: int = 5, warmup: int = 2, device=None,
              workers: int | None = None, rounds: int = 3) -> dict:
    """Measure both paths for each model; ``models`` is a list of registry names or a dict name -> builder.

    Registry names that are not registered (yet) are skipped and listed in ``result["skipped"]``.
    """
    from . import get_device, models as zoo

    if steps < 1 or warmup < 0 or batch_size < 1 or rounds < 1:
        raise ValueError(f"need steps >= 1, warmup >= 0, batch_size >= 1, rounds >= 1; "
                         f"got {steps}, {warmup}, {batch_size}, {rounds}")
    device = torch.device(device) if device is not None else get_device()
    workers = (4 if device.type == "cuda" else 0) if workers is None else workers
    models = DEFAULT_MODELS if models is None else models
    if isinstance(models, dict):
        builders, skipped = dict(models), []
    else:
        known = set(zoo.list_models())
        builders = {n: (lambda n=n: zoo.create(n, num_classes=10)) for n in models if n in known}
        skipped = [n for n in models if n not in known]
    split = synthetic_cifar(batch_size * (warmup + steps + 1))
    rows = []
    for name, build in builders.items():
        runs = {"cnnlab": [], "textbook": []}
        for round_ in range(rounds):
            for path in (("cnnlab", "textbook") if round_ % 2 == 0 else ("textbook", "cnnlab")):
                runs[path].append(_measure(path, build, split, batch_size, device, warmup, steps, workers))
        rows += [_median_row(name, runs["cnnlab"]), _median_row(name, runs["textbook"])]
    from .session import describe_device
    from .train.precision import choose_precision

    return dict(device=describe_device(device), precision=str(choose_precision(device)), torch=str(torch.__version__),
                date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                batch_size=batch_size, steps=steps, warmup=warmup, workers=workers, rounds=rounds, rows=rows,
                skipped=skipped)


def markdown_table(result: dict) -> str:
    """The result as a markdown table, headed with device, torch version and date."""
    lines = [f"Device: {result['device']} | torch {result['torch']} | {result['date']}",
             f"cnnlab path precision: {result['precision']}; textbook path: float32, NCHW",
             f"batch {result['batch_size']}, {result['warmup']} warm-up + {result['steps']} timed steps per path, "
             f"median of {result['rounds']} rounds (paths alternate going first), textbook DataLoader workers: "
             f"{result['workers']}; s/epoch is extrapolated to 50,000 images", "",
             "| model | path | train img/s | infer img/s | s per CIFAR epoch (extrapolated) | peak memory MB | "
             "train speed-up vs textbook |", "|---|---|---:|---:|---:|---:|---:|"]
    textbook = {r["model"]: r for r in result["rows"] if r["path"] == "textbook"}
    for r in result["rows"]:
        ratio = r["train_images_per_s"] / textbook[r["model"]]["train_images_per_s"]
        lines.append(f"| {r['model']} | {r['path']} | {r['train_images_per_s']:.0f} | {r['infer_images_per_s']:.0f} "
                     f"| {r['epoch_seconds']:.0f} | {r['peak_mb']:.0f} | {ratio:.2f}x |")
    if result["skipped"]:
        lines += ["", f"Not registered, skipped: {', '.join(result['skipped'])}"]
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m cnnlab.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS, help="registry names")
    parser.add_argument("--batch-size", type=int, default=None, help="default 128 (fit's) on CPU, 256 on CUDA")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per path (default 5 CPU, 50 CUDA)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 2 CPU, 10 CUDA)")
    parser.add_argument("--workers", type=int, default=None, help="textbook DataLoader workers (0 CPU, 4 CUDA)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per model; speeds are their medians")
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    from . import get_device

    gpu = (torch.device(args.device) if args.device else get_device()).type == "cuda"
    result = benchmark(args.models, batch_size=args.batch_size or (256 if gpu else 128),
                       steps=args.steps or (50 if gpu else 5), warmup=args.warmup if args.warmup is not None
                       else (10 if gpu else 2), device=args.device, workers=args.workers, rounds=args.rounds)
    print(markdown_table(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
