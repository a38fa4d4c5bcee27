# Worked answers to the exercises of notebook 05. Each "# %% Exercise N.M" section is the
# answer cell of that exercise, filled in; tests/test_exercises.py runs the notebook's
# exercises with these in place and requires every check to pass.

# %% Exercise 5.1
def train_step(model, loss_fn, optimizer, x, y):
    """One step on the batch (x, y); returns the batch's loss, computed before the update."""
    optimizer.zero_grad()        # backward() adds to .grad: clear the last batch's first
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


# %% Exercise 5.2
def accuracy(logits, labels):
    """The fraction of rows of logits (n, C) whose argmax is the label, as a float."""
    return (logits.argmax(axis=1) == labels).float().mean().item()


# %% Exercise 5.3
predictions = {
    "initial_loss": np.log(10),  # each class gets about 1/10: the loss is -ln(1/10) = 2.30
    "steps_per_epoch": 63,       # 4000 = 62 * 64 + 32: the last, smaller batch is a step too
}
