"""The article's training loop, with only the imports changed, learns on synthetic data."""
import numpy as np

import minigrad as torch
from minigrad import nn, optim


def synthetic_loader(n_batches=40, batch=64, seed=0):
    """(images, labels) batches: 28x28 images whose class is set by which band is brightest."""
    gen = np.random.default_rng(seed)
    batches = []
    for _ in range(n_batches):
        labels = gen.integers(0, 10, batch)
        images = gen.uniform(0, 0.3, (batch, 1, 28, 28)).astype(np.float32)
        for i, c in enumerate(labels):
            images[i, 0, c * 2:c * 2 + 3, :] += 0.7
        batches.append((torch.tensor(images), torch.tensor(labels)))
    return batches


def test_article_snippet_trains_with_falling_loss():
    torch.manual_seed(0)
    dataloader = synthetic_loader()
    model = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    epochs, history = 6, []
    for epoch in range(epochs):
        for images, labels in dataloader:
            images = images.view(images.shape[0], -1)
            optimizer.zero_grad()
            output = model(images)
            loss = criterion(output, labels)
            loss.backward()
            optimizer.step()
            history.append(loss.item())
    assert np.mean(history[-10:]) < 0.5 * np.mean(history[:10])
    images, labels = synthetic_loader(n_batches=1, seed=1)[0]
    with torch.no_grad():
        accuracy = (model(images.view(64, -1)).argmax(1) == labels).float().mean().item()
    assert accuracy > 0.9


def test_float32_training_step_keeps_every_array_float32():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    images, labels = synthetic_loader(n_batches=1)[0]
    for _ in range(2):
        optimizer.zero_grad()
        loss = nn.CrossEntropyLoss()(model(images.view(64, -1)), labels)
        assert loss.dtype == np.float32
        loss.backward()
        optimizer.step()
        for p in model.parameters():
            assert p.dtype == np.float32 and p.grad.dtype == np.float32
    for state in optimizer.state.values():
        assert state["momentum_buffer"].dtype == np.float32
