"""Compression in miniature: Han et al. 2015 (pruning), Hinton et al. 2015 (distillation), int8.

    python -m benchmarks.compression [--quick] [--seeds N] [--parts han,hinton,int8] [--json PATH]

On the 5,000 MNIST digits bundled with minigrad (4,000 to train, 1,000 held out), every model
trained with SGD (momentum 0.9, batch 32) from seeded weights in float32:

han     LeNet-300-100 as an MLP (784-300-100-10), and LeNet-5 (minigrad.models, 61,706
        parameters). Accuracy against the fraction of weights kept (global magnitude pruning of
        every weight matrix and convolution kernel), without retraining and with
        iterative pruning + retraining (each step prunes to the next fraction on the schedule,
        then retrains at a tenth of the learning rate), as Han et al.'s Figure 5/6 and Table 1;
        the final model's size dense, as CSR, deflated; and, for LeNet-300-100, structured
        pruning that removes half of each hidden layer's units, shrunk into smaller dense
        matrices, timed. LeNet-5 retrains 3 epochs per step instead of 8 (it trains slower).
hinton  A teacher (784-1200-1200-10, Hinton et al.'s net without dropout) and a small student
        (784-16-10) trained alone and on the teacher's soft targets at several temperatures
        (alpha = 0.9), over seeds: each student starts from the same weights and sees the same
        batches as the student alone of its seed.
int8    The article's 784-100-10, LeNet-300-100 and LeNet-5: float32 against int8 dynamic, static
        (min-max and histogram calibration on 1,000 training digits) and quantisation-aware
        fine-tuning (MLPs: 1 epoch at a tenth of the learning rate, against the float model
        trained the same epoch): held-out accuracy, checkpoint
        bytes (minigrad.save), CPU time to classify the 1,000 held-out digits; PyTorch's float32
        and int8 (quantize_dynamic, fbgemm) times on the same weights for comparison.

Times are this process's CPU time, best of several passes, one BLAS thread.
"""
from __future__ import annotations

import copy
import os
import tempfile
import time
import warnings

import numpy as np

from . import common

FULL = dict(seeds=3, han_epochs=20, han_retrain_epochs=8, han_lenet5_retrain_epochs=3, teacher_epochs=20, student_epochs=20, student_lr=0.02,
            student_lrs=[0.01, 0.02, 0.05], sweep_temperature=8, temperatures=[1, 2, 4, 8, 20], hinton_seeds=5,
            transfer_per_class=40, transfer_epochs=100, int8_epochs=15, teacher=[784, 1200, 1200, 10])
QUICK = dict(seeds=1, han_epochs=1, han_retrain_epochs=1, han_lenet5_retrain_epochs=1, teacher_epochs=1, student_epochs=1, student_lr=0.02,
             student_lrs=[0.02], sweep_temperature=4, temperatures=[4], hinton_seeds=1, transfer_per_class=5,
             transfer_epochs=1, int8_epochs=1, teacher=[784, 64, 10])
LR, BATCH = 0.05, 32
KEPT = [1.0, 0.5, 0.3, 0.2, 0.15, 0.1, 0.08, 0.05, 0.03, 0.02, 0.01]  # fractions of weights kept
SCHEDULE = [0.5, 0.3, 0.2, 0.15, 0.1, 0.08, 0.05, 0.03, 0.02]       # iterative pruning steps
LENET_300_100, ARTICLE = [784, 300, 100, 10], [784, 100, 10]
STUDENT = [784, 32, 10]


class Data:
    """The bundled digits as (N, 784) float32 tensors, so a batch is one fancy index."""

    def __init__(self):
        import minigrad
        from minigrad.datasets import MNISTSample

        train, test = MNISTSample(train=True), MNISTSample(train=False)
        self.x_train = minigrad.tensor(train.data.reshape(-1, 784) / np.float32(255))
        self.y_train = minigrad.tensor(train.targets)
        self.x_test = minigrad.tensor(test.data.reshape(-1, 784) / np.float32(255))
        self.y_test = test.targets
        self.x_calibration = self.x_train[:1000]


def mlp(sizes, seed):
    import minigrad
    from minigrad import nn

    minigrad.manual_seed(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def lenet5(seed):
    import minigrad
    from minigrad.models import LeNet5

    minigrad.manual_seed(seed)
    return LeNet5()


def inputs(model, x):
    """The digits as ``model`` takes them: flat (N, 784) for an MLP, (N, 1, 28, 28) for LeNet-5."""
    from minigrad.models import LeNet5

    return x.reshape(-1, 1, 28, 28) if isinstance(model, LeNet5) else x


def train(model, data, epochs, seed, lr=LR, soft_targets=None, temperature=4.0, alpha=0.9, subset=None):
    """SGD over the training digits (or the indices ``subset``), a fresh shuffle per epoch drawn
    from ``seed``; with ``soft_targets`` (the teacher's logits for every training digit), on
    Hinton et al.'s loss."""
    from minigrad import nn, optim

    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    order = np.arange(len(data.y_train)) if subset is None else np.asarray(subset)
    for _ in range(epochs):
        shuffled = order[rng.permutation(len(order))]
        for start in range(0, len(shuffled), BATCH):
            idx = shuffled[start:start + BATCH]
            logits, labels = model(inputs(model, data.x_train[idx])), data.y_train[idx]
            if soft_targets is None:
                loss = loss_fn(logits, labels)
            else:
                loss = nn.distillation_loss(logits, soft_targets[idx], labels, temperature, alpha)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def accuracy(model, data) -> float:
    import minigrad

    with minigrad.no_grad():
        return float((model(inputs(model, data.x_test)).argmax(axis=1).numpy() == data.y_test).mean())


def cpu_ms(call, repeats=7) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
    return 1e3 * best


def forward_ms(model, x) -> float:
    import minigrad

    x = inputs(model, x)

    def call():
        with minigrad.no_grad():
            model(x)
    call()
    return cpu_ms(call)


def file_bytes(obj) -> int:
    import minigrad

    with tempfile.TemporaryDirectory() as d:
        minigrad.save(obj, os.path.join(d, "m.npz"))
        return os.path.getsize(os.path.join(d, "m.npz"))


def weights(model):
    from minigrad import nn

    return [(m, "weight") for m in model.modules() if type(m) in (nn.Linear, nn.Conv2d)]


def prune_to(model, kept: float):
    """Global magnitude pruning of every weight matrix so that ``kept`` of all weights remain
    (composed with any earlier pruning)."""
    from minigrad.nn.utils import prune, sparsity

    rows = sparsity.sparsity(model)
    total, zeros = rows["total"][1], rows["total"][0]
    to_prune = round((1 - kept) * total) - zeros
    if to_prune > 0:
        prune.global_unstructured(weights(model), pruning_method=prune.L1Unstructured, amount=to_prune)
    return model


# -- Han et al. 2015 -----------------------------------------------------------------------------

def han(data, cfg):
    """LeNet-300-100 (with the structured experiment) and LeNet-5 (fewer retraining epochs:
    it trains slower)."""
    return {"LeNet-300-100": han_one(data, cfg, lambda seed: mlp(LENET_300_100, seed), cfg["han_retrain_epochs"]),
            "LeNet-5": han_one(data, cfg, lenet5, cfg["han_lenet5_retrain_epochs"], structured_too=False)}


def han_one(data, cfg, make, retrain_epochs, structured_too=True):
    runs = []
    for seed in range(cfg["seeds"]):
        dense = train(make(seed), data, cfg["han_epochs"], seed)
        run = {"seed": seed, "dense": accuracy(dense, data)}
        run["no_retraining"] = {k: accuracy(prune_to(copy.deepcopy(dense), k), data) for k in KEPT}
        # the retraining is also more training, at a lower learning rate: the dense model gets it too
        longer = copy.deepcopy(dense)
        for k in SCHEDULE:
            train(longer, data, retrain_epochs, seed + 1 + int(100 * k), lr=LR / 10)
        run["dense_retrained"] = accuracy(longer, data)
        model, run["iterative"] = copy.deepcopy(dense), []
        for k in SCHEDULE:
            prune_to(model, k)
            before = accuracy(model, data)
            train(model, data, retrain_epochs, seed + 1 + int(100 * k), lr=LR / 10)
            run["iterative"].append({"kept": k, "pruned": before, "retrained": accuracy(model, data)})
            if k in (0.08, SCHEDULE[-1]):
                run[f"kept_{k}"] = kept_and_stored(model)
        if structured_too:
            run["structured"] = structured(dense, data, seed)
        runs.append(run)
        print(f"  {type(dense).__name__} seed {seed}: dense {run['dense']:.1%} ({run['dense_retrained']:.1%} trained "
              f"as long), 8% kept: no retraining "
              f"{run['no_retraining'][0.08]:.1%}, iterative {_at(run, 0.08):.1%}"
              + (f"; structured {run['structured']['accuracy']:.1%} at {run['structured']['speedup']:.2f}x speed"
                 if structured_too else ""))
    return {"runs": runs, "kept": KEPT, "schedule": SCHEDULE, "retrain_epochs": retrain_epochs,
            "summary": summarise_han(runs)}


def kept_and_stored(model):
    """Per layer, the fraction of weights kept; the bytes of the weights dense, as CSR, deflated,
    and of the state dict saved by minigrad.save dense and with its matrices as CSR."""
    from minigrad.nn.utils import prune, sparsity

    final = copy.deepcopy(model)
    for m, name in weights(final):
        prune.remove(m, name)
    state = final.state_dict()
    return {"per_layer_kept": {name: 1 - z / n for name, (z, n) in sparsity.sparsity(final).items()},
            "bytes": {**sparsity.storage_bytes(final), "file_dense": file_bytes(state),
                      "file_csr": file_bytes({k: sparsity.to_csr(v) if v.ndim == 2 else v for k, v in state.items()})}}


def _at(run, kept):
    return next(r["retrained"] for r in run["iterative"] if r["kept"] == kept)


def structured(dense, data, seed):
    """Half of each hidden layer's units removed (L2 norm of their input weights), retrained,
    then shrunk into a 784-150-50-10 dense network."""
    from minigrad.nn.utils import prune, sparsity

    model = copy.deepcopy(dense)
    for m in (model[0], model[2]):
        prune.ln_structured(m, "weight", 0.5, n=2, dim=1)
    pruned = accuracy(model, data)
    train(model, data, 4, seed + 2, lr=LR / 10)
    small = sparsity.shrink(model)
    x = data.x_test
    dense_ms, small_ms = forward_ms(dense, x), forward_ms(small, x)
    return {"pruned": pruned, "accuracy": accuracy(small, data), "shape": [m.out_features for m in small[::2]],
            "parameters": sum(p.numel() for p in small.parameters()),
            "dense_parameters": sum(p.numel() for p in dense.parameters()),
            "dense_ms": dense_ms, "small_ms": small_ms, "speedup": dense_ms / small_ms}


def summarise_han(runs):
    mean = lambda xs: float(np.mean(xs))  # noqa: E731
    return {"dense": mean([r["dense"] for r in runs]), "dense_retrained": mean([r["dense_retrained"] for r in runs]),
            "no_retraining": {k: mean([r["no_retraining"][k] for r in runs]) for k in KEPT},
            "iterative": {k: mean([_at(r, k) for r in runs]) for k in SCHEDULE},
            **({"structured_accuracy": mean([r["structured"]["accuracy"] for r in runs]),
                "structured_speedup": mean([r["structured"]["speedup"] for r in runs])} if "structured" in runs[0] else {})}


# -- Hinton et al. 2015 --------------------------------------------------------------------------

def hinton(data, cfg):
    """Students alone and distilled, over temperatures, learning rates and seeds; then with a
    transfer set of 40 digits per class (the teacher having seen all 4,000)."""
    import minigrad

    teacher = train(mlp(cfg["teacher"], 0), data, cfg["teacher_epochs"], 0)
    with minigrad.no_grad():
        soft = teacher(data.x_train)  # the teacher is fixed: its logits for every digit, once
    result = {"teacher": accuracy(teacher, data), "teacher_parameters": sum(p.numel() for p in teacher.parameters()),
              "student_parameters": sum(p.numel() for p in mlp(STUDENT, 0).parameters()),
              "temperatures": cfg["temperatures"], "lrs": cfg["student_lrs"]}
    print(f"  teacher {cfg['teacher']}: {result['teacher']:.1%}")
    seeds = range(cfg["hinton_seeds"])

    def student(seed, lr, epochs, T=None, subset=None):
        model = train(mlp(STUDENT, 100 + seed), data, epochs, seed, lr=lr, subset=subset,
                      soft_targets=None if T is None else soft, temperature=T or 1.0, alpha=0.9)
        return accuracy(model, data)

    epochs, main_lr = cfg["student_epochs"], cfg["student_lr"]
    result["by_temperature"] = {"alone": [student(s, main_lr, epochs) for s in seeds]}
    for T in cfg["temperatures"]:
        result["by_temperature"][f"T={T}"] = [student(s, main_lr, epochs, T) for s in seeds]
    print("  full training set, lr", main_lr, _mean_line(result["by_temperature"]))
    best_T = cfg["sweep_temperature"]
    result["by_lr"] = {str(lr): {"alone": [student(s, lr, epochs) for s in seeds],
                            f"T={best_T}": [student(s, lr, epochs, best_T) for s in seeds]}
                       for lr in cfg["student_lrs"]}
    for lr, row in result["by_lr"].items():
        print("  lr", lr, _mean_line(row))
    subset = np.concatenate([np.flatnonzero(data.y_train.data == c)[:cfg["transfer_per_class"]] for c in range(10)])
    t_epochs = cfg["transfer_epochs"]
    result["transfer"] = {"alone": [student(s, LR, t_epochs, subset=subset) for s in seeds]}
    for T in cfg["temperatures"]:
        result["transfer"][f"T={T}"] = [student(s, LR, t_epochs, T, subset=subset) for s in seeds]
    print(f"  transfer set of {len(subset)} digits:", _mean_line(result["transfer"]))
    return result


def _mean_line(row):
    return ", ".join(f"{k} {np.mean(v):.2%}+-{np.std(v):.2%}" for k, v in row.items())


# -- int8 ----------------------------------------------------------------------------------------

def int8(data, cfg):
    from minigrad import nn, quantization as Q

    out = {}
    makers = {"784-100-10": lambda seed: mlp(ARTICLE, seed), "LeNet-300-100": lambda seed: mlp(LENET_300_100, seed),
              "LeNet-5": lenet5}
    for name, make in makers.items():
        runs = []
        for seed in range(cfg["seeds"]):
            model = train(make(seed), data, cfg["int8_epochs"], seed)
            variants = {"float32": model,
                        "int8 dynamic": Q.quantize_dynamic(model, {nn.Linear, nn.Conv2d}, dtype=Q.qint8)}
            for label, qconfig in (("int8 static min-max", Q.default_qconfig),
                                   ("int8 static histogram", Q.histogram_qconfig)):
                m = copy.deepcopy(model)
                m.qconfig = qconfig
                prepared = Q.prepare(m)
                prepared(inputs(m, data.x_calibration))
                variants[label] = Q.convert(prepared)
            if name == "LeNet-5":  # quantisation-aware training covers Linear layers only
                runs.append(measure_variants(variants, data, seed, torch_too=False))
                continue
            qat = copy.deepcopy(model)
            qat.qconfig = Q.default_qat_qconfig
            qat = Q.prepare_qat(qat)
            train(qat, data, 1, seed + 7, lr=LR / 10)
            variants["int8 QAT"] = Q.convert(qat.eval())
            # QAT trained one more epoch: the fair comparison is the float model trained the same
            variants["float32 + the same epoch"] = train(copy.deepcopy(model), data, 1, seed + 7, lr=LR / 10)
            runs.append(measure_variants(variants, data, seed))
        out[name] = runs
        first = runs[0]
        print(f"  {name}: " + ", ".join(f"{k} {np.mean([r[k]['accuracy'] for r in runs]):.2%} "
                                        f"{first[k]['bytes'] / 1024:.0f} KiB {first[k]['cpu_ms']:.1f} ms"
                                        for k in first if k != "torch")
              + (f"; torch float32 {first['torch']['float32_ms']:.1f} ms, int8 {first['torch']['int8_ms']:.1f} ms"
                 if first.get("torch") else ""))
    return out


def measure_variants(variants, data, seed, torch_too=True):
    """Accuracy and file bytes of each; for seed 0 also the CPU time (and PyTorch's)."""
    run = {label: {"accuracy": accuracy(m, data), "bytes": file_bytes(m.state_dict())}
           for label, m in variants.items()}
    if seed == 0:
        for label, m in variants.items():
            run[label]["cpu_ms"] = forward_ms(m, data.x_test)
        if torch_too:
            run["torch"] = torch_times(variants["float32"], data)
    return run


def torch_times(model, data):
    """PyTorch's float32 and dynamic int8 (fbgemm) on the same weights, same digits."""
    torch = common.torch_or_none()
    if torch is None:
        return None
    import torch.ao.quantization as tq

    layers = []
    for m in model:
        if hasattr(m, "weight"):
            lin = torch.nn.Linear(*m.weight.shape)
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(m.weight.data.T))
                lin.bias.copy_(torch.tensor(m.bias.data))
            layers.append(lin)
        else:
            layers.append(torch.nn.ReLU())
    ref = torch.nn.Sequential(*layers).eval()
    with warnings.catch_warnings():  # torch 2.13 announces eager-mode quantisation's move to torchao
        warnings.simplefilter("ignore")
        qref = tq.quantize_dynamic(ref, {torch.nn.Linear}, dtype=torch.qint8)
    x = torch.tensor(data.x_test.data)

    def timed(m):
        def call():
            with torch.no_grad():
                m(x)
        call()
        return cpu_ms(call)

    with torch.no_grad():
        acc = float((qref(x).argmax(1).numpy() == data.y_test).mean())
    return {"float32_ms": timed(ref), "int8_ms": timed(qref), "int8_accuracy": acc}


def main(argv=None):
    parser = common.arg_parser(__doc__, "compression")
    parser.add_argument("--seeds", type=int, help="seeds for pruning and int8 (default 3)")
    parser.add_argument("--parts", default="han,hinton,int8", help="which experiments (default all three)")
    args = common.parse_args(parser, argv)
    cfg = dict(QUICK if args.quick else FULL)
    if args.seeds:
        cfg["seeds"] = args.seeds
    info = common.machine_info()
    print(common.describe(info))
    data = Data()
    results = {"config": cfg, "machine": info}
    start = time.perf_counter()
    with common.threads(1):
        for part in args.parts.split(","):
            print(f"{part}:")
            results[part] = {"han": han, "hinton": hinton, "int8": int8}[part](data, cfg)
    results["seconds"] = time.perf_counter() - start
    print(f"{results['seconds']:.0f} s")
    if args.json:
        common.write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
