# Worked answers to the exercises of notebook 11. Each "# %% Exercise N.M" section is the
# answer cell of that exercise, filled in; tests/test_exercises.py runs the notebook's
# exercises with these in place and requires every check to pass.

# %% Exercise 11.1
def magnitude_mask(w, amount):
    """0/1 array of w's shape: 0 for the round(amount * w.size) entries of smallest |w|."""
    k = round(amount * w.size)                            # a fraction of the weights, as a count
    smallest = np.argsort(np.abs(w).reshape(-1))[:k]      # flat indices of the k smallest magnitudes
    mask = np.ones(w.size)
    mask[smallest] = 0
    return mask.reshape(w.shape)


# %% Exercise 11.2
def quantize(x, scale, zero_point):
    """int8 codes of x: clamp(round(x / scale) + zero_point, -128, 127), as np.int8."""
    q = np.rint(x / scale) + zero_point                   # the nearest step, shifted so that 0.0 is exact
    return np.clip(q, -128, 127).astype(np.int8)          # clamp before converting: int8 would wrap around


def dequantize(q, scale, zero_point):
    """The numbers that the int8 codes q stand for: scale * (q - zero_point), as floats."""
    return scale * (q.astype(np.float32) - zero_point)    # in float: q - Z can leave int8's range


# %% Exercise 11.3
def soft_target_loss(student_logits, teacher_logits, T):
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)), averaged over the batch: (n, C) -> ()."""
    log_p_student = F.log_softmax(student_logits / T, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits / T, dim=1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum() / student_logits.shape[0]
    return T * T * kl   # T^2: the gradient T (p_s - p_t) / n keeps its size whatever T
