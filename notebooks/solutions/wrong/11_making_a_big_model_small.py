# Wrong answers to the exercises of notebook 11, each a mistake a student makes. A section
# "# %% Exercise N.M | <text>" replaces that answer cell; tests/test_exercises.py requires the
# check to report it wrong with <text> in its message, so the checks say what is wrong.

# %% Exercise 11.1 | you ranked w, not |w|
def magnitude_mask(w, amount):
    k = round(amount * w.size)
    mask = np.ones(w.size)
    mask[np.argsort(w.reshape(-1))[:k]] = 0
    return mask.reshape(w.shape)


# %% Exercise 11.1 | the mask is inverted
def magnitude_mask(w, amount):
    k = round(amount * w.size)
    mask = np.zeros(w.size)
    mask[np.argsort(np.abs(w).reshape(-1))[:k]] = 1
    return mask.reshape(w.shape)


# %% Exercise 11.1 | int() truncates
def magnitude_mask(w, amount):
    k = int(amount * w.size)
    mask = np.ones(w.size)
    mask[np.argsort(np.abs(w).reshape(-1))[:k]] = 0
    return mask.reshape(w.shape)


# %% Exercise 11.1 | It prunes
def magnitude_mask(w, amount):
    # a threshold at the quantile: np.quantile interpolates, so it does not cut at the k-th magnitude
    return (np.abs(w) > np.quantile(np.abs(w), amount)).astype(float)


# %% Exercise 11.1 | smallest |w| of the whole tensor go
def magnitude_mask(w, amount):
    # the same share in every row: pruning is ranked over the whole tensor, not row by row
    rows = w.reshape(-1, w.shape[-1])
    k = round(amount * rows.shape[1])
    mask = np.ones(rows.shape)
    np.put_along_axis(mask, np.argsort(np.abs(rows), axis=1)[:, :k], 0, axis=1)
    return mask.reshape(w.shape)


# %% Exercise 11.1 | the mask has shape
def magnitude_mask(w, amount):
    k = round(amount * w.size)
    mask = np.ones(w.size)
    mask[np.argsort(np.abs(w).reshape(-1))[:k]] = 0
    return mask


# %% Exercise 11.2 | astype(np.int8) wraps around
def quantize(x, scale, zero_point):
    return (np.rint(x / scale) + zero_point).astype(np.int8)


def dequantize(q, scale, zero_point):
    return scale * (q.astype(np.float32) - zero_point)


# %% Exercise 11.2 | add the zero point
def quantize(x, scale, zero_point):
    return np.clip(np.rint(x / scale) - zero_point, -128, 127).astype(np.int8)


def dequantize(q, scale, zero_point):
    return scale * (q.astype(np.float32) + zero_point)


# %% Exercise 11.2 | astype truncates toward zero
def quantize(x, scale, zero_point):
    return np.clip(x / scale + zero_point, -128, 127).astype(np.int8)


def dequantize(q, scale, zero_point):
    return scale * (q.astype(np.float32) - zero_point)


# %% Exercise 11.2 | int8 codes lie in [-128, 127]
def quantize(x, scale, zero_point):
    return np.rint(x / scale) + zero_point


def dequantize(q, scale, zero_point):
    return scale * (q.astype(np.float32) - zero_point)


# %% Exercise 11.2 | computed in int8 and wraps around
def quantize(x, scale, zero_point):
    return np.clip(np.rint(x / scale) + zero_point, -128, 127).astype(np.int8)


def dequantize(q, scale, zero_point):
    return scale * (q - zero_point)


# %% Exercise 11.2 | subtract the zero point before scaling
def quantize(x, scale, zero_point):
    return np.clip(np.rint(x / scale) + zero_point, -128, 127).astype(np.int8)


def dequantize(q, scale, zero_point):
    return scale * q.astype(np.float32) - zero_point


# %% Exercise 11.3 | the T^2 factor is missing
def soft_target_loss(student_logits, teacher_logits, T):
    log_p_student = F.log_softmax(student_logits / T, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits / T, dim=1)
    return (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum() / student_logits.shape[0]


# %% Exercise 11.3 | multiply by T^2, not T
def soft_target_loss(student_logits, teacher_logits, T):
    log_p_student = F.log_softmax(student_logits / T, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits / T, dim=1)
    return T * (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum() / student_logits.shape[0]


# %% Exercise 11.3 | the teacher's probabilities weight the sum
def soft_target_loss(student_logits, teacher_logits, T):
    log_p_student = F.log_softmax(student_logits / T, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits / T, dim=1)
    return T * T * (log_p_student.exp() * (log_p_student - log_p_teacher)).sum() / student_logits.shape[0]


# %% Exercise 11.3 | soften the teacher too
def soft_target_loss(student_logits, teacher_logits, T):
    log_p_student = F.log_softmax(student_logits / T, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits, dim=1)
    return T * T * (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum() / student_logits.shape[0]


# %% Exercise 11.3 | divide the sum by the batch size n only
def soft_target_loss(student_logits, teacher_logits, T):
    log_p_student = F.log_softmax(student_logits / T, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits / T, dim=1)
    return T * T * (log_p_teacher.exp() * (log_p_teacher - log_p_student)).mean()


# %% Exercise 11.3 | the cross-entropy H(p_t, p_s)
def soft_target_loss(student_logits, teacher_logits, T):
    p_teacher = F.softmax(teacher_logits / T, dim=1)
    return -T * T * (p_teacher * F.log_softmax(student_logits / T, dim=1)).sum() / student_logits.shape[0]


# %% Exercise 11.3 | build the loss from minigrad Tensor operations
def soft_target_loss(student_logits, teacher_logits, T):
    s, t = student_logits.detach().numpy() / T, teacher_logits.numpy() / T
    log_ps = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    log_pt = t - np.log(np.exp(t).sum(axis=1, keepdims=True))
    return T * T * float((np.exp(log_pt) * (log_pt - log_ps)).sum()) / len(s)
