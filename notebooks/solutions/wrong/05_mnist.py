# Wrong answers to the exercises of notebook 05, each a mistake a student makes. A section
# "# %% Exercise N.M | <text>" replaces that answer cell; tests/test_exercises.py requires the
# check to report it wrong with <text> in its message, so the checks say what is wrong.

# %% Exercise 5.1 | optimizer.zero_grad() is missing
def train_step(model, loss_fn, optimizer, x, y):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


# %% Exercise 5.1 | it cleared the gradients step() needed
def train_step(model, loss_fn, optimizer, x, y):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss


# %% Exercise 5.1 | optimizer.step() ran before loss.backward()
def train_step(model, loss_fn, optimizer, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    optimizer.step()
    loss.backward()
    return loss


# %% Exercise 5.1 | optimizer.step() is missing
def train_step(model, loss_fn, optimizer, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    return loss


# %% Exercise 5.1 | train_step returned None
def train_step(model, loss_fn, optimizer, x, y):
    optimizer.zero_grad()
    loss_fn(model(x), y).backward()
    optimizer.step()


# %% Exercise 5.1 | before the update
def train_step(model, loss_fn, optimizer, x, y):
    optimizer.zero_grad()
    loss_fn(model(x), y).backward()
    optimizer.step()
    return loss_fn(model(x), y)


# %% Exercise 5.1 | loss.backward() is missing
def train_step(model, loss_fn, optimizer, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    optimizer.step()
    return loss


# %% Exercise 5.2 | got bool
def accuracy(logits, labels):
    return (logits.argmax(axis=1) == labels).mean().item()


# %% Exercise 5.2 | that is the number of correct rows
def accuracy(logits, labels):
    return (logits.argmax(axis=1) == labels).float().sum().item()


# %% Exercise 5.2 | a tie was counted as right
def accuracy(logits, labels):
    z, y = logits.numpy(), labels.numpy()
    return float((z[np.arange(len(y)), y] == z.max(axis=1)).mean())


# %% Exercise 5.2 | not a percentage
def accuracy(logits, labels):
    return 100 * (logits.argmax(axis=1) == labels).float().mean().item()


# %% Exercise 5.3 | the loss is -ln(1/10)
predictions = {"initial_loss": 0.1, "steps_per_epoch": 63}

# %% Exercise 5.3 | cross-entropy uses the natural logarithm
predictions = {"initial_loss": 1.0, "steps_per_epoch": 63}

# %% Exercise 5.3 | the last, smaller batch is a batch too
predictions = {"initial_loss": 2.3, "steps_per_epoch": 62}

# %% Exercise 5.3 | a number of batches is an integer
predictions = {"initial_loss": 2.3, "steps_per_epoch": 4000 / 64}
