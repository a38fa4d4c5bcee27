"""Learning-rate schedules against torch.optim.lr_scheduler 2.13: the same rates, step by step,
for hundreds of steps, through resumes, state dicts and files."""
import warnings

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim
from minigrad.optim import lr_scheduler

torch = pytest.importorskip("torch")


def _optimizers(name="SGD", **kwargs):
    """The same two-group optimiser in both libraries (groups with different learning rates)."""
    ours = [nn.Parameter(minigrad.zeros(2, dtype=minigrad.float64)) for _ in range(2)]
    theirs = [torch.zeros(2, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    kwargs = {"lr": 0.1, **kwargs}
    return (getattr(optim, name)([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.03}], **kwargs),
            getattr(torch.optim, name)([{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.03}], **kwargs))


def _assert_same_rates(opt, ref_opt, sched, ref_sched, keys=("lr",)):
    for key in keys:
        ours = [g[key] for g in opt.param_groups]
        theirs = [g[key] for g in ref_opt.param_groups]
        np.testing.assert_allclose(np.array(ours, dtype=float), np.array(theirs, dtype=float), rtol=1e-12, atol=0)
    np.testing.assert_allclose(sched.get_last_lr(), ref_sched.get_last_lr(), rtol=1e-12, atol=0)


def _step_both(opt, ref_opt, sched, ref_sched, steps, keys=("lr",)):
    for _ in range(steps):
        opt.step()
        ref_opt.step()
        sched.step()
        ref_sched.step()
        _assert_same_rates(opt, ref_opt, sched, ref_sched, keys)


def _make(cls_name, opt, args, kwargs, module):
    if cls_name == "SequentialLR":
        parts = [getattr(module, n)(opt, *a, **k) for n, a, k in kwargs["schedulers"]]
        return module.SequentialLR(opt, parts, milestones=kwargs["milestones"])
    return getattr(module, cls_name)(opt, *args, **kwargs)


def _lambda(epoch):
    return 0.95 ** epoch + 0.1 * (epoch % 3)


class Warmup:
    """A callable object: its attributes travel in LambdaLR's state dict."""

    def __init__(self, n):
        self.n = n

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.n)


SCHEDULES = {
    "step": ("StepLR", (), dict(step_size=7, gamma=0.5)),
    "step_default_gamma": ("StepLR", (3,), {}),
    "multistep": ("MultiStepLR", (), dict(milestones=[5, 12, 12, 40], gamma=0.3)),
    "exponential": ("ExponentialLR", (0.97,), {}),
    "cosine": ("CosineAnnealingLR", (), dict(T_max=50, eta_min=1e-4)),
    "cosine_past_T_max": ("CosineAnnealingLR", (), dict(T_max=13)),
    "lambda": ("LambdaLR", (_lambda,), {}),
    "lambda_per_group": ("LambdaLR", ([_lambda, lambda e: 1 / (e + 1)],), {}),
    "constant": ("ConstantLR", (), dict(factor=0.25, total_iters=8)),
    "linear_warmup": ("LinearLR", (), dict(start_factor=0.1, total_iters=10)),
    "linear_decay": ("LinearLR", (), dict(start_factor=1.0, end_factor=0.05, total_iters=30)),
    "warmup_cosine": ("SequentialLR", (), dict(
        schedulers=[("LinearLR", (), dict(start_factor=0.01, total_iters=10)),
                    ("CosineAnnealingLR", (), dict(T_max=90, eta_min=1e-5))], milestones=[10])),
    "constant_exponential_step": ("SequentialLR", (), dict(
        schedulers=[("ConstantLR", (), dict(factor=0.1, total_iters=20)), ("ExponentialLR", (0.9,), {}),
                    ("StepLR", (), dict(step_size=10))], milestones=[20, 60])),
}


@pytest.mark.parametrize("case", sorted(SCHEDULES))
def test_schedule_matches_pytorch_for_many_steps(case):
    cls_name, args, kwargs = SCHEDULES[case]
    opt, ref_opt = _optimizers()
    sched = _make(cls_name, opt, args, kwargs, lr_scheduler)
    ref_sched = _make(cls_name, ref_opt, args, kwargs, torch.optim.lr_scheduler)
    _assert_same_rates(opt, ref_opt, sched, ref_sched)
    assert [g["initial_lr"] for g in opt.param_groups] == [g["initial_lr"] for g in ref_opt.param_groups]
    _step_both(opt, ref_opt, sched, ref_sched, 300)
    assert sched.last_epoch == ref_sched.last_epoch == 300


@pytest.mark.parametrize("kwargs", [
    dict(max_lr=0.5, total_steps=200),
    dict(max_lr=[0.5, 0.2], epochs=7, steps_per_epoch=23, pct_start=0.25, anneal_strategy="linear"),
    dict(max_lr=1.0, total_steps=150, three_phase=True, div_factor=10.0, final_div_factor=100.0),
    dict(max_lr=0.5, total_steps=100, cycle_momentum=False),
    dict(max_lr=0.5, total_steps=100, base_momentum=[0.8, 0.7], max_momentum=0.99),
])
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_one_cycle_matches_pytorch_rates_and_momentum(kwargs, opt_name):
    extra = dict(momentum=0.9) if opt_name == "SGD" else {}
    opt, ref_opt = _optimizers(opt_name, **extra)
    sched = lr_scheduler.OneCycleLR(opt, **kwargs)
    ref_sched = torch.optim.lr_scheduler.OneCycleLR(ref_opt, **kwargs)
    keys = ("lr", "momentum" if opt_name == "SGD" else "betas") if kwargs.get("cycle_momentum", True) else ("lr",)
    total = kwargs.get("total_steps") or kwargs["epochs"] * kwargs["steps_per_epoch"]
    _assert_same_rates(opt, ref_opt, sched, ref_sched, keys)
    _step_both(opt, ref_opt, sched, ref_sched, total - 1, keys)
    with pytest.raises(ValueError, match=f"tried to step {total + 1} times"):
        opt.step()
        sched.step()
        sched.step()


def test_one_cycle_needs_momentum_or_betas():
    class PlainGD(optim.Optimizer):  # a user's optimiser without momentum
        def __init__(self, params, lr):
            super().__init__(params, dict(lr=lr))

    opt = PlainGD([nn.Parameter(minigrad.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    with pytest.raises(ValueError, match="either total_steps OR"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, cycle_momentum=False)


@pytest.mark.parametrize("case", ["step", "multistep", "exponential", "cosine", "lambda", "constant",
                                  "linear_warmup"])
def test_step_with_an_epoch_uses_the_closed_form_as_pytorch(case):
    cls_name, args, kwargs = SCHEDULES[case]
    opt, ref_opt = _optimizers()
    sched = _make(cls_name, opt, args, kwargs, lr_scheduler)
    ref_sched = _make(cls_name, ref_opt, args, kwargs, torch.optim.lr_scheduler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_opt.step()
        for epoch in (3, 17, 8, 40, 41, 100):
            with pytest.warns(UserWarning, match=r"epoch parameter in `scheduler.step\(\)`"):
                sched.step(epoch)
            ref_sched.step(epoch)
            _assert_same_rates(opt, ref_opt, sched, ref_sched)


@pytest.mark.parametrize("case", sorted(SCHEDULES))
def test_state_dict_round_trip_through_a_file_continues_the_schedule(case, tmp_path):
    """Save optimiser and scheduler after 37 steps, load both into fresh ones, continue: the
    rates are those of PyTorch's run that never stopped."""
    cls_name, args, kwargs = SCHEDULES[case]
    opt, ref_opt = _optimizers()
    sched = _make(cls_name, opt, args, kwargs, lr_scheduler)
    ref_sched = _make(cls_name, ref_opt, args, kwargs, torch.optim.lr_scheduler)
    _step_both(opt, ref_opt, sched, ref_sched, 37)
    minigrad.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "ckpt.npz")
    ckpt = minigrad.load(tmp_path / "ckpt.npz")
    opt2, _ = _optimizers()
    if case.startswith("lambda"):
        ckpt["scheduler"]["lr_lambdas"] = [None] * 2  # plain functions are not saved (as PyTorch)
    sched2 = _make(cls_name, opt2, args, kwargs, lr_scheduler)  # as PyTorch advises: scheduler first,
    sched2.load_state_dict(ckpt["scheduler"])
    opt2.load_state_dict(ckpt["optimizer"])  # then the optimiser, whose lr it must not overwrite
    assert sched2.last_epoch == 37
    _step_both(opt2, ref_opt, sched2, ref_sched, 100)


def test_lambda_state_dict_keeps_a_callable_objects_attributes_but_not_a_function():
    opt, _ = _optimizers()
    warm = Warmup(10)
    sched = lr_scheduler.LambdaLR(opt, [warm, _lambda])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"n": 10}, None]
    other = Warmup(3)
    opt2, _ = _optimizers()
    sched2 = lr_scheduler.LambdaLR(opt2, [other, _lambda])
    sched2.load_state_dict(state)
    assert other.n == 10 and "lr_lambdas" in state


def test_resuming_with_last_epoch_needs_initial_lr_and_then_matches_pytorch():
    p = nn.Parameter(minigrad.zeros(1))
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(optim.SGD([p], lr=0.1), step_size=3, last_epoch=5)
    for cls_name, kwargs in (("CosineAnnealingLR", dict(T_max=30)), ("ExponentialLR", dict(gamma=0.9)),
                             ("StepLR", dict(step_size=4)), ("LinearLR", dict(total_iters=20))):
        opt, ref_opt = _optimizers()
        for group, ref_group in zip(opt.param_groups, ref_opt.param_groups):
            group["initial_lr"] = ref_group["initial_lr"] = group["lr"] * 2
        sched = getattr(lr_scheduler, cls_name)(opt, last_epoch=9, **kwargs)
        ref_sched = getattr(torch.optim.lr_scheduler, cls_name)(ref_opt, last_epoch=9, **kwargs)
        _assert_same_rates(opt, ref_opt, sched, ref_sched)
        _step_both(opt, ref_opt, sched, ref_sched, 50)


def test_two_schedulers_on_one_optimiser_compose_as_in_pytorch():
    opt, ref_opt = _optimizers()
    ours = [lr_scheduler.ExponentialLR(opt, 0.9), lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)]
    theirs = [torch.optim.lr_scheduler.ExponentialLR(ref_opt, 0.9),
              torch.optim.lr_scheduler.StepLR(ref_opt, step_size=5, gamma=0.5)]
    for _ in range(30):
        opt.step()
        ref_opt.step()
        for s, r in zip(ours, theirs):
            s.step()
            r.step()
        _assert_same_rates(opt, ref_opt, ours[1], theirs[1])


def test_get_lr_outside_step_warns_to_use_get_last_lr():
    opt, _ = _optimizers()
    sched = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


def test_bad_arguments():
    opt, _ = _optimizers()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="expected 2 lr_lambdas"):
        lr_scheduler.LambdaLR(opt, [_lambda])
    with pytest.raises(ValueError, match="start_factor must lie in"):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="one more scheduler than milestones"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.ConstantLR(opt)], milestones=[3])
    other, _ = _optimizers()
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.ConstantLR(opt), lr_scheduler.ConstantLR(other)], [3])
